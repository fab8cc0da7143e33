/**
 * _checkpoint.json goes through the one durable-write helper (src/core/atomic.ts
 * writeFileAtomic: temp + fsync + rename + folder fsync): a failed write is a
 * one-line FlowlabError naming the file, leaves no temp file and keeps what
 * was there; a good one reads back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowlabError } from '../../src/core/errors.js';
import { CHECKPOINT_FILE, type CheckpointFile, readCheckpointFile, writeCheckpointFile } from '../../recorder/store.js';

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
