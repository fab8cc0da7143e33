/**
 * The battery of bad inputs and faults of issue 11, as a table: for each
 * input, the exit code, a fragment of the message, and what must be untouched
 * on disk afterwards (the sha256 of every file that existed before the command,
 * all under one sandbox; a failing command must also create nothing there).
 *
 * Each row names the defect it covers; every defect's rows fail on the code
 * before the fix (checked by running this file against main).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/synth.js';
import { replay } from '../../src/replay/replay.js';
import { runCanary } from '../../src/canary/canary.js';
import { loadConfig } from '../../src/config/load.js';
import { sha256 } from '../../src/core/hash.js';
import { MANIFEST_FILE } from '../../src/dataset/manifest.js';
import { REPLAY_MANIFEST } from '../../src/replay/run-folder.js';
import { REPO } from '../helpers/cli.js';
import { line, tradeMsg, writeGz, T0 } from '../import/helpers.js';
import { runSafetyRow, type SafetyRow } from './helpers.js';

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-battery-'));
const ds = path.join(root, 'ds');
let busy: net.Server;
let busyPort = 0;

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
  fs.mkdirSync(path.join(root, 'notes'));
  fs.writeFileSync(path.join(root, 'notes', 'n.txt'), 'my notes: keep me\n');
  busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as net.AddressInfo).port;
}, 300_000);

afterAll(async () => {
  await new Promise<void>((r) => busy?.close(() => r()));
  fs.rmSync(root, { recursive: true, force: true });
});

// ---- setup helpers: each row works on its own copy, named after the row
type Json = Record<string, unknown> & { files: Record<string, unknown>[] };

function copyDataset(name: string, edit: (m: Json) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(ds, dir, { recursive: true });
  const mf = path.join(dir, MANIFEST_FILE);
  const m = JSON.parse(fs.readFileSync(mf, 'utf8')) as Json;
  edit(m);
  fs.writeFileSync(mf, `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}

/** A copy of a finished run (`base` replay or `can` canary) at `<root>/<name>/<tag>` (the tag must stay the folder name). */
function copyRun(name: string, tag: 'base' | 'can' = 'base'): string {
  const dir = path.join(root, name, tag);
  fs.cpSync(path.join(root, 'runs', tag), dir, { recursive: true });
  return dir;
}

function editJson(file: string, edit: (m: Record<string, unknown>) => void): void {
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(m);
  fs.writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
}

