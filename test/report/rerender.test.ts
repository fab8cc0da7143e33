/**
 * flowlab report --run re-renders the markdown and every chart of an existing
 * canary run byte-identically (and says so against the run manifest's sha256);
 * it never rewrites a run's file with other bytes (refused, or --out elsewhere);
 * a folder that is not a canary run is a one-line error, exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/index.js';
import { runCanary, type CanaryRun } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { flowlab as cli } from '../helpers/flowlab.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-rerender-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
let run: CanaryRun;

beforeAll(async () => {
  const data = path.join(tmp, 'd');
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['ETHUSDT'], hours: 3 }, data);
  run = await runCanary({
    data,
    config: loadConfig(PROD, {}),
    configPath: PROD,
    out: path.join(tmp, 'runs'),
    runTag: 'r1',
    progress: false,
  });
}, 600_000);

/** The markdown and charts/* of a report folder, as bytes. */
function rendered(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>([
    ['ramp_batch_summary.md', fs.readFileSync(path.join(dir, 'ramp_batch_summary.md'))],
  ]);
  for (const f of fs.readdirSync(path.join(dir, 'charts')).sort())
    out.set(`charts/${f}`, fs.readFileSync(path.join(dir, 'charts', f)));
  return out;
}

describe('flowlab report', () => {
  it('re-renders the markdown and every chart byte-identically, from the run files alone', async () => {
    const before = rendered(run.reportDir);
    expect(before.size).toBeGreaterThan(3);
    // remove what the report renders: it must come back from the run's data files
    fs.rmSync(path.join(run.reportDir, 'ramp_batch_summary.md'));
    fs.rmSync(path.join(run.reportDir, 'charts'), { recursive: true });
    const r = await cli(['report', '--run', run.replay.runDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const after = rendered(run.reportDir);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [f, b] of before) expect(after.get(f)!.equals(b), f).toBe(true);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`report: ${path.join(run.reportDir, 'ramp_batch_summary.md')} (+ ${before.size - 1} charts)`);
    expect(lines[1]).toBe(`identical to the run: ${before.size} of ${before.size} files match the manifest sha256`);
    expect(lines[2]).toMatch(/^done in /);
    // the canary_report folder itself works too
    const again = await cli(['report', '--run', run.reportDir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('identical to the run');
  });

  it('says when the re-render differs from what the run wrote', async () => {
    const md = path.join(run.reportDir, 'ramp_batch_summary.md');
    const m = path.join(run.replay.runDir, 'manifest.json');
    const saved = fs.readFileSync(m, 'utf8');
    const j = JSON.parse(saved);
    j.canary.files.find((f: { path: string }) => f.path.endsWith('ramp_batch_summary.md')).sha256 = '0'.repeat(64);
    fs.writeFileSync(m, JSON.stringify(j));
    try {
      const r = await cli(['report', '--run', run.replay.runDir]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^1 of \d+ files differ from the ones the run wrote \(other code\?\): ramp_batch_summary\.md$/m,
      );
      expect(fs.existsSync(md)).toBe(true);
    } finally {
      fs.writeFileSync(m, saved);
    }
  });

  it('never rewrites a file of the run with other bytes: refuses (one line, exit 1) unless --out takes the re-render elsewhere', async () => {
    const before = rendered(run.reportDir);
    const chart = [...before.keys()].find((f) => f.startsWith('charts/'))!;
    const at = path.join(run.reportDir, ...chart.split('/'));
    const edited = Buffer.from('<svg>edited by hand</svg>\n');
    fs.writeFileSync(at, edited);
    const missing = path.join(run.reportDir, 'ramp_batch_summary.md');
    fs.rmSync(missing);
    try {
      const r = await cli(['report', '--run', run.replay.runDir]);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`1 of ${before.size} files of`);
      expect(r.stderr).toContain(chart);
      expect(r.stderr).toContain('--out');
      expect(fs.readFileSync(at).equals(edited)).toBe(true); // kept
      expect(fs.existsSync(missing)).toBe(false); // nothing written on a refusal
      // --out: the whole re-render in a new folder, equal to what the run wrote; the run's folder untouched
      const dest = path.join(tmp, 'rerender-out');
      const w = await cli(['report', '--run', run.replay.runDir, '--out', dest]);
      expect(w.stderr).toBe('');
      expect(w.code).toBe(0);
      expect(w.stdout).toContain(`identical to the run: ${before.size} of ${before.size}`);
      const got = rendered(dest);
      expect([...got.keys()]).toEqual([...before.keys()]);
      for (const [f, b] of before) expect(got.get(f)!.equals(b), f).toBe(true);
      expect(fs.readFileSync(at).equals(edited)).toBe(true);
      // --out must be new or empty
      const again = await cli(['report', '--run', run.replay.runDir, '--out', dest]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/--out: .* exists and is not an empty folder/);
    } finally {
      fs.writeFileSync(at, before.get(chart)!);
    }
    // with the run's files restored but the markdown still missing: it is written back, the rest left as it is
    const back = await cli(['report', '--run', run.replay.runDir]);
    expect(back.code).toBe(0);
    expect(fs.readFileSync(missing).equals(before.get('ramp_batch_summary.md')!)).toBe(true);
  });

  it('a folder that is not a canary run: one line, exit 1', async () => {
    const r = await cli(['report', '--run', tmp]);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/holds no canary_report\/verdicts\.json/);
  });
});
