/**
 * The compiled CLI (scripts/dist.mjs, what bin/flowlab.mjs runs when it is fresh): used only while it
 * matches the sources, the same code_sha256 as the sources under tsx, and byte-identical replay outputs
 * to the TypeScript sources, worker threads included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { codeHash } from '../../src/replay/code.js';
import { REPO, runCli } from '../helpers/cli.js';

// the build goes inside the repository (compiled modules find the repository root above them) under a
// git-ignored name, never over the repository's own dist/
const DIST = path.join(REPO, `.dist-test-${process.pid}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-dist-'));
type DistModule = {
  build(root: string, out: string): Promise<{ code_sha256: string; files: number }>;
  freshDist(root: string, dist: string): Promise<string | null>;
};
let dist: DistModule;

beforeAll(async () => {
  dist = (await import(pathToFileURL(path.join(REPO, 'scripts/dist.mjs')).href)) as DistModule;
  await dist.build(REPO, DIST);
}, 120_000);
afterAll(() => {
  fs.rmSync(DIST, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('compiled CLI (dist)', () => {
  it('is fresh for the sources it was built from, and its code_sha256 is the sources hash', async () => {
    const stamp = JSON.parse(fs.readFileSync(path.join(DIST, 'BUILD.json'), 'utf8'));
    expect(stamp.code_sha256).toBe(await codeHash());
    expect(stamp.files).toBeGreaterThan(50);
    expect(await dist.freshDist(REPO, DIST)).toBe(pathToFileURL(path.join(DIST, 'src/cli/main.js')).href);
  });

  it('is stale once a source differs (edited, added or removed .ts file) or the stamp is missing', async () => {
    const root = path.join(tmp, 'root');
    for (const d of ['src', 'recorder']) fs.cpSync(path.join(REPO, d), path.join(root, d), { recursive: true });
    expect(await dist.freshDist(root, DIST)).not.toBeNull();
    const f = path.join(root, 'src/calc/ofi.ts');
    const text = fs.readFileSync(f, 'utf8');
    fs.writeFileSync(f, `${text}\n// edited\n`);
    expect(await dist.freshDist(root, DIST)).toBeNull();
    fs.writeFileSync(f, text);
    expect(await dist.freshDist(root, DIST)).not.toBeNull();
    fs.writeFileSync(path.join(root, 'src/calc/extra.ts'), 'export const x = 1;\n');
    expect(await dist.freshDist(root, DIST)).toBeNull();
    fs.rmSync(path.join(root, 'src/calc/extra.ts'));
    fs.rmSync(path.join(root, 'src/calc/rank.ts'));
    expect(await dist.freshDist(root, DIST)).toBeNull();
    expect(await dist.freshDist(REPO, path.join(tmp, 'no-dist'))).toBeNull();
  });

  it('replays byte-identically to the sources under tsx, in both --io modes', async () => {
    const data = path.join(tmp, 'ds');
    await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'SOLUSDT'], hours: 0.5, seed: 4 }, data);
    const main = pathToFileURL(path.join(DIST, 'src/cli/main.js')).href;
    for (const io of ['inline', 'workers']) {
      const args = ['replay', '--data', data, '--run-tag', io, '--io', io, '--no-progress'];
      const src = runCli([...args, '--out', path.join(tmp, 'tsx')], { env: { FLOWLAB_TSX: '1' } });
      expect(src.code, src.stderr).toBe(0);
      const js = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(process.argv);`,
          'flowlab',
          ...args,
          '--out',
          path.join(tmp, 'js'),
        ],
        { cwd: REPO, encoding: 'utf8', timeout: 120_000 },
      );
      expect(js.status, js.stderr).toBe(0);
      const a = filesOf(path.join(tmp, 'tsx', io));
      const b = filesOf(path.join(tmp, 'js', io));
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      expect([...a.keys()].filter((k) => k.endsWith('.parquet')).length).toBeGreaterThan(4);
      for (const [k, v] of a) expect(b.get(k)!.equals(v), k).toBe(true);
    }
  }, 240_000);
});
