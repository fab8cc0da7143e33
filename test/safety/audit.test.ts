/**
 * The audit's rows (the project's own rules checked across commands): hostile
 * or garbled inputs read back from disk, and --out folders or files that are
 * not the command's own. Each row: the exit code, a fragment of the one-line
 * error, and the sha256 of every file under the sandbox before and after
 * (every pre-existing file byte-identical; a failing command creates nothing).
 * Every row failed on the code before its fix (the `defect` names the commit's
 * subject), except those marked `allowed`, which pin down what still works.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/synth.js';
import { replay } from '../../src/replay/replay.js';
import { runCanary } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { REPO, runCli } from '../helpers/cli.js';
import { flowlab, runSafetyRow, type SafetyRow } from './helpers.js';

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-audit-'));
const ds = path.join(root, 'ds');

beforeAll(async () => {
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'ETHUSDT'], hours: 0.05 }, ds);
  const config = loadConfig(PROD, {});
  await replay({ data: ds, config, out: path.join(root, 'runs'), runTag: 'base', progress: false });
  await runCanary({
    data: ds,
    config,
    configPath: PROD,
    out: path.join(root, 'runs'),
    runTag: 'can',
    symbols: ['BTCUSDT'],
    progress: false,
  });
  const sw = await flowlab(SWEEP_ARGS(at('sw')));
  expect(sw.code, sw.stderr).toBe(0);
  fs.mkdirSync(path.join(root, 'notes'));
  fs.writeFileSync(path.join(root, 'notes', 'n.txt'), 'my notes: keep me\n');
  fs.writeFileSync(path.join(root, 'notes.md'), '# my notes: keep me\n');
}, 300_000);

/** A one-shard sweep (BTCUSDT x one grid point) into `out`. */
const SWEEP_ARGS = (out: string) => [
  'sweep',
  '--data',
  ds,
  '--grid',
  'fusion.weights.ofi=0.3',
  '--symbols',
  'BTCUSDT',
  '--out',
  out,
  '--no-progress',
];

/** A copy of the finished sweep with one file of its shard's canary report replaced by `text`. */
function sweepWith(name: string, file: string, text: (old: string) => string): string {
  const dir = at(name);
  fs.cpSync(at('sw'), dir, { recursive: true });
  const shards = path.join(dir, 'shards');
  const f = path.join(shards, fs.readdirSync(shards)[0], ...file.split('/'));
  fs.writeFileSync(f, text(fs.readFileSync(f, 'utf8')));
  return dir;
}

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const at = (...p: string[]) => path.join(root, ...p);

/** A copy of a finished run (`base` replay or `can` canary) at `<root>/<name>/<tag>`, its manifest edited. */
function copyRun(name: string, tag: 'base' | 'can', edit?: (m: Record<string, unknown>) => void): string {
  const dir = at(name, tag);
  fs.cpSync(at('runs', tag), dir, { recursive: true });
  if (edit) editJson(path.join(dir, 'manifest.json'), edit);
  return dir;
}

function editJson(file: string, edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(m);
  fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
}

