import { describe, expect, it } from 'vitest';
import {
  barChart,
  lineChart,
  niceScale,
  percentileChart,
  reliabilityDiagram,
  segments,
  timeTicks,
  timeLabel,
} from '../../src/report/svg.js';
import { checkSvg, count } from './xml.js';

const T0 = Date.UTC(2024, 7, 8, 8, 0, 0);
const MIN = 60_000;

describe('scales', () => {
  it('nice ticks cover the data with 1/2/5 steps', () => {
    expect(niceScale(0.53, 0.67)).toMatchObject({ lo: 0.5, hi: 0.7, ticks: [0.5, 0.55, 0.6, 0.65, 0.7] });
    expect(niceScale(0, 2130, 5).ticks).toEqual([0, 500, 1000, 1500, 2000, 2500]);
    expect(niceScale(3, 3).ticks.length).toBeGreaterThan(1); // a flat range is widened
    expect(niceScale(NaN, NaN)).toMatchObject({ lo: 0, hi: 1 });
    const s = niceScale(-0.013, 0.041);
    expect(s.lo).toBeLessThanOrEqual(-0.013);
    expect(s.hi).toBeGreaterThanOrEqual(0.041);
    for (const t of s.ticks) expect(String(t)).not.toMatch(/0000000|9999999/);
  });

  it('time ticks fall on whole UTC minutes / hours, labels in UTC whatever TZ is', () => {
    const { ticks, step } = timeTicks(T0 + 30_000, T0 + 90 * MIN);
    expect(step).toBe(15 * MIN);
    expect(ticks[0]).toBe(T0 + 15 * MIN);
    expect(ticks.map((t) => timeLabel(t, false))).toEqual(['08:15', '08:30', '08:45', '09:00', '09:15', '09:30']);
    expect(timeLabel(T0, true)).toBe('08-08 08:00');
  });
});

describe('lineChart', () => {
  it('nulls break the line (never drawn as 0); an isolated point is a dot', () => {
    const x = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => T0 + i * MIN);
    const y = [0.6, 0.62, null, 0.59, 0.57, NaN, 0.61, null];
    expect(segments({ x, y }).map((s) => s.length)).toEqual([2, 2, 1]);
    const svg = lineChart({
      title: 'AUC <rolling> & ECE',
      series: [
        { name: 'AUC Active', x, y },
        { name: 'no values', x, y: x.map(() => null) },
      ],
      xTime: true,
      yDomain: [0, 1],
      thresholds: [
        { y: 0.58, label: 'gate 0.58' },
        { y: 0.1, label: 'ECE 0.10' },
      ],
      markers: [{ x: T0 + 3 * MIN, label: 'INC-0001' }],
    });
    expect(checkSvg(svg)).toEqual([]);
    expect(count(svg, /<path class="series"/)).toBe(2);
    expect(count(svg, /data-points="2"/)).toBe(2);
    expect(count(svg, /<circle class="dot"/)).toBe(1);
    expect(count(svg, /<line class="threshold"/)).toBe(2);
    expect(count(svg, /<line class="marker"/)).toBe(1);
    expect(svg).toContain('INC-0001');
    expect(svg).toContain('AUC &lt;rolling&gt; &amp; ECE');
    // y = 0 of the domain is the bottom (y px 294); no point of the data sits there
    const d = [...svg.matchAll(/ d="([^"]+)"/g)].map((m) => m[1]).join(' ');
    expect(d).not.toMatch(/ 294(?:\s|$)/);
    expect(lineChart({ title: 't', series: [{ name: 'a', x, y }], xTime: true })).toBe(
      lineChart({ title: 't', series: [{ name: 'a', x, y }], xTime: true }),
    );
  });

  it('empty input still gives a well-formed chart that says so', () => {
    const svg = lineChart({ title: 'empty', series: [{ name: 'a', x: [], y: [] }], xTime: true });
    expect(checkSvg(svg)).toEqual([]);
    expect(svg).toContain('no data');
    expect(count(svg, /class="series"/)).toBe(0);
  });

  it('step series and a single x value', () => {
    const svg = lineChart({
      title: 's',
      series: [{ name: 'tol', x: [T0, T0 + MIN, T0 + 2 * MIN], y: [1500, 2000, 2000], step: true }],
    });
    expect(checkSvg(svg)).toEqual([]);
    const d = /class="series"[^>]* d="([^"]+)"/.exec(svg)![1];
    expect(count(d, /[ML]/)).toBe(5); // 3 points + 2 step corners
    expect(checkSvg(lineChart({ title: 'one', series: [{ name: 'a', x: [T0], y: [0.6] }], xTime: true }))).toEqual([]);
  });

  it('mismatched lengths throw', () => {
    expect(() => lineChart({ title: 'x', series: [{ name: 'a', x: [1, 2], y: [1] }] })).toThrow(/2 x and 1 y/);
  });
});

