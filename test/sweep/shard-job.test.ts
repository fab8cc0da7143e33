/**
 * A sweep shard job arrives from Redis (any machine on the queue) or the local
 * pool: runShard checks every field before it names a file, and a malformed or
 * hostile job fails with one line naming the key, writing nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runShard, type ShardJob } from '../../src/sweep/shard.js';
import { FlowlabError } from '../../src/core/errors.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-shardjob-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const good: ShardJob = {
  id: '0123456789abcdef0123456789abcdef',
  data: path.join(tmp, 'ds'),
  configFile: path.join(REPO, 'config/ofi_cvd/prod.yaml'),
  configFingerprint: '0123456789abcdef',
  symbol: 'BTCUSDT',
  fromMs: null,
  toMs: null,
  out: path.join(tmp, 'sweep'),
};

describe('sweep shard jobs', () => {
  it.each([
    ['out relative (written under the worker’s working folder)', { out: 'x/../../y' }, /out: an absolute path/],
    ['out with a quote', { out: `${tmp}/a'b` }, /out: an absolute path without quotes/],
    ['out not a string', { out: 5 }, /out: /],
    ['data with a NUL', { data: `${tmp}/d\0x` }, /data: an absolute path/],
    ['configFile relative', { configFile: '../../etc/x.yaml' }, /configFile: an absolute path/],
    ['symbol a path', { symbol: '../x' }, /symbol: a symbol/],
    ['id a path', { id: '../../x' }, /id: a shard id/],
    ['fromMs a string', { fromMs: '0' }, /fromMs: /],
    ['an extra key', { extra: 1 }, /Unrecognized key/],
  ])('refuses a job with %s', async (_what, edit, msg) => {
    const err = await runShard({ ...good, ...edit } as unknown as ShardJob).catch((e) => e);
    expect(err).toBeInstanceOf(FlowlabError);
    expect((err as Error).message).toMatch(/^shard job [^\n]*: /);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
    expect(fs.readdirSync(tmp)).toEqual([]); // nothing written anywhere under it
  });

  it('refuses a job that is not an object', async () => {
    await expect(runShard(null as unknown as ShardJob)).rejects.toThrow(/^shard job \?: \(root\): /);
  });
});
