/**
 * _checkpoint.json goes through the one durable-write helper (src/core/atomic.ts
 * writeFileAtomic: temp + fsync + rename + folder fsync): a failed write is a
 * one-line FlowlabError naming the file, leaves no temp file and keeps what
 * was there; a good one reads back. Reads check the shape first: a wrong one
 * is a one-line error naming the key, before any dedup state is restored.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowlabError } from '../../src/core/errors.js';
import { CHECKPOINT_FILE, type CheckpointFile, readCheckpointFile, writeCheckpointFile } from '../../recorder/store.js';
import { TradeIds } from '../../recorder/trade-ids.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-ckfile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ck: CheckpointFile = {
  version: 2,
  journal_seq: 41,
  next_recv_seq: 1234,
  written_at_ms: 1723075200000,
  trade_ids: { BTCUSDT: { floor: 10, contiguous: 20, above: [22, 25] } },
  last_ids: { BTCUSDT: 25 },
  depth_books: {},
};

describe('_checkpoint.json writes', () => {
  it('writes the checkpoint as one JSON line that reads back, no temp file left', () => {
    const out = path.join(tmp, 'ok');
    fs.mkdirSync(out);
    writeCheckpointFile(out, ck);
    const file = path.join(out, CHECKPOINT_FILE);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${JSON.stringify(ck)}\n`);
    expect(fs.readdirSync(out)).toEqual([CHECKPOINT_FILE]);
    const back = readCheckpointFile(out, () => {});
    expect(back?.journalSeq).toBe(41);
    expect(back?.ck.trade_ids).toEqual(ck.trade_ids);
  });

  it('a failed write is a FlowlabError naming the file; the temp file is removed and the old content kept', () => {
    const out = path.join(tmp, 'fail');
    fs.mkdirSync(out);
    // a folder where the checkpoint goes: the rename over it fails
    const blocker = path.join(out, CHECKPOINT_FILE);
    fs.mkdirSync(blocker);
    fs.writeFileSync(path.join(blocker, 'keep.txt'), 'kept');
    let err: unknown;
    try {
      writeCheckpointFile(out, ck);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FlowlabError);
    expect((err as Error).message).toContain(`cannot write '${blocker}'`);
    expect((err as Error).message.split('\n')).toHaveLength(1);
    expect(fs.readdirSync(out)).toEqual([CHECKPOINT_FILE]);
    expect(fs.readFileSync(path.join(blocker, 'keep.txt'), 'utf8')).toBe('kept');
  });
});

describe('_checkpoint.json reads', () => {
  const readWith = (name: string, text: string) => {
    const out = path.join(tmp, name);
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, CHECKPOINT_FILE), text);
    return () => readCheckpointFile(out, () => {});
  };

  it('a checkpoint of the wrong shape is a one-line FlowlabError naming the file and key, before any state is used', () => {
    const cases: [string, unknown, RegExp][] = [
      ['null', null, /key \(root\)/],
      [
        'floor-string',
        { ...ck, trade_ids: { BTCUSDT: { floor: '10', contiguous: 20, above: [] } } },
        /key trade_ids\.BTCUSDT\.floor/,
      ],
      [
        'above-not-array',
        { ...ck, trade_ids: { BTCUSDT: { floor: 10, contiguous: 20, above: 22 } } },
        /key trade_ids\.BTCUSDT\.above/,
      ],
      ['last-id-fraction', { ...ck, last_ids: { BTCUSDT: 2.5 } }, /key last_ids\.BTCUSDT/],
      ['version-9', { ...ck, version: 9 }, /key version/],
      ['journal-seq-string', { ...ck, journal_seq: '41' }, /key journal_seq/],
    ];
    for (const [name, json, key] of cases) {
      let err: unknown;
      try {
        readWith(name, JSON.stringify(json))();
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(FlowlabError);
      const msg = (err as Error).message;
      expect(msg.split('\n'), name).toHaveLength(1);
      expect(msg, name).toContain(`checkpoint '${path.join(tmp, name, CHECKPOINT_FILE)}'`);
      expect(msg, name).toMatch(key);
    }
  });

  it('an older checkpoint (version 1, no depth books) and an id memory that saw no id (NaN written as null) read back', () => {
    const v1 = {
      version: 1,
      journal_seq: 7,
      trade_ids: { ETHUSDT: { floor: null, contiguous: null, above: [] } },
      last_ids: {},
    };
    const back = readWith('v1', JSON.stringify(v1))();
    expect(back?.journalSeq).toBe(7);
    expect(back?.books).toBeNull();
    expect(back?.ck.trade_ids.ETHUSDT).toEqual({ floor: null, contiguous: null, above: [] });
    // restored, it is a fresh memory: the first id opens no gap (null read as 0 made it one)
    const ids = TradeIds.from(back!.ck.trade_ids.ETHUSDT);
    expect(ids.add(5000, 0)).toBe(false);
    expect(ids.has(5000)).toBe(true);
    expect(ids.above.size).toBe(0);
  });
});