describe('barChart', () => {
  it('one rect per non-null bar, error bars where a CI is given, n/a for null', () => {
    const svg = barChart({
      title: 'AUC by slice',
      yDomain: [0, 1],
      bars: [
        { label: 'all', group: 'all', value: 0.6, lo: 0.58, hi: 0.62 },
        { label: 'Active', group: 'regime', value: 0.63, lo: 0.6, hi: 0.66 },
        { label: 'Quiet', group: 'regime', value: null, note: 'n=12' },
        { label: 'Tokyo', group: 'session', value: 0.55 },
      ],
      thresholds: [{ y: 0.58, label: 'gate' }],
    });
    expect(checkSvg(svg)).toEqual([]);
    expect(count(svg, /<rect class="bar"/)).toBe(3);
    expect(count(svg, /<path class="errbar"/)).toBe(2);
    expect(count(svg, /class="na"/)).toBe(1);
    expect(svg).toContain('n=12');
    expect(count(svg, /class="group-label"/)).toBe(3);
  });

  it('no bars', () => {
    const svg = barChart({ title: 'none', bars: [] });
    expect(checkSvg(svg)).toEqual([]);
    expect(svg).toContain('no data');
  });
});

describe('reliabilityDiagram', () => {
  it('a point per non-empty bin, a count bar per bin, the diagonal', () => {
    const bins = Array.from({ length: 10 }, (_, k) => {
      const empty = k === 0 || k === 9;
      return {
        lo: k / 10,
        hi: (k + 1) / 10,
        count: empty ? 0 : 100 + k,
        mean_p: empty ? null : k / 10 + 0.05,
        mean_y: empty ? null : k / 10 + 0.03,
      };
    });
    const svg = reliabilityDiagram({ title: 'ADAUSDT', subtitle: 'ECE 0.020 (n=836)', bins });
    expect(checkSvg(svg)).toEqual([]);
    expect(count(svg, /<circle class="point"/)).toBe(8);
    expect(count(svg, /<rect class="count"/)).toBe(10);
    expect(count(svg, /<line class="diagonal"/)).toBe(1);
    expect(svg).toMatch(/data-points="8"/);
  });

  it('all bins empty', () => {
    const svg = reliabilityDiagram({
      title: 'x',
      bins: [
        { lo: 0, hi: 0.5, count: 0, mean_p: null, mean_y: null },
        { lo: 0.5, hi: 1, count: 0, mean_p: null, mean_y: null },
      ],
    });
    expect(checkSvg(svg)).toEqual([]);
    expect(svg).toContain('no calibrated bins');
  });
});

describe('percentileChart', () => {
  it('three percentile lines plus extras', () => {
    const x = [0, 1, 2, 3].map((i) => T0 + i * MIN);
    const svg = percentileChart({
      title: 'merge',
      x,
      p50: [100, 110, null, 120],
      p90: [400, 420, null, 430],
      p99: [1800, 2100, null, 1900],
      extra: [{ name: 'merge_tol_ms', x, y: [1500, 2000, 2000, 2000], step: true }],
      thresholds: [{ y: 2000, label: 'p99 gate' }],
    });
    expect(checkSvg(svg)).toEqual([]);
    expect(count(svg, /<path class="series"/)).toBe(3 * 1 + 1);
    expect(count(svg, /<circle class="dot"/)).toBe(3);
    for (const n of ['p50', 'p90', 'p99', 'merge_tol_ms']) expect(svg).toContain(`data-series="${n}"`);
  });
});
