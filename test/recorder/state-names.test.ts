/** The recorder's state files are named so hive readers skip them; a legacy recording is renamed once, nothing else is touched. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FILE,
  HOURLY_DIR,
  JOURNAL_CORRUPT_DIR,
  JOURNAL_DIR,
  PARTS_PENDING_FILE,
  migrateLegacyState,
} from '../../recorder/recorder.js';
import { DatasetWriter } from '../../src/dataset/writer.js';
import { LEGACY_MANIFEST_FILE, MANIFEST_FILE } from '../../src/dataset/manifest.js';
import { tmpDir } from '../import/helpers.js';

function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).sort();
}

describe('recorder state names', () => {
  it('every state file and folder starts with _ (skipped by pyarrow / pandas discovery)', () => {
    for (const n of [CHECKPOINT_FILE, JOURNAL_DIR, HOURLY_DIR, PARTS_PENDING_FILE, JOURNAL_CORRUPT_DIR, MANIFEST_FILE])
      expect(n.startsWith('_'), n).toBe(true);
  });

  it('renames a legacy recording once (checkpoint.json, journal/, hourly/, ...), keeping contents', async () => {
    const out = tmpDir('legacy-rec');
    const w = new DatasetWriter(out, { source: { type: 'recorder' } });
    w.trade('BTCUSDT', 1_723_161_600_000, 1_723_161_600_000, 1_723_161_600_000, 1, 100, 1, 0, 1, 1);
    await w.close();
    fs.renameSync(path.join(out, MANIFEST_FILE), path.join(out, LEGACY_MANIFEST_FILE));
    fs.writeFileSync(path.join(out, 'checkpoint.json'), '{"journal_seq":3}');
    fs.mkdirSync(path.join(out, 'journal'));
    fs.writeFileSync(path.join(out, 'journal', '0000000000000000.jsonl'), 'x\n');
    fs.mkdirSync(path.join(out, 'hourly'));
    fs.writeFileSync(path.join(out, 'parts-pending.txt'), '');
    migrateLegacyState(out);
    expect(fs.readFileSync(path.join(out, CHECKPOINT_FILE), 'utf8')).toBe('{"journal_seq":3}');
    expect(fs.readFileSync(path.join(out, JOURNAL_DIR, '0000000000000000.jsonl'), 'utf8')).toBe('x\n');
    for (const old of ['checkpoint.json', 'journal', 'hourly', 'parts-pending.txt'])
      expect(fs.existsSync(path.join(out, old)), old).toBe(false);
    expect(fs.existsSync(path.join(out, HOURLY_DIR))).toBe(true);
    expect(fs.existsSync(path.join(out, PARTS_PENDING_FILE))).toBe(true);
    // the legacy manifest stays where it is (read under either name)
    expect(fs.existsSync(path.join(out, LEGACY_MANIFEST_FILE))).toBe(true);
    const after = tree(out);
    migrateLegacyState(out);
    expect(tree(out)).toEqual(after);
  });

  it('touches nothing in a folder that is not one of its recordings', async () => {
    const out = tmpDir('not-rec');
    fs.mkdirSync(path.join(out, 'journal'));
    fs.writeFileSync(path.join(out, 'journal', 'diary.txt'), 'mine');
    fs.writeFileSync(path.join(out, 'hourly'), 'also mine');
    const before = tree(out);
    migrateLegacyState(out);
    expect(tree(out)).toEqual(before);
    // an imported dataset neither
    const imp = tmpDir('imported');
    const w = new DatasetWriter(imp, { source: { type: 'ws-capture' } });
    w.trade('BTCUSDT', 1_723_161_600_000, 1_723_161_600_000, 1_723_161_600_000, 1, 100, 1, 0, 1, 1);
    await w.close();
    fs.mkdirSync(path.join(imp, 'journal'));
    const b2 = tree(imp);
    migrateLegacyState(imp);
    expect(tree(imp)).toEqual(b2);
  });
});
