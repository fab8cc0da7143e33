import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expandGrid, parseGridArg, writeOverlays } from '../../src/sweep/grid.js';
import { loadConfig } from '../../src/config/load.js';
import { parseHoldout } from '../../src/cli/commands/sweep.js';
import { REPO } from '../helpers/cli.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-grid-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');

describe('sweep grid', () => {
  it('parses lists and inclusive ranges without float drift', () => {
    expect(parseGridArg('fusion.weights.ofi=0.2,0.4,0.6')).toEqual({
      key: 'fusion.weights.ofi',
      values: [0.2, 0.4, 0.6],
    });
    expect(parseGridArg('fusion.weights.ofi=0.1:0.3:0.1').values).toEqual([0.1, 0.2, 0.3]);
    expect(parseGridArg('a.b=0:1:0.25').values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseGridArg('a.b=1:2:0.3').values).toEqual([1, 1.3, 1.6, 1.9]);
    expect(parseGridArg('a.b=true,false').values).toEqual([true, false]);
  });

  it.each([
    ['fusion.weights.ofi', 'KEY=a,b,c'],
    ['=1,2', 'KEY=a,b,c'],
    ['Fusion.W=1', 'dotted config path'],
    ['a.b=1:0:0.1', 'below lo'],
    ['a.b=0:1:0', 'must be > 0'],
    ['a.b=0:1:0.00001', 'at most'],
    ['a.b=1,1', 'listed twice'],
    ["a.b=x';drop", 'plain word'],
    ['a.b=1e400', 'finite'],
    ['extends=x', 'cannot be swept'],
  ])('refuses %s', (arg, frag) => {
    expect(() => parseGridArg(arg)).toThrow(frag);
  });

  it('expands the product in --grid order, last axis fastest', () => {
    const pts = expandGrid([parseGridArg('a.x=1,2'), parseGridArg('a.y=10,20,30')]);
    expect(pts.map((p) => p.assignments.map(([, v]) => v))).toEqual([
      [1, 10],
      [1, 20],
      [1, 30],
      [2, 10],
      [2, 20],
      [2, 30],
    ]);
    expect(() => expandGrid([parseGridArg('a.x=1'), parseGridArg('a.x=2')])).toThrow('twice');
    expect(() => expandGrid([parseGridArg('a=1'), parseGridArg('a.x=2')])).toThrow('overlap');
  });

  it('writes one overlay per point that extends the base, each with its own fingerprint', () => {
    const dir = path.join(tmp, 'cfg1');
    const cs = writeOverlays(PROD, expandGrid([parseGridArg('fusion.weights.ofi=0.3,0.7')]), dir);
    expect(cs).toHaveLength(2);
    expect(cs[0].config.config.fusion.weights.ofi).toBe(0.3);
    expect(cs[1].config.config.fusion.weights.ofi).toBe(0.7);
    expect(cs[0].config.fingerprint).not.toBe(cs[1].config.fingerprint);
    // the base is the rollback target: the overlay's chain names it
    expect(cs[0].config.files[0]).toBe(path.resolve(PROD));
    const base = loadConfig(PROD, {});
    expect(cs[0].config.config.fusion.weights.cvd).toBe(base.config.fusion.weights.cvd);
  });

  it('names a key the config does not have and a value it refuses', () => {
    const pts = (g: string) => expandGrid([parseGridArg(g)]);
    expect(() => writeOverlays(PROD, pts('fusion.wieghts.ofi=0.3,0.7'), path.join(tmp, 'c2'))).toThrow(
      "'fusion.wieghts.ofi' is not a key",
    );
    expect(() => writeOverlays(PROD, pts('fusion.weights.ofi=abc,0.5'), path.join(tmp, 'c3'))).toThrow(
      /--grid point 0 \(fusion.weights.ofi=abc\).*fusion.weights.ofi/,
    );
  });

  it.each(['__proto__', 'constructor.name', 'fusion.constructor', 'fusion.weights.__proto__'])(
    'refuses %s: an inherited property is not a config key (__proto__=1 ran the base config as a grid point)',
    (key) => {
      const dir = path.join(tmp, `proto-${key}`);
      expect(() => writeOverlays(PROD, expandGrid([parseGridArg(`${key}=1`)]), dir)).toThrow(
        `'${key}' is not a key of the config`,
      );
      expect(fs.existsSync(dir) ? fs.readdirSync(dir) : []).toEqual([]);
    },
  );

  it('parses --holdout', () => {
    expect(parseHoldout('30%')).toBe(0.3);
    expect(parseHoldout('0.25')).toBe(0.25);
    expect(parseHoldout('off')).toBe(0);
    expect(() => parseHoldout('95%')).toThrow('90%');
    expect(() => parseHoldout('abc')).toThrow('percentage');
  });
});
