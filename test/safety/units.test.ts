/**
 * The pieces behind the battery, one by one: the durable write helper, the run
 * folder rules, calendar-checked times (against a slow reference), strict
 * manifests, and byte-identical metadata across runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INCOMPLETE_MARKER,
  TEMP_SUFFIX_RE,
  markComplete,
  markIncomplete,
  writeFileAtomic,
} from '../../src/core/atomic.js';
import { queryRows, sqlString, writeParquet } from '../../src/io/duck.js';
import { FlowlabError, UsageError } from '../../src/core/errors.js';
import { parseTime, parseTimeRange } from '../../src/core/validate.js';
import { MANIFEST_FILE, readManifest } from '../../src/dataset/manifest.js';
import {
  prepareRunFolder,
  readRunManifest,
  REPLAY_MANIFEST,
  RUN_TAG_FILE,
  unlistedFiles,
} from '../../src/replay/run-folder.js';
import { replay } from '../../src/replay/replay.js';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/synth.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-safety-units-'));
const ds = path.join(tmp, 'ds');
const CONFIG = loadConfig(path.join(REPO, 'config/ofi_cvd/prod.yaml'), {});

beforeAll(async () => {
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT'], hours: 0.02 }, ds);
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the file whole, and on failure keeps the old bytes and leaves no temp file', () => {
    const dir = path.join(tmp, 'atomic');
    const f = path.join(dir, 'manifest.json');
    writeFileAtomic(f, 'old\n');
    writeFileAtomic(f, 'new\n');
    expect(fs.readFileSync(f, 'utf8')).toBe('new\n');
    // a target that cannot be renamed over (a non-empty folder): the write fails at the rename
    const g = path.join(dir, 'taken');
    fs.mkdirSync(g);
    fs.writeFileSync(path.join(g, 'x'), 'theirs');
    expect(() => writeFileAtomic(g, 'torn')).toThrow(FlowlabError);
    expect(() => writeFileAtomic(g, 'torn')).toThrow(/cannot write '.*taken': /);
    expect(fs.readFileSync(path.join(g, 'x'), 'utf8')).toBe('theirs');
    expect(fs.readFileSync(f, 'utf8')).toBe('new\n');
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', 'taken']);
  });

  it('never truncates a file left under its temp name: it takes the next free name', () => {
    const dir = path.join(tmp, 'atomic-taken');
    fs.mkdirSync(dir);
    const f = path.join(dir, 'manifest.json');
    const theirs = `${f}.tmp-${process.pid}`;
    const theirs1 = `${f}.tmp-${process.pid}-1`;
    fs.writeFileSync(theirs, "somebody else's bytes");
    fs.mkdirSync(theirs1); // a folder under the next name: stepped over too, untouched
    writeFileAtomic(f, 'ours\n');
    expect(fs.readFileSync(f, 'utf8')).toBe('ours\n');
    expect(fs.readFileSync(theirs, 'utf8')).toBe("somebody else's bytes");
    expect(fs.readdirSync(theirs1)).toEqual([]);
    expect(fs.readdirSync(dir).sort()).toEqual(['manifest.json', path.basename(theirs), path.basename(theirs1)].sort());
    // the names it tries are the ones the run-folder / import / recorder checks know as temp files
    const re = new RegExp(`^manifest\\.json${TEMP_SUFFIX_RE}$`);
    expect(re.test(path.basename(theirs)) && re.test(path.basename(theirs1))).toBe(true);
    expect(re.test('manifest.json.tmp-x')).toBe(false);
  });

  it('writeParquet never truncates a file left under its hidden temp name', async () => {
    const dir = path.join(tmp, 'parquet-taken');
    fs.mkdirSync(dir);
    const f = path.join(dir, 'part.parquet');
    const theirs = path.join(dir, `.part.parquet.tmp-${process.pid}`);
    fs.writeFileSync(theirs, 'not a parquet of ours');
    await writeParquet(f, [{ name: 'x', type: 'f64', data: Float64Array.of(1, 2, 3) }], 3);
    expect(fs.readFileSync(theirs, 'utf8')).toBe('not a parquet of ours');
    const rows = await queryRows(`SELECT sum(x)::DOUBLE AS s FROM read_parquet(${sqlString(f)})`);
    expect(rows).toEqual([{ s: 6 }]);
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(theirs), 'part.parquet'].sort());
  });

  it('a failed write removes only the temp file it created: theirs under the first temp name is kept', async () => {
    for (const w of ['atomic', 'parquet'] as const) {
      const dir = path.join(tmp, `fail-${w}`);
      fs.mkdirSync(dir);
      const f = path.join(dir, 'out.bin');
      fs.mkdirSync(f); // the final name is a folder: the rename fails after the temp file was written
      const theirs = path.join(dir, w === 'parquet' ? `.out.bin.tmp-${process.pid}` : `out.bin.tmp-${process.pid}`);
      fs.writeFileSync(theirs, 'theirs');
      const write =
        w === 'atomic'
          ? async () => writeFileAtomic(f, 'ours')
          : () => writeParquet(f, [{ name: 'x', type: 'f64', data: Float64Array.of(1) }], 1);
      await expect(write()).rejects.toThrow();
      expect(fs.readFileSync(theirs, 'utf8')).toBe('theirs');
      expect(fs.readdirSync(dir).sort(), w).toEqual([path.basename(theirs), 'out.bin'].sort());
    }
  });

  it('markIncomplete / markComplete add and remove the marker', () => {
    const dir = path.join(tmp, 'marker');
    fs.mkdirSync(dir);
    markIncomplete(dir, 'test');
    expect(fs.readFileSync(path.join(dir, INCOMPLETE_MARKER), 'utf8')).toMatch(/^flowlab test in progress/);
    markComplete(dir);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('parseTime (calendar-checked)', () => {
  // slow obvious reference: the Gregorian leap-year rule, no Date
  const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const daysIn = (y: number, m: number) => [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
  const p2 = (n: number) => String(n).padStart(2, '0');

  it('accepts exactly the days that exist (1999-2025, incl. 2000 and 2100-style rules) and refuses the others', () => {
    let ms = Date.UTC(1999, 0, 1);
    for (let y = 1999; y <= 2025; y++) {
      for (let m = 1; m <= 12; m++) {
        for (let d = 1; d <= 31; d++) {
          const s = `${y}-${p2(m)}-${p2(d)}`;
          if (d <= daysIn(y, m)) {
            expect(parseTime(s, '--from')).toBe(ms);
            ms += 86_400_000;
          } else expect(() => parseTime(s, '--from'), s).toThrow(UsageError);
        }
      }
    }
    expect(() => parseTime('2100-02-29', '--from')).toThrow(/day 29 does not exist in 2100-02/);
    expect(parseTime('2000-02-29', '--from')).toBe(Date.UTC(2000, 1, 29));
  });

  it('times of day, offsets and epoch ms; impossible ones refused', () => {
    expect(parseTime('2024-08-09T10:20', '--to')).toBe(Date.UTC(2024, 7, 9, 10, 20));
    expect(parseTime('2024-08-09T23:59:59.999Z', '--to')).toBe(Date.UTC(2024, 7, 9, 23, 59, 59, 999));
    expect(parseTime('2024-08-09T01:00:00+02:00', '--to')).toBe(Date.UTC(2024, 7, 8, 23));
    expect(parseTime('1723161600000', '--to')).toBe(1723161600000);
    for (const bad of ['2024-08-09T24:00', '2024-08-09T23:60', '2024-13-01', '2024-00-10', 'March 7', '2024-8-9', ''])
      expect(() => parseTime(bad, '--to'), bad).toThrow(UsageError);
    expect(() => parseTimeRange('2024-08-09', '2024-08-09')).toThrow(/is not before --to/);
    expect(parseTimeRange('2024-08-08', undefined)).toEqual({ fromMs: Date.UTC(2024, 7, 8), toMs: undefined });
  });
});

describe('strict manifests', () => {
  function tampered(name: string, edit: (m: Record<string, unknown> & { files: Record<string, unknown>[] }) => void) {
    const dir = path.join(tmp, name);
    fs.cpSync(ds, dir, { recursive: true });
    const f = path.join(dir, MANIFEST_FILE);
    const m = JSON.parse(fs.readFileSync(f, 'utf8'));
    edit(m);
    fs.writeFileSync(f, JSON.stringify(m));
    return dir;
  }

  it('a dataset manifest the writer wrote validates; each kind of tampering is named', () => {
    expect(readManifest(ds).files.length).toBeGreaterThan(0);
    const cases: [string, (m: Record<string, unknown> & { files: Record<string, unknown>[] }) => void, RegExp][] = [
      ['lower', (m) => (m.files[0].symbol = 'btcusdt'), /files\.0\.symbol = "btcusdt": a symbol/],
      ['seq', (m) => (m.files[0].first_recv_seq = 1.5), /files\.0\.first_recv_seq = 1\.5/],
      ['sha', (m) => (m.files[0].sha256 = 'ABC'), /files\.0\.sha256 = "ABC": 64 lower-case hex/],
      ['date', (m) => (m.files[0].date = '2024-02-30'), /files\.0\.date = "2024-02-30": a calendar date/],
      ['dup', (m) => m.files.push({ ...m.files[0] }), /listed twice/],
      ['extra', (m) => (m.files[0].note = 'x'), /files\.0: Unrecognized key/i],
    ];
    for (const [name, edit, re] of cases) expect(() => readManifest(tampered(`m_${name}`, edit)), name).toThrow(re);
  });
});

describe('run folders', () => {
  it('same inputs give byte-identical manifest.json and run_tag.txt, with no marker left', async () => {
    const a = await replay({ data: ds, config: CONFIG, out: path.join(tmp, 'a'), runTag: 'same', progress: false });
    const b = await replay({ data: ds, config: CONFIG, out: path.join(tmp, 'b'), runTag: 'same', progress: false });
    for (const f of [REPLAY_MANIFEST, RUN_TAG_FILE])
      expect(fs.readFileSync(path.join(b.runDir, f))).toEqual(fs.readFileSync(path.join(a.runDir, f)));
    expect(fs.existsSync(path.join(a.runDir, INCOMPLETE_MARKER))).toBe(false);
    const m = readRunManifest(a.runDir);
    expect(m.run_tag_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(unlistedFiles(a.runDir, m)).toEqual([]);
  });

  it('prepareRunFolder: refuses inputs inside, foreign files, non-directories; replaces flowlab runs', async () => {
    const out = path.join(tmp, 'pr');
    // a folder that contains the dataset
    fs.mkdirSync(path.join(out, 'holder'), { recursive: true });
    fs.cpSync(ds, path.join(out, 'holder', 'ds'), { recursive: true });
    expect(() =>
      prepareRunFolder(path.join(out, 'holder'), {
        overwrite: true,
        inputs: [path.join(out, 'holder', 'ds')],
        what: 't',
      }),
    ).toThrow(/contains the input/);
    // through a symlink to the input
    fs.symlinkSync(path.join(out, 'holder', 'ds'), path.join(out, 'link'));
    expect(() =>
      prepareRunFolder(path.join(out, 'link'), {
        overwrite: true,
        inputs: [path.join(out, 'holder', 'ds')],
        what: 't',
      }),
    ).toThrow(/is the input/);
    // a file where the folder should be
    fs.writeFileSync(path.join(out, 'afile'), 'x');
    expect(() => prepareRunFolder(path.join(out, 'afile'), { overwrite: true, inputs: [], what: 't' })).toThrow(
      /exists and is not a directory/,
    );
    // an incomplete run with a file no run writes
    fs.mkdirSync(path.join(out, 'inc'));
    markIncomplete(path.join(out, 'inc'), 'replay');
    fs.writeFileSync(path.join(out, 'inc', 'thesis.tex'), 'x');
    expect(() => prepareRunFolder(path.join(out, 'inc'), { overwrite: true, inputs: [], what: 't' })).toThrow(
      /holds 'thesis\.tex', which no flowlab run writes/,
    );
    expect(fs.readFileSync(path.join(out, 'inc', 'thesis.tex'), 'utf8')).toBe('x');
    // an empty folder and a finished run are replaced; the new one is marked incomplete
    const r = await replay({ data: ds, config: CONFIG, out, runTag: 'done', progress: false });
    prepareRunFolder(r.runDir, { overwrite: true, inputs: [ds], what: 'replay' });
    expect(fs.readdirSync(r.runDir)).toEqual([INCOMPLETE_MARKER]);
    fs.mkdirSync(path.join(out, 'empty'));
    prepareRunFolder(path.join(out, 'empty'), { overwrite: true, inputs: [], what: 't' });
    expect(fs.readdirSync(path.join(out, 'empty'))).toEqual([INCOMPLETE_MARKER]);
  });
});
