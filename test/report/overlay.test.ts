import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { weightOverlayYaml, writeWeightOverlay } from '../../src/report/overlay.js';
import { REPO } from '../helpers/cli.js';

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-overlay-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('writeWeightOverlay', () => {
  it('extends the base by a relative path and sets fusion.slice_overrides; loadConfig reads it', () => {
    const file = path.join(tmp, 'runs', 'r1', 'weights.yaml');
    const text = writeWeightOverlay(
      file,
      PROD,
      [
        { slice: 'Quiet', w_ofi: 0.45, w_cvd: 0.55 },
        { slice: 'Active', w_ofi: 0.8, w_cvd: 0.2 },
        { slice: 'NY', w_ofi: 1 / 3, w_cvd: -0 },
      ],
      { source: 'canary run R1, verdicts.json weights for ADAUSDT' },
    );
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(text).toMatch(/^# flowlab slice-weight overlay/);
    expect(text).toContain('# source: canary run R1, verdicts.json weights for ADAUSDT');
    const rel = path.relative(path.dirname(file), PROD).split(path.sep).join('/');
    expect(text).toContain(`extends: "${rel}"`);
    expect(text).toContain(
      '    Active: { ofi: 0.8, cvd: 0.2 }\n    NY: { ofi: 0.3333333333333333, cvd: 0 }\n    Quiet: { ofi: 0.45, cvd: 0.55 }\n',
    );

    const loaded = loadConfig(file, {});
    const base = loadConfig(PROD, {});
    expect(loaded.files).toEqual([path.resolve(PROD), path.resolve(file)]);
    expect(loaded.config.fusion.slice_overrides).toEqual({
      Active: { ofi: 0.8, cvd: 0.2 },
      Quiet: { ofi: 0.45, cvd: 0.55 },
      NY: { ofi: 1 / 3, cvd: 0 },
    });
    // everything else is the base
    expect({ ...loaded.config, fusion: { ...loaded.config.fusion, slice_overrides: {} } }).toEqual({
      ...base.config,
      fusion: { ...base.config.fusion, slice_overrides: {} },
    });
    expect(loaded.fingerprint).not.toBe(base.fingerprint);
  });

  it('base slices the overlay does not name are kept (deep merge); same inputs give the same bytes', () => {
    const file = path.join(tmp, 'q.yaml');
    const a = writeWeightOverlay(file, PROD, [{ slice: 'Quiet', w_ofi: 0.5, w_cvd: 0.5 }]);
    const b = writeWeightOverlay(file, PROD, [{ slice: 'Quiet', w_ofi: 0.5, w_cvd: 0.5 }]);
    expect(a).toBe(b);
    expect(a).toContain('# source: not stated');
    expect(loadConfig(file, {}).config.fusion.slice_overrides).toEqual({
      Active: { ofi: 0.7, cvd: 0.3 },
      Quiet: { ofi: 0.5, cvd: 0.5 },
    });
  });

  it('a base in the same folder gets ./', () => {
    const base = path.join(tmp, 'base.yaml');
    fs.writeFileSync(base, 'fusion:\n  weights: { ofi: 0.5, cvd: 0.5 }\n');
    const text = writeWeightOverlay(path.join(tmp, 'o.yaml'), base, [{ slice: 'Active', w_ofi: 0.9, w_cvd: 0.1 }]);
    expect(text).toContain('extends: "./base.yaml"');
    const c = loadConfig(path.join(tmp, 'o.yaml'), {}).config;
    expect(c.fusion.weights).toEqual({ ofi: 0.5, cvd: 0.5 });
    expect(c.fusion.slice_overrides.Active).toEqual({ ofi: 0.9, cvd: 0.1 });
  });

  it('a relative base is found from the working directory or else from the overlay folder; missing is an error', () => {
    const dir = path.join(tmp, 'deep', 'run');
    fs.mkdirSync(dir, { recursive: true });
    const relToOverlay = path.relative(dir, PROD); // as the canary passes it
    const file = path.join(dir, 'slice_weights.yaml');
    writeWeightOverlay(file, relToOverlay, [{ slice: 'Active', w_ofi: 0.65, w_cvd: 0.35 }]);
    expect(loadConfig(file, {}).config.fusion.slice_overrides.Active).toEqual({ ofi: 0.65, cvd: 0.35 });
    const relToCwd = path.relative(process.cwd(), PROD);
    expect(writeWeightOverlay(file, relToCwd, [{ slice: 'Active', w_ofi: 0.65, w_cvd: 0.35 }])).toContain(
      `extends: "${relToOverlay.split(path.sep).join('/')}"`,
    );
    expect(() => writeWeightOverlay(file, 'no/such/base.yaml', [{ slice: 'Active', w_ofi: 1, w_cvd: 0 }])).toThrow(
      /base config 'no\/such\/base\.yaml' not found/,
    );
  });

  it('rejects bad input before writing', () => {
    expect(() => weightOverlayYaml('./b.yaml', [])).toThrow(/no weights/);
    expect(() => weightOverlayYaml('./b.yaml', [{ slice: 'Q3+', w_ofi: 1, w_cvd: 0 }])).toThrow(
      /slice 'Q3\+' is not allowed/,
    );
    expect(() => weightOverlayYaml('./b.yaml', [{ slice: 'A', w_ofi: NaN, w_cvd: 0 }])).toThrow(/A\.w_ofi = NaN/);
    expect(() => weightOverlayYaml('./b.yaml', [{ slice: 'A', w_ofi: 1, w_cvd: 11 }])).toThrow(/\[-10, 10\]/);
    expect(() =>
      weightOverlayYaml('./b.yaml', [
        { slice: 'A', w_ofi: 1, w_cvd: 0 },
        { slice: 'A', w_ofi: 1, w_cvd: 0 },
      ]),
    ).toThrow(/given twice/);
    expect(() => writeWeightOverlay(PROD, PROD, [{ slice: 'A', w_ofi: 1, w_cvd: 0 }])).toThrow(/overwrite its base/);
  });
});