/** A copy of the dataset with no part files (a manifest that lists none). */
function emptyDataset(name: string): string {
  const dir = at(name);
  fs.mkdirSync(dir);
  const m = JSON.parse(fs.readFileSync(path.join(ds, '_manifest.json'), 'utf8'));
  Object.assign(m, { files: [], symbols: [], rows: {}, markets: {}, time_range: { recv_ts_ms: null, ts_ms: null } });
  fs.writeFileSync(path.join(dir, '_manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

/** A folder of the user's own holding the given files. */
function userFolder(name: string, files: Record<string, string>): string {
  const dir = at(name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

type Row = SafetyRow;

const DQ_OUT = 'dq refuses an --out that is not its own';
const COMPARE = 'compare checks what it reads and refuses an --out it did not write';
const REPORT = 'report reads the run manifest strictly, before it re-renders';
const SWEEP_LEFT = 'sweep removes what it wrote into a new --out when a grid point is refused';
const SWEEP_READ = "sweep reads its shards' verdicts and incidents validated";
const EMPTY = 'an empty dataset is named as such';
const RESCORE = 'the re-score reads the run manifest strictly';
const HARVEST = 'dq --run checks the run manifest fields it reads';

const ROWS: Row[] = [
  {
    defect: DQ_OUT,
    input: "dq --data --out a user's folder holding their own dq_summary.json",
    args: () => {
      const dir = userFolder('dq_user', { 'dq_summary.json': '{"mine": true}\n', 'n.txt': 'keep\n' });
      return ['dq', '--data', ds, '--out', dir];
    },
    code: 2,
    stderr: /--out '.*dq_user': its dq_summary\.json was not written by flowlab dq/,
  },
  {
    defect: DQ_OUT,
    input: 'dq --data --out a non-empty folder that is not a dq output (notes)',
    args: () => ['dq', '--data', ds, '--out', at('notes')],
    code: 2,
    stderr: /--out '.*notes' is not empty and holds no flowlab dq output/,
  },
  {
    defect: DQ_OUT,
    input: 'dq --data --out a finished run folder (verify must find it unchanged)',
    args: () => ['dq', '--data', ds, '--out', copyRun('dq_run', 'base')],
    code: 2,
    stderr: /--out '.*base' is not empty and holds no flowlab dq output/,
  },
  {
    defect: DQ_OUT,
    input: 'dq --run --out a folder holding an hourly-looking file of the user',
    args: () => {
      const dir = userFolder('dq_hourly', { 'dq_20200101_00.json': '{"mine": true}\n' });
      return ['dq', '--run', at('runs', 'base'), '--out', dir];
    },
    code: 2,
    stderr: /--out '.*dq_hourly' is not empty and holds no flowlab dq output/,
  },
  {
    defect: DQ_OUT,
    input: 'dq --data --out a regular file',
    args: () => ['dq', '--data', ds, '--out', at('notes.md')],
    code: 2,
    stderr: /--out '.*notes\.md' exists and is not a folder/,
  },
  {
    defect: 'allowed',
    input: 'dq --data again into its own output folder (replaces its own files)',
    args: () => {
      const dir = at('dq_again');
      fs.mkdirSync(dir);
      // a previous dq's output, as it wrote it
      fs.writeFileSync(path.join(dir, 'dq_summary.json'), '{\n  "flowlab_dq": 1\n}\n');
      fs.writeFileSync(path.join(dir, 'dq_20200101_00.json'), '{}\n');
      return ['dq', '--data', ds, '--out', dir];
    },
    code: 0,
    stdout: /wrote \d+ files/,
    replaces: 'dq_again/',
    also: () => {
      const summary = JSON.parse(fs.readFileSync(at('dq_again', 'dq_summary.json'), 'utf8'));
      expect(summary.flowlab_dq).toBe(1);
      expect(Object.keys(summary.symbols).sort()).toEqual(['BTCUSDT', 'ETHUSDT']); // this run's, not the old one's
      expect(fs.existsSync(at('dq_again', 'dq_20200101_00.json'))).toBe(false); // its own stale hour, removed
    },
  },
  {
    defect: 'allowed',
    input: 'dq --run into the folder of an interrupted dq (marker and hourly files only)',
    args: () => {
      const dir = userFolder('dq_interrupted', {
        _INCOMPLETE: 'flowlab dq in progress or interrupted\n',
        'dq_20240808_00.json': '{}\n',
      });
      return ['dq', '--run', at('runs', 'base'), '--out', dir];
    },
    code: 0,
    stdout: /harvest base:/,
    replaces: 'dq_interrupted/',
    also: () => {
      expect(fs.existsSync(at('dq_interrupted', '_INCOMPLETE'))).toBe(false);
      expect(JSON.parse(fs.readFileSync(at('dq_interrupted', 'dq_summary.json'), 'utf8')).flowlab_harvest).toBe(1);
    },
  },
  {
    defect: 'the harvest writes its summary before the dq folder marker goes',
    input: 'dq --run failing at harvest_acceptance.md (a folder in its way) leaves its output marked incomplete',
    args: () => {
      const dir = userFolder('dq_torn', { _INCOMPLETE: 'flowlab dq in progress or interrupted\n' });
      fs.mkdirSync(path.join(dir, 'harvest_acceptance.md'));
      return ['dq', '--run', at('runs', 'base'), '--out', dir];
    },
    code: 1,
    stderr: /cannot write '.*harvest_acceptance\.md'/,
    mayAdd: 'dq_torn/',
    replaces: 'dq_torn/',
    also: () => {
      // not a folder that looks finished: the marker stays until dq_summary.json, written last, is in place
      expect(fs.existsSync(at('dq_torn', '_INCOMPLETE'))).toBe(true);
      expect(fs.existsSync(at('dq_torn', 'dq_summary.json'))).toBe(false);
    },
  },
  {
    defect: HARVEST,
    input: "dq --run: run manifest run_tag '../../evil' (was printed and written into dq_summary.json)",
    args: () => ['dq', '--run', copyRun('h_tag', 'base', (m) => (m.run_tag = '../../evil')), '--out', at('h_tag_out')],
    code: 1,
    stderr: /manifest\.json: run_tag: .*tag/,
  },
  {
    defect: HARVEST,
    input: "dq --run: run manifest run_tag another run's (a copied manifest)",
    args: () => ['dq', '--run', copyRun('h_other', 'base', (m) => (m.run_tag = 'can')), '--out', at('h_other_out')],
    code: 1,
    stderr: /run_tag 'can' is not the folder's name 'base'/,
  },
  {
    defect: HARVEST,
    input: 'dq --run: run manifest outputs[0].path null (was an internal error)',
    args: () => [
      'dq',
      '--run',
      copyRun('h_null', 'base', (m) => ((m.outputs as Record<string, unknown>[])[0].path = null)),
      '--out',
      at('h_null_out'),
    ],
    code: 1,
    stderr: /manifest\.json: outputs\.0\.path: /,
  },
  {
    defect: HARVEST,
    input: 'dq --run: run manifest outputs[0] a number (was an internal error)',
    args: () => [
      'dq',
      '--run',
      copyRun('h_num', 'base', (m) => ((m.outputs as unknown[])[0] = 5)),
      '--out',
      at('h_num_out'),
    ],
    code: 1,
    stderr: /manifest\.json: outputs\.0: /,
  },
  {
    defect: HARVEST,
    input: 'dq --run: run manifest outputs[0].symbol "x\'y" (was accepted)',
    args: () => [
      'dq',
      '--run',
      copyRun('h_sym', 'base', (m) => ((m.outputs as Record<string, unknown>[])[0].symbol = "x'y")),
      '--out',
      at('h_sym_out'),
    ],
    code: 1,
    stderr: /manifest\.json: outputs\.0\.symbol: .*symbol/,
  },
  {
    defect: HARVEST,
    input: "dq --run: run manifest outputs[0].path under another symbol's folder (was read)",
    args: () => [
      'dq',
      '--run',
      copyRun('h_path', 'base', (m) => {
        const o = (m.outputs as Record<string, string>[])[0];
        o.path = o.path.replace(`symbol=${o.symbol}`, `symbol=${o.symbol === 'BTCUSDT' ? 'ETHUSDT' : 'BTCUSDT'}`);
      }),
      '--out',
      at('h_path_out'),
    ],
    code: 1,
    stderr: /manifest\.json: outputs\.0: a part path/,
  },
  {
    defect: HARVEST,
    input: 'dq --run: run manifest selection.symbols a string (was "symbol \'B\' is not in dataset")',
    args: () => [
      'dq',
      '--run',
      copyRun('h_sel', 'base', (m) => ((m.selection as Record<string, unknown>).symbols = 'BTCUSDT')),
      '--out',
      at('h_sel_out'),
    ],
    code: 1,
    stderr: /manifest\.json: selection\.symbols: /,
  },
  {
    defect: HARVEST,
    input: "dq --run: run manifest selection.symbols ['../x']",
    args: () => [
      'dq',
      '--run',
      copyRun('h_trav', 'base', (m) => ((m.selection as Record<string, unknown>).symbols = ['../x'])),
      '--out',
      at('h_trav_out'),
    ],
    code: 1,
    stderr: /manifest\.json: selection\.symbols\.0: .*symbol/,
  },
  {
    defect: HARVEST,
    input: 'dq --run: run manifest dataset.path with a quote',
    args: () => [
      'dq',
      '--run',
      copyRun('h_ds', 'base', (m) => ((m.dataset as Record<string, unknown>).path = `${ds}'; --`)),
      '--out',
      at('h_ds_out'),
    ],
    code: 1,
    stderr: /manifest\.json: dataset\.path: an absolute path without quotes/,
  },
  {
    defect: COMPARE,
    input: "compare --out an existing file of the user's (was replaced)",
    args: () => ['compare', at('runs', 'can'), at('runs', 'can'), '--out', at('notes.md')],
    code: 2,
    stderr: /--out '.*notes\.md' exists and is not a flowlab compare/,
  },
  {
    defect: COMPARE,
    input: 'compare --out a folder',
    args: () => ['compare', at('runs', 'can'), at('runs', 'can'), '--out', at('notes')],
    code: 2,
    stderr: /--out '.*notes' exists and is not a file/,
  },
  {
    defect: 'allowed',
    input: 'compare --out the file an earlier compare wrote (replaced)',
    args: () => {
      const f = at('cmp_again', 'c.md');
      fs.mkdirSync(path.dirname(f));
      fs.writeFileSync(f, '# Canary runs compared — old vs old\n');
      return ['compare', at('runs', 'can'), at('runs', 'can'), '--out', f];
    },
    code: 0,
    stdout: /wrote .*c\.md \(2 runs\)/,
    replaces: 'cmp_again/',
    also: () =>
      expect(fs.readFileSync(at('cmp_again', 'c.md'), 'utf8')).toMatch(/^# Canary runs compared — can vs can\n/),
  },
  {
    defect: COMPARE,
    input: 'compare: verdicts.json symbols.BTCUSDT null (was an internal error)',
    args: () => {
      const dir = copyRun('cmp_null', 'can');
      editJson(path.join(dir, 'canary_report', 'verdicts.json'), (v) => {
        (v.symbols as Record<string, unknown>).BTCUSDT = null;
      });
      return ['compare', dir, at('runs', 'can')];
    },
    code: 1,
    stderr: /verdicts\.json: key symbols\.BTCUSDT is not an object/,
  },
  {
    defect: COMPARE,
    input: "compare: verdicts.json symbol key 'a|b\\n# x' (went into the markdown)",
    args: () => {
      const dir = copyRun('cmp_key', 'can');
      editJson(path.join(dir, 'canary_report', 'verdicts.json'), (v) => {
        const syms = v.symbols as Record<string, unknown>;
        syms['a|b\n# x'] = syms.BTCUSDT;
      });
      return ['compare', dir, at('runs', 'can')];
    },
    code: 1,
    stderr: /verdicts\.json: key symbols\."a\|b\\n# x" is not a symbol/,
  },
  {
    defect: COMPARE,
    input: 'compare: verdicts.json run_tag with a line break (went into the markdown title)',
    args: () => {
      const dir = copyRun('cmp_tag', 'can');
      editJson(path.join(dir, 'canary_report', 'verdicts.json'), (v) => (v.run_tag = 'can\n# injected'));
      return ['compare', dir, at('runs', 'can')];
    },
    code: 1,
    stderr: /verdicts\.json: run_tag "can\\n# injected" is not a run tag/,
  },
  {
    defect: COMPARE,
    input: 'compare: incidents.json incidents [null] (was an internal error)',
    args: () => {
      const dir = copyRun('cmp_inc', 'can');
      editJson(path.join(dir, 'canary_report', 'incidents.json'), (v) => (v.incidents = [null]));
      return ['compare', dir, at('runs', 'can')];
    },
    code: 1,
    stderr: /incidents\.json: key incidents holds a non-object/,
  },
  {
    defect: REPORT,
    input: 'report: the run manifest torn at 100 bytes (was an internal error, after the report files were rewritten)',
    args: () => {
      const dir = copyRun('rep_torn', 'can');
      const mf = path.join(dir, 'manifest.json');
      fs.writeFileSync(mf, fs.readFileSync(mf).subarray(0, 100));
      return ['report', '--run', dir];
    },
    code: 2,
    stderr: /rep_torn\/can\/manifest\.json: not valid JSON/,
  },
  {
    defect: REPORT,
    input: 'report: run manifest canary.files a number (was an internal error)',
    args: () => [
      'report',
      '--run',
      copyRun('rep_files', 'can', (m) => ((m.canary as Record<string, unknown>).files = 5)),
    ],
    code: 2,
    stderr: /manifest\.json: canary\.files: /,
  },
  {
    defect: SWEEP_LEFT,
    input:
      'sweep --grid with a key the config lacks into a new --out (left sweep.json + configs/, which then refused the corrected sweep)',
    args: () => ['sweep', '--data', ds, '--grid', 'nokey.x=1,2', '--out', at('sw_new')],
    code: 2,
    stderr: /--grid: 'nokey\.x' is not a key of the config/,
    also: () => expect(fs.existsSync(at('sw_new'))).toBe(false),
  },
  {
    defect: SWEEP_LEFT,
    input: 'sweep --grid with a value the config refuses into a new nested --out (folders and overlays left)',
    args: () => ['sweep', '--data', ds, '--grid', 'fusion.weights.ofi=abc', '--out', at('sw_nest', 'a', 'b')],
    code: 2,
    stderr: /--grid point 0 \(fusion\.weights\.ofi=abc\)/,
    also: () => expect(fs.existsSync(at('sw_nest'))).toBe(false),
  },
  {
    defect: SWEEP_LEFT,
    input: 'sweep --grid with a key the config lacks into an empty --out (the folder stays, empty)',
    args: () => {
      fs.mkdirSync(at('sw_empty'));
      return ['sweep', '--data', ds, '--grid', 'nokey=1', '--out', at('sw_empty')];
    },
    code: 2,
    stderr: /'nokey' is not a key/,
    also: () => expect(fs.readdirSync(at('sw_empty'))).toEqual([]),
  },
  {
    defect: SWEEP_READ,
    input: 'sweep rerun over a shard whose verdicts.json is torn (was an internal error)',
    args: () => SWEEP_ARGS(sweepWith('sw_torn', 'canary_report/verdicts.json', (t) => t.slice(0, 50))),
    code: 1,
    stderr: /shards\/[0-9a-f]{32}\/canary_report\/verdicts\.json: not valid JSON/,
  },
  {
    defect: SWEEP_READ,
    input: 'sweep rerun over a shard whose incidents.json holds [null] (was an internal error)',
    args: () => SWEEP_ARGS(sweepWith('sw_null', 'canary_report/incidents.json', () => '{"incidents": [null]}\n')),
    code: 1,
    stderr: /canary_report\/incidents\.json: incidents\.0: /,
  },
  {
    defect: 'allowed',
    input: 'sweep rerun over its own finished folder (nothing runs, the same results bytes)',
    args: () => {
      fs.cpSync(at('sw'), at('sw_again'), { recursive: true });
      return SWEEP_ARGS(at('sw_again'));
    },
    code: 0,
    stdout: /1 shards, 0 run now/,
    replaces: 'sw_again/',
    also: () =>
      expect(fs.readFileSync(at('sw_again', 'sweep_results.parquet'))).toEqual(
        fs.readFileSync(at('sw', 'sweep_results.parquet')),
      ),
  },
  {
    defect: EMPTY,
    input: "replay of an empty dataset (was 'no data for  in [-Infinity, Infinity)')",
    args: () => ['replay', '--data', emptyDataset('empty_r'), '--out', at('empty_r_out'), '--run-tag', 't'],
    code: 1,
    stderr: /dataset '.*empty_r' holds no ticks/,
  },
  {
    defect: EMPTY,
    input: 'sweep of an empty dataset (was exit 0: 0 shards, a results file and "No shards.")',
    args: () => [
      'sweep',
      '--data',
      emptyDataset('empty_s'),
      '--grid',
      'fusion.weights.ofi=0.3',
      '--out',
      at('empty_s_out'),
    ],
    code: 1,
    stderr: /--data '.*empty_s' holds no ticks/,
    also: () => expect(fs.existsSync(at('empty_s_out'))).toBe(false),
  },
  {
    defect: RESCORE,
    input: "sweep rerun over a shard whose manifest selection.symbols is ['*', 'BTCUSDT'] (a glob in the fusion path)",
    args: () =>
      SWEEP_ARGS(
        sweepWith('sw_glob', 'manifest.json', (t) => {
          const m = JSON.parse(t);
          m.selection.symbols = ['*', 'BTCUSDT'];
          return JSON.stringify(m, null, 2);
        }),
      ),
    code: 2,
    stderr: /manifest\.json: selection\.symbols\.0: .*symbol/,
  },
  {
    defect: RESCORE,
    input: 'sweep rerun over a shard whose manifest.json is torn (was an internal error)',
    args: () => SWEEP_ARGS(sweepWith('sw_mtorn', 'manifest.json', (t) => t.slice(0, 100))),
    code: 2,
    stderr: /shards\/[0-9a-f]{32}\/manifest\.json: not valid JSON/,
  },
  {
    defect: 'demo names --data when it cannot synthesize into it',
    input: 'demo --data a non-empty folder that is not a dataset (the error said --out, which the user had not given)',
    args: () => ['demo', '--data', at('notes'), '--out', at('demo_runs')],
    code: 2,
    stderr: /^flowlab: --data '.*notes' is not empty and holds no flowlab dataset$/,
  },
  {
    defect: 'sweep --queue checks that Redis answers before it writes anything',
    input:
      'sweep --queue naming a port where no Redis listens (was a stack trace per retry, for ever, after writing sweep.json)',
    args: () => [...SWEEP_ARGS(at('sw_noredis')), '--queue', 'redis://127.0.0.1:1'],
    code: 1,
    stderr: /^flowlab: --queue redis:\/\/127\.0\.0\.1:1: cannot connect to 127\.0\.0\.1:1 \(ECONNREFUSED\)/,
    also: () => expect(fs.existsSync(at('sw_noredis'))).toBe(false),
  },
];

describe('audit: untrusted inputs and foreign outputs', () => {
  for (const row of ROWS) it(`(${row.defect}) ${row.input} -> exit ${row.code}`, () => runSafetyRow(root, row));
});

describe('sweep started outside the repository', () => {
  it('runs its child processes from the sources too (a bare --import tsx was resolved from the working folder)', () => {
    // FLOWLAB_TSX=1: the sources under tsx, as whenever dist/ is stale; the working folder is the sandbox
    const r = runCli(SWEEP_ARGS(at('sw_outside')), { cwd: root, env: { FLOWLAB_TSX: '1' }, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 shards, 1 run now/);
    expect(fs.readFileSync(at('sw_outside', 'sweep_results.parquet'))).toEqual(
      fs.readFileSync(at('sw', 'sweep_results.parquet')),
    );
  }, 300_000);
});
