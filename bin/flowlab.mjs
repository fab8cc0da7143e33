#!/usr/bin/env node
// flowlab CLI entry. Runs the compiled JavaScript in dist/ (scripts/dist.mjs, built by `npm ci` /
// `npm run build`) when it was built from the sources as they are now, else the TypeScript sources
// through tsx, so an edited src/ never runs stale code. FLOWLAB_TSX=1 forces the sources.
import { freshDist } from '../scripts/dist.mjs';

// A reader that closes early (`flowlab dq ... | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e && e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

let entry = process.env.FLOWLAB_TSX === '1' ? null : await freshDist();
if (entry === null) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('../src/cli/main.ts', import.meta.url).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv);
