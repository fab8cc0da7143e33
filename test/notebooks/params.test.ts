/**
 * notebooks/lib.ts parameters from the environment (FLOWLAB_NB_*) are checked
 * before they name a file: a run tag that is a path is refused with the one-line
 * usage error `nb.cell` shows, before anything is read or written. Files a
 * notebook reads back (a run's manifest) fail the same way, not with a stack.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { ensureCanary, params, rootPath, sweepResults, varianceInflation } from '../../notebooks/lib.js';
import { queryRows, sqlString } from '../../src/io/duck.js';

describe('notebook parameters', () => {
  it.each(['../../../tmp/x', 'nb-/../../x', "nb-x'y", '/abs'])(
    'FLOWLAB_NB_RUN_TAG=%s is refused before it names a folder',
    async (tag) => {
      const p = params({ symbols: ['BTCUSDT'], from: '', hours: 1, runTag: 'nb-default' }, { FLOWLAB_NB_RUN_TAG: tag });
      expect(p.runTag).toBe(tag);
      const datasetBefore = fs.existsSync(rootPath('datasets', 'default'));
      const err = await ensureCanary(p.runTag, { symbols: ['BTCUSDT'], fromMs: 0, toMs: 1 }).catch((e) => e);
      // (lib.ts loads src/ through its own require: the class is another instance of UsageError)
      expect(err).toMatchObject({ name: 'UsageError', exitCode: 2 });
      expect((err as Error).message).toMatch(/^parameter runTag: '.*' is not a valid tag/);
      // refused first: the default dataset was not synthesized for it, no run folder under artifacts/runtime
      expect(fs.existsSync(rootPath('datasets', 'default'))).toBe(datasetBefore);
      expect(fs.existsSync(path.join(rootPath('artifacts', 'runtime'), tag))).toBe(false);
    },
  );
});

describe('notebook loaders', () => {
  it('varianceInflation of a run whose manifest.json is torn: the one-line error nb.cell shows (was a SyntaxError)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-nbload-'));
    try {
      const run = path.join(dir, 'nb-x');
      fs.mkdirSync(run);
      fs.writeFileSync(path.join(run, 'manifest.json'), '{"flowlab_version": "0.1.0", "code_');
      let err: unknown;
      try {
        varianceInflation(run);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ name: 'FlowlabError' });
      expect((err as Error).message).toMatch(/nb-x\/manifest\.json: not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sweepResults: a results row whose shard path leaves the sweep folder is refused (was joined and returned)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-nbsweep-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'sweep.json'),
        JSON.stringify({ flowlab_sweep: 1, spec: { grid: [{ key: 'a.b' }] } }),
      );
      const results = (shard: string) =>
        queryRows(
          `COPY (SELECT 0::BIGINT AS config_index, 'f' AS config_fingerprint, 'BTCUSDT' AS symbol, 1.0 AS grid_a_b,
                  false AS include_in_pool, 0::BIGINT AS auc_train_n, 0::BIGINT AS auc_holdout_n,
                  NULL::BIGINT AS rollback_at_ms, ${sqlString(shard)} AS shard)
           TO ${sqlString(path.join(dir, 'sweep_results.parquet'))} (FORMAT parquet)`,
        );
      await results('shards/0123456789abcdef0123456789abcdef');
      expect((await sweepResults(dir))[0].shard).toBe(path.join(dir, 'shards', '0123456789abcdef0123456789abcdef'));
      await results('../../../etc');
      const err = await sweepResults(dir).catch((e) => e);
      expect(err).toMatchObject({ name: 'UsageError' });
      expect((err as Error).message).toMatch(/path '\.\.\/\.\.\/\.\.\/etc' escapes/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
