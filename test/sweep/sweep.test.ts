/**
 * flowlab sweep end to end: local mode (2 worker processes) against a full
 * canary run, resumption, refusal of foreign folders; then the BullMQ mode with
 * a real redis-server, two `flowlab worker` processes and one SIGKILLed
 * mid-shard, whose results must be byte-identical to local mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { synthesize, DEFAULT_SYNTH } from '../../src/synth/index.js';
import { sha256 } from '../../src/core/hash.js';
import { queryRows, sqlString } from '../../src/io/duck.js';
import { loadConfig } from '../../src/config/load.js';
import { loadRescoreRun, rescore } from '../../src/canary/rescore.js';
import { REPO, runCli } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-sweep-'));
const DATA = path.join(tmp, 'ds');
const GRID = ['--grid', 'fusion.weights.ofi=0.3,0.7'];
const SYMBOLS = ['BTCUSDT', 'SOLUSDT'];
const LOCAL = path.join(tmp, 'local');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) killGroup(c);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function killGroup(c: ChildProcess, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-c.pid!, sig);
  } catch {
    /* gone already */
  }
}

/** Every file under `dir` (relative path -> sha256), staging folders excluded. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith('staging-')) walk(p);
      } else out[path.relative(dir, p)] = sha256(fs.readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const sweepArgs = (out: string, extra: string[] = []) => [
  'sweep',
  '--data',
  DATA,
  ...GRID,
  '--symbols',
  SYMBOLS.join(','),
  '--out',
  out,
  '--no-progress',
  ...extra,
];

beforeAll(async () => {
  await synthesize({ ...DEFAULT_SYNTH, symbols: SYMBOLS, hours: 2, seed: 7 }, DATA);
}, 120_000);

describe('flowlab sweep, local mode', () => {
  let first: ReturnType<typeof runCli>;
  beforeAll(() => {
    first = runCli(sweepArgs(LOCAL, ['--workers', '2']), { timeoutMs: 300_000 });
  }, 320_000);

  it('runs one canary shard per (config, symbol) and writes the results and summary', async () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('2 configs x 2 symbols = 4 shards, 4 run now');
    const rows = await queryRows(
      `SELECT config_index, symbol, grid_fusion_weights_ofi AS ofi, auc_train, auc_train_ci_lo, auc_train_ci_hi, auc_train_n,
         auc_holdout, auc_holdout_ci_lo, auc_holdout_ci_hi, auc_holdout_n, rollback_at_ms, shard
       FROM read_parquet(${sqlString(path.join(LOCAL, 'sweep_results.parquet'))}) ORDER BY config_index, symbol`,
    );
    expect(rows.map((r) => [Number(r.config_index), r.symbol, r.ofi])).toEqual([
      [0, 'BTCUSDT', 0.3],
      [0, 'SOLUSDT', 0.3],
      [1, 'BTCUSDT', 0.7],
      [1, 'SOLUSDT', 0.7],
    ]);
    const summary = fs.readFileSync(path.join(LOCAL, 'sweep_summary.md'), 'utf8');
    const split = Date.parse(/up to (\S+)\)/.exec(summary)![1]);
    const published: { rolledBack: boolean; rescored: number; published: number }[] = [];
    for (const r of rows) {
      expect(Number(r.auc_train_n)).toBeGreaterThan(1000);
      expect(Number(r.auc_holdout_n)).toBeGreaterThan(300);
      const shard = path.join(LOCAL, String(r.shard));
      const sym = String(r.symbol);
      // the canary's first rollback, from its incidents
      const inc = JSON.parse(fs.readFileSync(path.join(shard, 'canary_report/incidents.json'), 'utf8')).incidents as {
        actions: { at_ms: number; action: string }[];
      }[];
      const rb = inc.flatMap((i) => i.actions).filter((a) => a.action === 'rollback');
      expect(r.rollback_at_ms === null ? null : Number(r.rollback_at_ms)).toBe(
        rb.length ? Math.min(...rb.map((a) => a.at_ms)) : null,
      );
      // the figures are the grid point's own score rule over the whole shard: rescore with its overlay's weights
      const cfg = loadConfig(path.join(LOCAL, `configs/point-000${Number(r.config_index)}.yaml`), {}).config;
      expect(cfg.fusion.weights.ofi).toBe(r.ofi);
      const hMs = cfg.labels.horizons_s[0] * 1000;
      const run = await loadRescoreRun(shard);
      const fig = (fromMs?: number, toMs?: number) => {
        const x = rescore(run, {
          weights: cfg.fusion.weights,
          gate: cfg.fusion.gate,
          slices: cfg.fusion.slice_overrides,
          symbols: [sym],
          dims: [],
          calibrate: false,
          fromMs,
          toMs,
        }).rows.find((q) => q.group === sym && q.dim === 'all')!.auc;
        return [x.auc, x.ci_low, x.ci_high, x.n];
      };
      expect([r.auc_train, r.auc_train_ci_lo, r.auc_train_ci_hi, Number(r.auc_train_n)]).toEqual(
        fig(undefined, split - hMs),
      );
      expect([r.auc_holdout, r.auc_holdout_ci_lo, r.auc_holdout_ci_hi, Number(r.auc_holdout_n)]).toEqual(fig(split));
      // a second route: a pair count in SQL over the canary's published score, equal wherever the grid point's
      // config was in force (the training period: every rollback here is later; the held-out one without a rollback)
      const es = sqlString(path.join(shard, 'canary_report/eval_samples.parquet'));
      const pairs = async (where: string) => {
        const [h] = await queryRows(`
          WITH s AS (SELECT score, y FROM read_parquet(${es}) WHERE score IS NOT NULL AND y IS NOT NULL AND ${where}),
          p AS (SELECT score FROM s WHERE y = 1), n AS (SELECT score FROM s WHERE y = 0)
          SELECT (SELECT count(*) FROM p) AS np, (SELECT count(*) FROM n) AS nn,
            (SELECT sum(CASE WHEN p.score > n.score THEN 1.0 WHEN p.score = n.score THEN 0.5 ELSE 0 END) FROM p, n) AS wins`);
        return { n: Number(h.np) + Number(h.nn), auc: Number(h.wins) / (Number(h.np) * Number(h.nn)) };
      };
      expect(r.rollback_at_ms === null || Number(r.rollback_at_ms) >= split).toBe(true);
      const tr = await pairs(`ts_ms < ${split - hMs}`);
      expect(tr.n).toBe(Number(r.auc_train_n));
      expect(Number(r.auc_train)).toBeCloseTo(tr.auc, 12);
      const ho = await pairs(`ts_ms >= ${split}`);
      expect(ho.n).toBe(Number(r.auc_holdout_n));
      if (r.rollback_at_ms === null) expect(Number(r.auc_holdout)).toBeCloseTo(ho.auc, 12);
      published.push({ rolledBack: r.rollback_at_ms !== null, rescored: Number(r.auc_holdout), published: ho.auc });
    }
    // a shard that rolled back inside the held-out period: its published score is the base config's from then on,
    // so the canary's figure is not the grid point's; the sweep reports the grid point's
    expect(published.some((p) => p.rolledBack && Math.abs(p.rescored - p.published) > 1e-4)).toBe(true);
    expect(summary).toContain('| canary rolled back at |');
    expect(summary).toContain('the training and held-out AUCs are re-scored');
    expect(summary).toContain('**2 configs tried** on 2 symbols');
    expect(summary).toMatch(/Chosen: config [01] /);
  });

  it('writes shards that flowlab verify accepts, equal to that symbol’s part of a full canary run', async () => {
    const shards = fs.readdirSync(path.join(LOCAL, 'shards')).sort();
    expect(shards).toHaveLength(4);
    const v = runCli(['verify', '--run', path.join(LOCAL, 'shards', shards[0])]);
    expect(v.code, v.stderr).toBe(0);
    // a full two-symbol canary run under grid point 0's overlay
    const full = runCli([
      'canary',
      '--data',
      DATA,
      '--config',
      path.join(LOCAL, 'configs/point-0000.yaml'),
      '--out',
      path.join(tmp, 'full'),
      '--run-tag',
      'all',
      '--no-progress',
    ]);
    expect(full.code, full.stderr).toBe(0);
    const rows = await queryRows(
      `SELECT symbol, shard FROM read_parquet(${sqlString(path.join(LOCAL, 'sweep_results.parquet'))}) WHERE config_index = 0`,
    );
    for (const r of rows) {
      const sym = String(r.symbol);
      const dataOf = (runDir: string) =>
        tree(path.join(runDir, 'data')) &&
        Object.fromEntries(
          Object.entries(tree(path.join(runDir, 'data'))).filter(([p]) => p.includes(`symbol=${sym}/`)),
        );
      const shardData = dataOf(path.join(LOCAL, String(r.shard)));
      expect(Object.keys(shardData).length).toBeGreaterThanOrEqual(5);
      expect(shardData).toEqual(dataOf(path.join(tmp, 'full/all')));
      const q = (dir: string) =>
        queryRows(
          `SELECT md5(string_agg(concat_ws('|', ts_ms, score, y, prob), ',' ORDER BY ts_ms)) AS h, count(*) AS n
           FROM read_parquet(${sqlString(path.join(dir, 'canary_report/eval_samples.parquet'))}) WHERE symbol = ${sqlString(sym)}`,
        );
      const [a] = await q(path.join(LOCAL, String(r.shard)));
      const [b] = await q(path.join(tmp, 'full/all'));
      expect(Number(a.n)).toBeGreaterThan(1000);
      expect(a).toEqual(b);
    }
  });

  it('runs nothing again when resubmitted, and refuses folders that are not this sweep', () => {
    const before = tree(LOCAL);
    const mt = fs.statSync(path.join(LOCAL, 'shards')).mtimeMs;
    const again = runCli(sweepArgs(LOCAL, ['--workers', '2']), { timeoutMs: 300_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('4 shards, 0 run now');
    expect(tree(LOCAL)).toEqual(before);
    expect(fs.statSync(path.join(LOCAL, 'shards')).mtimeMs).toBe(mt);

    const other = runCli([
      'sweep',
      '--data',
      DATA,
      '--grid',
      'fusion.weights.ofi=0.4',
      '--out',
      LOCAL,
      '--no-progress',
    ]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('holds a different sweep');
    expect(tree(LOCAL)).toEqual(before);

    const foreign = path.join(tmp, 'notes');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    const f = runCli(sweepArgs(foreign));
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('is not a flowlab sweep folder');
    expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);

    const both = runCli(sweepArgs(path.join(tmp, 'x'), ['--workers', '2', '--queue', 'redis://127.0.0.1:1']));
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const REDIS = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
if (!REDIS && !process.env.CI)
  console.log('sweep queue test skipped: redis-server not found (bash scripts/setup-services.sh installs it)');

describe.runIf(REDIS !== '' || process.env.CI)('flowlab sweep --queue (BullMQ on redis-server)', () => {
  let url = '';
  beforeAll(async () => {
    expect(REDIS, 'redis-server must be installed in CI (scripts/setup-services.sh)').not.toBe('');
    const port = await freePort();
    const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      detached: true,
      stdio: 'ignore',
    });
    children.push(redis);
    url = `redis://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((r) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          r(true);
        });
        s.on('error', () => r(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('redis-server did not start');
  }, 30_000);

  const startWorker = () => {
    const w = spawn(
      process.execPath,
      [path.join(REPO, 'bin/flowlab.mjs'), 'worker', '--queue', url, '--lock-ms', '2000'],
      {
        cwd: REPO,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(w);
    let log = '';
    w.stdout!.on('data', (d) => (log += d));
    w.stderr!.on('data', (d) => (log += d));
    return { w, log: () => log };
  };

  it('survives a worker SIGKILLed mid-shard and writes the same bytes as local mode; resubmitting runs nothing', async () => {
    const out = path.join(tmp, 'queued');
    const a = startWorker();
    const b = startWorker();
    const sweep = spawn(process.execPath, [path.join(REPO, 'bin/flowlab.mjs'), ...sweepArgs(out, ['--queue', url])], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(sweep);
    let so = '';
    let se = '';
    sweep.stdout!.on('data', (d) => (so += d));
    sweep.stderr!.on('data', (d) => (se += d));
    const exited = new Promise<number>((r) => sweep.on('exit', (c) => r(c ?? -1)));

    // wait until a shard is being written (a staging folder exists), then SIGKILL worker a and its sandbox
    let killed = false;
    for (let i = 0; i < 1200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const staging = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f.startsWith('staging-')) : [];
      if (staging.length > 0 && /worker: ready/.test(a.log())) {
        killGroup(a.w);
        killed = true;
      }
    }
    expect(killed).toBe(true);
    const code = await exited;
    expect(se).toBe('');
    expect(code).toBe(0);
    expect(so).toContain('4 shards, 4 run now');

    const strip = (t: Record<string, string>) =>
      Object.fromEntries(Object.entries(t).filter(([p]) => !p.startsWith('sweep.json')));
    expect(strip(tree(out))).toEqual(strip(tree(LOCAL)));

    const again = runCli(sweepArgs(out, ['--queue', url]), { timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('4 shards, 0 run now');
    expect(b.log()).not.toContain('failed');
    killGroup(b.w, 'SIGTERM');
  }, 400_000);
});
