/**
 * Every kind of report chart renders to a PNG with rsvg-convert (librsvg, as
 * GitHub-size images): the SVG is valid for a real renderer, not only for our
 * XML checks. rsvg-convert comes from librsvg2-bin (scripts/setup-services.sh);
 * in CI a missing renderer is a failure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderRampReport } from '../../src/report/ramp.js';
import { writeFixture } from './fixture.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-png-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const hasRsvg = spawnSync('rsvg-convert', ['--version']).status === 0;
if (process.env.CI === 'true' && !hasRsvg)
  throw new Error(
    'rsvg-convert is not installed (librsvg2-bin: bash scripts/setup-services.sh); CI renders the charts',
  );

/** Width and height from a PNG's IHDR chunk. */
function pngSize(b: Buffer): { w: number; h: number } {
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { w: b.readUInt32BE(16), h: b.readUInt32BE(20) };
}

describe.skipIf(!hasRsvg)(`report charts as PNG${hasRsvg ? '' : ' (skipped: rsvg-convert not installed)'}`, () => {
  it('each chart kind (rolling, merge, AUC by slice, reliability) renders at its own size', () => {
    const dir = path.join(tmp, 'canary_report');
    writeFixture(dir, { reliability: true });
    const { files } = renderRampReport(dir);
    const kinds = ['rolling_', 'merge_', 'auc_slices_', 'reliability_'];
    for (const k of kinds) {
      const svg = files.find((f) => f.startsWith(`charts/${k}`));
      expect(svg, k).toBeDefined();
      const src = path.join(dir, svg!);
      const png = path.join(tmp, `${path.basename(svg!, '.svg')}.png`);
      const r = spawnSync('rsvg-convert', ['-o', png, src], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const b = fs.readFileSync(png);
      const viewBox = /viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)"/.exec(fs.readFileSync(src, 'utf8'))!;
      expect(pngSize(b)).toEqual({ w: Math.ceil(Number(viewBox[1])), h: Math.ceil(Number(viewBox[2])) });
      expect(b.length, k).toBeGreaterThan(5_000); // drawn, not blank
    }
  });
});
