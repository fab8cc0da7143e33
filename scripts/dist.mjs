// Compiled JavaScript for the CLI's start-up (`npm run build`, run by `npm ci` / `npm install` through
// the `prepare` script). `node scripts/dist.mjs [outDir]` transpiles every .ts file under src/ and
// recorder/ (the trees `code_sha256` covers, src/replay/code.ts) one to one into <outDir> (default
// dist/) with esbuild, the transpiler tsx runs on every start, so the JavaScript is the same as under
// tsx, and writes <outDir>/BUILD.json last: the sources' code_sha256, the esbuild version and this
// file's sha256.
//
// bin/flowlab.mjs runs the compiled files only when `freshDist()` says they were built from the
// sources as they are now (same code_sha256, same build script); otherwise it runs the sources with
// tsx, so an edit under src/ never runs stale code. The check hashes the sources with the compiled
// code.js itself (one implementation of the code hash), a few milliseconds. `freshDistSync()` is the
// same check for synchronous CommonJS callers (the notebooks' `load()`, notebooks/lib.ts), which
// require() this file and the compiled modules (require of ES modules: Node >= 20.19), so this file
// has no top-level await.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = path.join(ROOT, 'dist');
const STAMP = 'BUILD.json';
const SELF = fileURLToPath(import.meta.url);

function selfSha256() {
  return crypto.createHash('sha256').update(fs.readFileSync(SELF)).digest('hex');
}

/**
 * The compiled CLI's main() when `distDir` was built from the sources under `root` as they are now,
 * else null (no build, a source changed, or another build script).
 */
export async function freshDist(root = ROOT, distDir = DIST) {
  const stamp = stampOf(distDir);
  if (stamp === null) return null;
  const code = await import(pathToFileURL(path.join(distDir, CODE_JS)).href);
  // for this repository, codeHash() caches the hash, so the run's manifest does not hash the sources again
  const current = root === ROOT ? await code.codeHash() : code.codeHashOf(root);
  if (current !== stamp.code_sha256) return null;
  return pathToFileURL(path.join(distDir, 'src/cli/main.js')).href;
}

/** `freshDist`'s check, synchronously: whether `distDir` was built from the sources under `root` as they are now. */
export function freshDistSync(root = ROOT, distDir = DIST) {
  const stamp = stampOf(distDir);
  if (stamp === null) return false;
  const code = createRequire(import.meta.url)(path.join(distDir, CODE_JS));
  return code.codeHashOf(root) === stamp.code_sha256;
}

const CODE_JS = 'src/replay/code.js';

/** The build stamp of `distDir` when this build script wrote it, else null (no build, or another script). */
function stampOf(distDir) {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(distDir, STAMP), 'utf8'));
  } catch {
    return null;
  }
  return stamp.build_sha256 === selfSha256() ? stamp : null;
}

function listTs(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) listTs(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
}

/** Transpile src/ and recorder/ of `root` into `outDir` (replaced), stamp it; returns the stamp. */
export async function build(root = ROOT, outDir = DIST) {
  // esbuild comes with tsx (a dependency), so it is there whenever the sources can run
  const req = createRequire(createRequire(import.meta.url).resolve('tsx'));
  const esbuild = await import(pathToFileURL(req.resolve('esbuild')).href);
  const tmp = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const files = [];
  for (const d of ['src', 'recorder']) if (fs.existsSync(path.join(root, d))) listTs(path.join(root, d), files);
  await esbuild.build({
    entryPoints: files,
    outdir: tmp,
    outbase: root,
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: false,
    logLevel: 'warning',
  });
  const code = await import(pathToFileURL(path.join(tmp, 'src/replay/code.js')).href);
  const stamp = {
    code_sha256: code.codeHashOf(root),
    esbuild: esbuild.version,
    build_sha256: selfSha256(),
    files: files.length,
  };
  const stampFile = path.join(tmp, STAMP);
  fs.writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`);
  const fd = fs.openSync(stampFile, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.renameSync(tmp, outDir);
  return stamp;
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const out = process.argv[2] ? path.resolve(process.argv[2]) : DIST;
  const t0 = performance.now();
  // no top-level await (see the file comment)
  build(ROOT, out).then((s) =>
    console.log(
      `dist: ${s.files} files compiled to ${path.relative(process.cwd(), out) || '.'} in ${((performance.now() - t0) / 1000).toFixed(1)} s (code_sha256 ${s.code_sha256.slice(0, 12)})`,
    ),
  );
}
