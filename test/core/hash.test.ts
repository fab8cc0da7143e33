import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/core/hash.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-hash-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Deterministic bytes (no randomness): a counter through sha256, block after block. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  for (let o = 0, k = 0; o < n; k++) {
    const b = crypto.createHash('sha256').update(`${seed}:${k}`).digest();
    o += b.copy(out, o);
  }
  return out;
}

describe('sha256File (reused read buffers)', () => {
  it('equals the one-shot hash of the bytes for empty, small, exact-buffer and multi-buffer files, also when calls overlap', async () => {
    const sizes = [0, 1, 1000, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 7];
    const files = sizes.map((n, i) => {
      const f = path.join(dir, `f${i}.bin`);
      fs.writeFileSync(f, bytes(n, i));
      return f;
    });
    const expected = files.map((f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex'));
    // one at a time, then all at once (overlapping calls must not share a buffer), twice
    for (let rep = 0; rep < 2; rep++) {
      const seq: string[] = [];
      for (const f of files) seq.push(await sha256File(f));
      expect(seq).toEqual(expected);
      expect(await Promise.all([...files, ...files].map((f) => sha256File(f)))).toEqual([...expected, ...expected]);
    }
  });

  it('rejects a missing file and still hashes correctly afterwards', async () => {
    await expect(sha256File(path.join(dir, 'missing.bin'))).rejects.toThrow(/ENOENT/);
    const f = path.join(dir, 'after.bin');
    fs.writeFileSync(f, bytes(5000, 99));
    expect(await sha256File(f)).toBe(crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex'));
  });
});
