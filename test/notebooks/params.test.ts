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
import { ensureCanary, params, rootPath, varianceInflation } from '../../notebooks/lib.js';

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
});