function file(name: string, data: string | Uint8Array): string {
  const f = path.join(root, 'inputs', name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
}

/** Deterministic "random" bytes (no gzip, zip or text signature). */
function noise(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  b[0] = 0x9a; // neither 0x1f 0x8b (gzip) nor PK (zip)
  return b;
}

type Row = SafetyRow;

const run = (name: string) => path.join(root, name);

const ROWS: Row[] = [
  // (2) --overwrite deletes only flowlab runs, never an input
  {
    defect: '2',
    input: 'replay --overwrite with --out/--run-tag naming its own dataset',
    args: () => ['replay', '--data', ds, '--out', root, '--run-tag', 'ds', '--overwrite'],
    code: 2,
    stderr: /run folder '.*ds' is the input/,
  },
  {
    defect: '2',
    input: 'replay --overwrite onto an unrelated folder holding a notes file',
    args: () => ['replay', '--data', ds, '--out', root, '--run-tag', 'notes', '--overwrite'],
    code: 2,
    stderr: /refusing to delete '.*notes': it is not a flowlab run folder/,
  },
  {
    defect: '2',
    input: 'canary --overwrite onto an unrelated folder',
    args: () => ['canary', '--data', ds, '--symbols', 'BTCUSDT', '--out', root, '--run-tag', 'notes', '--overwrite'],
    code: 2,
    stderr: /refusing to delete/,
  },
  {
    defect: '2',
    input: 'live --overwrite onto an unrelated folder (live.ts rmSync)',
    args: () => [
      'live',
      '--symbols',
      'BTCUSDT',
      '--endpoint',
      'ws://127.0.0.1:9',
      '--out',
      root,
      '--run-tag',
      'notes',
      '--overwrite',
      '--duration',
      '1s',
    ],
    code: 2,
    stderr: /refusing to delete/,
  },
  {
    defect: '2',
    input: 'replay --overwrite of a folder that holds the --config file',
    args: () => {
      fs.mkdirSync(run('held'));
      fs.copyFileSync(PROD, path.join(run('held'), 'my.yaml'));
      return [
        'replay',
        '--data',
        ds,
        '--config',
        path.join(run('held'), 'my.yaml'),
        '--out',
        root,
        '--run-tag',
        'held',
        '--overwrite',
      ];
    },
    code: 2,
    stderr: /contains the input/,
  },
  {
    defect: '2',
    input: 'replay --overwrite of a real run folder to which the user added a file',
    args: () => {
      const r = copyRun('userfile');
      fs.writeFileSync(path.join(r, 'analysis.txt'), 'mine\n');
      return ['replay', '--data', ds, '--out', run('userfile'), '--run-tag', 'base', '--overwrite'];
    },
    code: 2,
    stderr: /it holds 'analysis.txt', not listed in its manifest/,
  },
  {
    defect: '2',
    input: 'replay --overwrite of a finished flowlab run (allowed)',
    args: () => {
      copyRun('rerun');
      return ['replay', '--data', ds, '--out', run('rerun'), '--run-tag', 'base', '--overwrite'];
    },
    code: 0,
    replaces: 'rerun/',
  },
  // (3) manifests validated as strictly as CLI input
  {
    defect: '3',
    input: "dataset manifest: files[].symbol '../../../../../escape_sym'",
    args: () => {
      const d = copyDataset('ds_escape', (m) => {
        for (const f of m.files) if (f.symbol === 'BTCUSDT') f.symbol = '../../../../../escape_sym';
        m.symbols = ['../../../../../escape_sym', 'ETHUSDT'];
      });
      return ['replay', '--data', d, '--out', run('out_escape'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /: (symbols\.0|files\.\d+\.symbol).*a symbol such as BTCUSDT/,
  },
  {
    defect: '3',
    input: 'dataset manifest: symbol "BTC\'; DROP TABLE x;--" (dq)',
    args: () => {
      const d = copyDataset('ds_sql', (m) => {
        for (const f of m.files) if (f.symbol === 'BTCUSDT') f.symbol = "BTC'; DROP TABLE x;--";
        m.symbols = ["BTC'; DROP TABLE x;--", 'ETHUSDT'];
      });
      return ['dq', '--data', d, '--out', run('dq_sql')];
    },
    code: 1,
    stderr: /a symbol such as BTCUSDT/,
  },
  {
    defect: '3',
    input: "dataset manifest: a BTCUSDT entry whose path and sha256 are ETHUSDT's part",
    args: () => {
      const d = copyDataset('ds_swap', (m) => {
        const b = m.files.find((f) => f.symbol === 'BTCUSDT' && f.kind === 'trades')!;
        const e = m.files.find((f) => f.symbol === 'ETHUSDT' && f.kind === 'trades')!;
        b.path = e.path;
        b.sha256 = e.sha256;
      });
      return ['replay', '--data', d, '--out', run('out_swap'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /files\.\d+\.path = ".*ETHUSDT.*": expected 'date=.*symbol=BTCUSDT/,
  },
  {
    defect: '3',
    input: 'dataset manifest: bytes -5',
    args: () => {
      const d = copyDataset('ds_bytes', (m) => {
        m.files[0].bytes = -5;
      });
      return ['replay', '--data', d, '--out', run('out_bytes'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /files\.0\.bytes = -5/,
  },
  {
    defect: '3',
    input: "run manifest: outputs[0].path 'data/../../../../escape.parquet'",
    args: () => {
      const r = copyRun('v_outpath');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        (m.outputs as { path: string }[])[0].path = 'data/../../../../escape.parquet';
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /outputs\.0\.path: expected 'data\/date=/,
  },
  {
    defect: '3',
    input: 'run manifest: dataset.path with a quote (SQL / path injection)',
    args: () => {
      const r = copyRun('v_dspath');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        (m.dataset as { path: string }).path = "/tmp/x'; DROP TABLE y;--";
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /dataset\.path: an absolute path without quotes/,
  },
  // (6) torn / unfinished writes are marked and refused
  {
    defect: '6',
    input: 'run folder still marked _INCOMPLETE (a run that died after its manifest)',
    args: () => {
      const r = copyRun('v_incomplete');
      fs.writeFileSync(path.join(r, '_INCOMPLETE'), 'flowlab replay in progress\n');
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /is incomplete \(_INCOMPLETE/,
  },
  {
    defect: '6',
    input: 'run folder with an empty (torn) run_tag.txt',
    args: () => {
      const r = copyRun('v_torntag');
      fs.writeFileSync(path.join(r, 'run_tag.txt'), '');
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /run_tag\.txt changed on disk/,
  },
  {
    defect: '6',
    input: 'run folder whose manifest.json is torn at 4096 bytes',
    args: () => {
      const r = copyRun('v_tornmf');
      const mf = path.join(r, REPLAY_MANIFEST);
      fs.writeFileSync(mf, fs.readFileSync(mf).subarray(0, 4096));
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /: not valid JSON/,
  },
  {
    defect: '6',
    input: 'dataset marked _INCOMPLETE (an import that died) given to replay',
    args: () => {
      const d = copyDataset('ds_incomplete', () => {});
      fs.writeFileSync(path.join(d, '_INCOMPLETE'), 'flowlab import in progress\n');
      return ['replay', '--data', d, '--out', run('out_incomplete'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /dataset '.*ds_incomplete' is incomplete/,
  },
  {
    defect: '6',
    input: 'dataset marked _INCOMPLETE given to dq',
    args: () => {
      const d = copyDataset('ds_incomplete_dq', () => {});
      fs.writeFileSync(path.join(d, '_INCOMPLETE'), 'flowlab import in progress\n');
      return ['dq', '--data', d, '--out', run('dq_incomplete')];
    },
    code: 1,
    stderr: /is incomplete/,
  },
  {
    defect: '6',
    input: 'rerun with --overwrite over an interrupted run (marker, a part, no manifest) replaces it',
    args: () => {
      const r = path.join(root, 'interrupted', 'base');
      fs.mkdirSync(path.join(r, 'data'), { recursive: true });
      fs.writeFileSync(path.join(r, '_INCOMPLETE'), 'flowlab replay in progress\n');
      fs.writeFileSync(path.join(r, 'data', 'half.parquet.tmp-1'), 'torn');
      return ['replay', '--data', ds, '--out', path.dirname(r), '--run-tag', 'base', '--overwrite'];
    },
    code: 0,
    replaces: 'interrupted/',
  },
  // (7) verify covers the whole run folder
  {
    defect: '7',
    input: 'an extra part file in a kind folder',
    args: () => {
      const r = copyRun('v_extrapart');
      const m = JSON.parse(fs.readFileSync(path.join(r, REPLAY_MANIFEST), 'utf8'));
      const first = path.join(r, m.outputs[0].path);
      fs.copyFileSync(first, path.join(path.dirname(first), 'part-000999999.parquet'));
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /file not listed in the manifest: data\/.*part-000999999\.parquet/,
  },
  {
    defect: '7',
    input: 'a stray file in the run folder',
    args: () => {
      const r = copyRun('v_stray');
      fs.writeFileSync(path.join(r, 'notes.md'), 'x');
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /file not listed in the manifest: notes\.md/,
  },
  {
    defect: '7',
    input: 'run_tag.txt edited (cvd_direction)',
    args: () => {
      const r = copyRun('v_tagedit');
      const f = path.join(r, 'run_tag.txt');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('BTCUSDT:+1', 'BTCUSDT:-1'));
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /run_tag\.txt changed on disk/,
  },
  {
    defect: '7',
    input: 'run_tag.txt and its sha256 in the manifest both edited (fingerprint line)',
    args: () => {
      const r = copyRun('v_tagboth');
      const f = path.join(r, 'run_tag.txt');
      const text = fs.readFileSync(f, 'utf8').replace(/config_fingerprint=\w+/, 'config_fingerprint=0000000000000000');
      fs.writeFileSync(f, text);
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        m.run_tag_sha256 = sha256(text);
      });
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /run_tag\.txt does not match the manifest: line 2/,
  },
  {
    defect: '7',
    input: "manifest whose config_fingerprint is not its embedded config's",
    args: () => {
      const r = copyRun('v_fp');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        m.config_fingerprint = '0123456789abcdef';
      });
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /config_fingerprint 0123456789abcdef in the manifest is not that of its embedded config/,
  },
  {
    defect: '7',
    input: 'a slices coverage file edited',
    args: () => {
      const r = copyRun('v_slices');
      const m = JSON.parse(fs.readFileSync(path.join(r, REPLAY_MANIFEST), 'utf8'));
      fs.appendFileSync(path.join(r, m.slices.files[0].path), ' ');
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /slices file changed on disk: slices\//,
  },
  {
    defect: '7',
    input: 'canary run: incidents.json edited',
    args: () => {
      const r = copyRun('v_canedit', 'can');
      fs.appendFileSync(path.join(r, 'canary_report', 'incidents.json'), ' ');
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /canary file changed on disk: canary_report\/incidents\.json/,
  },
  {
    defect: '7',
    input: 'canary run: a file added to canary_report/',
    args: () => {
      const r = copyRun('v_canextra', 'can');
      fs.writeFileSync(path.join(r, 'canary_report', 'extra.csv'), 'a\n1\n');
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /file not listed in the manifest: canary_report\/extra\.csv/,
  },
  {
    defect: '7',
    input: 'canary run untouched (verify lists and hashes the canary files)',
    args: () => ['verify', '--run', path.join(root, 'runs', 'can')],
    code: 0,
    stdout: /identical: \d+ output files/,
  },
  // (10) an import yielding zero usable rows fails
  {
    defect: '10',
    input: 'import of random bytes named .gz',
    args: () => ['import', '--format', 'ws-capture', '--in', file('rnd.gz', noise(3000, 7)), '--out', run('imp_rnd')],
    code: 1,
    stderr: /rnd\.gz: no usable rows \(read \d+ line\(s\): lines_no_timestamp=\d+/,
  },
  {
    defect: '10',
    input: 'import of an empty file',
    args: () => ['import', '--format', 'ws-capture', '--in', file('empty.gz', ''), '--out', run('imp_empty')],
    code: 1,
    stderr: /empty\.gz: no usable rows \(read 0 line\(s\)/,
  },
  {
    defect: '10',
    input: 'import of a plain text file that is not a capture',
    args: () => [
      'import',
      '--format',
      'ws-capture',
      '--in',
      file('notes.txt', 'hello\nworld\n'),
      '--out',
      run('imp_txt'),
    ],
    code: 1,
    stderr: /notes\.txt: no usable rows/,
  },
  // (11) silent coercions and unclear errors
  {
    defect: '11',
    input: '--from 2024-02-30',
    args: () => ['replay', '--data', ds, '--out', run('out_feb30'), '--run-tag', 'r', '--from', '2024-02-30'],
    code: 2,
    stderr: /--from: '2024-02-30' is not a time \(day 30 does not exist in 2024-02/,
  },
  {
    defect: '11',
    input: '--symbols btcusdt (lower case: accepted, said on stderr)',
    args: () => ['dq', '--data', ds, '--out', run('dq_lower'), '--symbols', 'btcusdt'],
    code: 0,
    stderr: /note: --symbols: 'btcusdt' taken as BTCUSDT/,
  },
  {
    defect: '11',
    input: 'ws-capture trade with a numeric JSON price (accepted, counted)',
    args: () => [
      'import',
      '--format',
      'ws-capture',
      '--in',
      writeGz(path.join(root, 'inputs', 'numprice.gz'), [
        line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0)),
        line(T0 + 1, tradeMsg('BTCUSDT', 2, '100', '1', T0 + 1, { p: 100.5 })),
      ]),
      '--out',
      run('imp_num'),
    ],
    code: 0,
    stdout: /json_number_values\.trade=1/,
  },
  {
    defect: '11',
    input: 'ws-capture message whose data.s disagrees with its stream name (counted, not a new symbol)',
    args: () => [
      'import',
      '--format',
      'ws-capture',
      '--in',
      writeGz(path.join(root, 'inputs', 'mismatch.gz'), [
        line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0)),
        line(T0 + 1, {
          stream: 'btcusdt@trade',
          data: { ...tradeMsg('BTCUSDT', 2, '100', '1', T0 + 1).data, s: 'ETHUSDT' },
        }),
      ]),
      '--out',
      run('imp_mismatch'),
    ],
    code: 0,
    stdout: /bad_rows\.symbol_mismatch=1/,
    also: () => {
      const m = JSON.parse(fs.readFileSync(path.join(run('imp_mismatch'), MANIFEST_FILE), 'utf8'));
      expect(m.symbols).toEqual(['BTCUSDT']);
    },
  },
  {
    defect: '11',
    input: 'an empty config file',
    args: () => ['config', '--config', file('empty.yaml', '')],
    code: 2,
    stderr: /empty\.yaml: empty config file/,
  },
  {
    defect: '11',
    input: 'a weight of 1e400',
    args: () => ['config', '--config', file('big.yaml', 'fusion:\n  weights:\n    ofi: 1e400\n')],
    code: 2,
    stderr: /fusion\.weights\.ofi = Infinity is not allowed: expected a finite number/,
  },
  {
    defect: '11',
    input: 'binance-vision: a garbage zip',
    args: () => [
      'import',
      '--format',
      'binance-vision',
      '--in',
      file('BTCUSDT-aggTrades-2024-08-08.zip', noise(600, 11)),
      '--out',
      run('imp_zip'),
    ],
    code: 1,
    stderr: /BTCUSDT-aggTrades-2024-08-08\.zip': not a zip, gzip or CSV text file/,
    also: (r) => expect(r.stderr.length).toBeLessThan(200),
  },
  {
    defect: '11',
    input: '--out under a regular file (ENOTDIR)',
    args: () => ['replay', '--data', ds, '--out', path.join(ds, MANIFEST_FILE), '--run-tag', 'r'],
    code: 2,
    stderr: /\/r': a path component is a file, not a directory \(ENOTDIR\)/,
  },
  {
    defect: '11',
    input: 'mock-exchange on a port already in use (EADDRINUSE)',
    args: () => ['mock-exchange', '--data', ds, '--port', String(busyPort)],
    code: 2,
    stderr: /the port is already in use.*\(EADDRINUSE\)/,
  },
  {
    defect: '11',
    input: '--from after --to',
    args: () => [
      'replay',
      '--data',
      ds,
      '--out',
      run('out_range'),
      '--run-tag',
      'r',
      '--from',
      '2024-08-08T01:00:00Z',
      '--to',
      '2024-08-08T00:00:00Z',
    ],
    code: 2,
    stderr: /--from 2024-08-08T01:00:00Z is not before --to 2024-08-08T00:00:00Z/,
  },
  {
    defect: '11',
    input: 'replay into an existing run folder without --overwrite',
    args: () => ['replay', '--data', ds, '--out', path.join(root, 'runs'), '--run-tag', 'base'],
    code: 2,
    stderr: /already exists \(choose another --run-tag or pass --overwrite\)/,
  },
  {
    defect: '11',
    input: 'replay run outside the repository with the default --config (resolved from the package)',
    args: () => ['replay', '--data', 'ds', '--out', 'cwd_runs', '--run-tag', 'r'],
    cwd: '.',
    code: 0,
    stdout: /replayed [\d,]+ ticks/,
  },
  // bad inputs of every command (already handled before issue 11; kept so they stay handled)
  {
    defect: '-',
    input: 'replay --run-tag with a path (../x)',
    args: () => ['replay', '--data', ds, '--out', run('out_tag'), '--run-tag', '../x'],
    code: 2,
    stderr: /--run-tag: '\.\.\/x' is not a valid tag/,
  },
  {
    defect: '-',
    input: 'replay --data with a quote in the path',
    args: () => ['replay', '--data', `${ds}'x`, '--out', run('out_q'), '--run-tag', 'r'],
    code: 2,
    stderr: /--data: .* contains a forbidden character/,
  },
  {
    defect: '-',
    input: 'replay --symbols naming a symbol the dataset lacks',
    args: () => ['replay', '--data', ds, '--out', run('out_sym'), '--run-tag', 'r', '--symbols', 'DOGEUSDT'],
    code: 1,
    stderr: /symbol 'DOGEUSDT' is not in dataset/,
  },
  {
    defect: '-',
    input: 'replay --speed 0',
    args: () => ['replay', '--data', ds, '--out', run('out_speed'), '--run-tag', 'r', '--speed', '0'],
    code: 2,
    stderr: /--speed: '0' is not valid/,
  },
  {
    defect: '-',
    input: 'replay of a dataset whose part file was changed',
    args: () => {
      const d = copyDataset('ds_changed', () => {});
      const m = JSON.parse(fs.readFileSync(path.join(d, MANIFEST_FILE), 'utf8'));
      fs.appendFileSync(path.join(d, m.files.find((f: { kind: string }) => f.kind === 'trades').path), 'x');
      return ['replay', '--data', d, '--out', run('out_changed'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /part file '.*' changed: sha256/,
  },
  {
    defect: '-',
    input: 'replay of a dataset whose part file is missing',
    args: () => {
      const d = copyDataset('ds_missing', () => {});
      const m = JSON.parse(fs.readFileSync(path.join(d, MANIFEST_FILE), 'utf8'));
      fs.rmSync(path.join(d, m.files.find((f: { kind: string }) => f.kind === 'quotes').path));
      return ['replay', '--data', d, '--out', run('out_missing'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /listed in the manifest is missing/,
  },
  {
    defect: '3',
    input: "dataset manifest: kind 'orders'",
    args: () => {
      const d = copyDataset('ds_kind', (m) => {
        m.files[0].kind = 'orders';
      });
      return ['dq', '--data', d, '--out', run('dq_kind')];
    },
    code: 1,
    stderr: /files\.0\.kind = "orders"/,
  },
  {
    defect: '-',
    input: 'dataset manifest: schema_version 2',
    args: () => {
      const d = copyDataset('ds_schema', (m) => {
        m.schema_version = 2;
      });
      return ['replay', '--data', d, '--out', run('out_schema'), '--run-tag', 'r'];
    },
    code: 1,
    stderr: /schema_version = 2/,
  },
  {
    defect: '-',
    input: 'dq of a folder that does not exist',
    args: () => ['dq', '--data', run('nothing_here'), '--out', run('dq_nothing')],
    code: 1,
    stderr: /dataset '.*nothing_here' does not exist/,
  },
  {
    defect: '-',
    input: 'verify of a folder that does not exist',
    args: () => ['verify', '--run', run('no_run')],
    code: 2,
    stderr: /does not exist or is not a directory/,
  },
  {
    defect: '-',
    input: 'verify after an input part file changed',
    args: () => {
      const r = copyRun('v_input');
      const m = JSON.parse(fs.readFileSync(path.join(r, REPLAY_MANIFEST), 'utf8'));
      const d = copyDataset('ds_for_v_input', () => {});
      fs.appendFileSync(path.join(d, m.inputs[0].path), 'x');
      editJson(path.join(r, REPLAY_MANIFEST), (mm) => {
        (mm.dataset as { path: string }).path = d;
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /input changed: /,
  },
  {
    defect: '-',
    input: 'verify after an output part file was deleted',
    args: () => {
      const r = copyRun('v_outdel');
      const m = JSON.parse(fs.readFileSync(path.join(r, REPLAY_MANIFEST), 'utf8'));
      fs.rmSync(path.join(r, m.outputs[0].path));
      return ['verify', '--run', r];
    },
    code: 1,
    stderr: /output missing on disk: data\//,
  },
  {
    defect: '3',
    input: "run manifest: inputs[0].path '../../etc/passwd'",
    args: () => {
      const r = copyRun('v_inpath');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        (m.inputs as { path: string }[])[0].path = '../../etc/passwd';
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /inputs\.0\.path: a dataset part path/,
  },
  {
    defect: '3',
    input: "canary run manifest: canary.files[0].path 'canary_report/../../x'",
    args: () => {
      const r = copyRun('v_canpath', 'can');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        (m.canary as { files: { path: string }[] }).files[0].path = 'canary_report/../../x';
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /canary\.files\.0\.path/,
  },
  {
    defect: '3',
    input: "run manifest: tables ['orders']",
    args: () => {
      const r = copyRun('v_tables');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        m.tables = ['orders'];
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /tables\.0: a derived table \(prices, ofi, cvd, fusion, events\)/,
  },
  {
    defect: '3',
    input: 'run manifest: block_rows 0',
    args: () => {
      const r = copyRun('v_block');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        m.block_rows = 0;
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /block_rows/,
  },
  {
    defect: '3',
    input: 'run manifest: run_tag not the folder name',
    args: () => {
      const r = copyRun('v_tagname');
      editJson(path.join(r, REPLAY_MANIFEST), (m) => {
        m.run_tag = 'other';
      });
      return ['verify', '--run', r];
    },
    code: 2,
    stderr: /run_tag 'other' is not the folder's name 'base'/,
  },
  {
    defect: '-',
    input: 'import --out that is not empty',
    args: () => ['import', '--format', 'ws-capture', '--in', file('one.gz', ''), '--out', run('notes')],
    code: 2,
    stderr: /--out: '.*notes' is not empty/,
  },
  {
    defect: '6',
    input: 'import rerun into an interrupted import (marker and a part left) replaces it',
    args: () => {
      const out = run('imp_again');
      fs.mkdirSync(path.join(out, 'date=2024-08-08'), { recursive: true });
      fs.writeFileSync(path.join(out, '_INCOMPLETE'), 'flowlab import in progress\n');
      fs.writeFileSync(path.join(out, 'date=2024-08-08', 'torn.parquet.tmp-1'), 'x');
      return [
        'import',
        '--format',
        'ws-capture',
        '--in',
        writeGz(path.join(root, 'inputs', 'again.gz'), [line(T0, tradeMsg('BTCUSDT', 1, '100', '1', T0))]),
        '--out',
        out,
      ];
    },
    code: 0,
    stdout: /imported 1 file/,
    replaces: 'imp_again/',
    also: () => expect(fs.existsSync(path.join(run('imp_again'), '_INCOMPLETE'))).toBe(false),
  },
  {
    defect: '-',
    input: 'import --depth-levels 0',
    args: () => [
      'import',
      '--format',
      'ws-capture',
      '--in',
      file('d.gz', ''),
      '--out',
      run('imp_lv'),
      '--depth-levels',
      '0',
    ],
    code: 2,
    stderr: /--depth-levels: '0' is not valid/,
  },
  {
    defect: '-',
    input: 'import of a file that does not exist',
    args: () => ['import', '--format', 'ws-capture', '--in', run('nope.gz'), '--out', run('imp_nope')],
    code: 1,
    stderr: /nope\.gz/,
  },
  {
    defect: '-',
    input: 'config with an unknown key',
    args: () => ['config', '--config', file('typo.yaml', 'fusion:\n  wieghts:\n    ofi: 1\n')],
    code: 2,
    stderr: /unknown key 'fusion\.wieghts'/,
  },
  {
    defect: '-',
    input: 'config extends itself',
    args: () => ['config', '--config', file('loop.yaml', 'extends: loop.yaml\n')],
    code: 2,
    stderr: /'extends' cycle/,
  },
  {
    defect: '11',
    input: 'canary --to 2023-02-29',
    args: () => [
      'canary',
      '--data',
      ds,
      '--symbols',
      'BTCUSDT',
      '--out',
      run('can_feb'),
      '--run-tag',
      'c',
      '--to',
      '2023-02-29',
    ],
    code: 2,
    stderr: /day 29 does not exist in 2023-02/,
  },
  {
    defect: '11',
    input: 'canary into an existing run folder without --overwrite',
    args: () => ['canary', '--data', ds, '--symbols', 'BTCUSDT', '--out', path.join(root, 'runs'), '--run-tag', 'can'],
    code: 2,
    stderr: /already exists/,
  },
  {
    defect: '-',
    input: 'mock-exchange --port 99999',
    args: () => ['mock-exchange', '--data', ds, '--port', '99999'],
    code: 2,
    stderr: /--port/,
  },
  {
    defect: '-',
    input: 'synth --out onto a regular file',
    args: () => ['synth', '--out', path.join(root, 'notes', 'n.txt'), '--hours', '0.01'],
    code: 2,
    stderr: /exists and is not a directory/,
  },
  {
    defect: '6',
    input: 'synth --force over an interrupted synth (marker, a partition, no manifest) replaces it',
    args: () => {
      const out = run('syn_again');
      fs.mkdirSync(path.join(out, 'date=2024-08-08'), { recursive: true });
      fs.writeFileSync(path.join(out, '_INCOMPLETE'), 'flowlab synth in progress\n');
      return ['synth', '--out', out, '--symbols', 'BTCUSDT', '--hours', '0.01', '--force'];
    },
    code: 0,
    stdout: /synth: wrote/,
    replaces: 'syn_again/',
    also: () => expect(fs.existsSync(path.join(run('syn_again'), '_INCOMPLETE'))).toBe(false),
  },
];

describe('data-safety battery (issue 11)', () => {
  for (const row of ROWS) it(`(${row.defect}) ${row.input} -> exit ${row.code}`, () => runSafetyRow(root, row));
});
