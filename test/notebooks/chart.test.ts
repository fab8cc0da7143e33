/**
 * The notebooks' chart helper writes titles the way plotly.js renders them
 * (`title: { text }` on the chart and on every axis), a legend for two or
 * more traces, stacked panels on their own y axes, and refuses a chart
 * without a title, an axis title or a trace name.
 */
import { describe, expect, it } from 'vitest';
import { axisTitles, figure } from '../../notebooks/chart.js';

const line = (name: string, panel?: number) => ({ name, x: [1, 2], y: [3, 4], type: 'scatter', panel });

describe('notebook chart helper', () => {
  it('titles and axis titles as { text }, legend below for 2+ traces', () => {
    const f = figure({
      title: 'AUC over time',
      x: { title: 'time (UTC)', type: 'date' },
      y: { title: 'AUC' },
      traces: [line('a'), line('b')],
    });
    expect(f.layout.title).toEqual({ text: 'AUC over time', x: 0.01, xanchor: 'left' });
    expect(axisTitles(f)).toEqual({ xaxis: 'time (UTC)', yaxis: 'AUC' });
    expect(f.layout.showlegend).toBe(true);
    expect((f.layout.xaxis as { type: string }).type).toBe('date');
    expect(f.data.map((d) => d.name)).toEqual(['a', 'b']);
    expect(f.data.every((d) => !('panel' in d) && !('yaxis' in d))).toBe(true);
    const one = figure({ title: 't', x: { title: 'x' }, y: { title: 'y' }, traces: [line('only')] });
    expect(one.layout.showlegend).toBe(false);
  });

  it('stacked panels: one titled y axis each, traces mapped to y2.., taller figure', () => {
    const f = figure({
      title: 'four panels',
      x: { title: 'time' },
      y: [{ title: 'price' }, { title: 'OFI' }, { title: 'CVD' }, { title: 'score' }],
      traces: [line('price', 0), line('OFI', 1), line('CVD', 2), line('score', 3)],
    });
    expect(axisTitles(f)).toEqual({ xaxis: 'time', yaxis: 'price', yaxis2: 'OFI', yaxis3: 'CVD', yaxis4: 'score' });
    expect(f.data.map((d) => d.yaxis)).toEqual([undefined, 'y2', 'y3', 'y4']);
    expect(f.layout.grid).toMatchObject({ rows: 4, columns: 1, pattern: 'coupled' });
    expect(f.layout.height).toBe(420 + 3 * 160);
    // the JSON a notebook embeds round-trips
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
  });

  it('array ticks: labels at given values (config names under dodged points)', () => {
    const f = figure({
      title: 'held-out AUC per config',
      x: { title: 'config', ticks: { values: [0, 1], labels: ['ofi=0.3', 'ofi=0.7'] } },
      y: { title: 'AUC' },
      traces: [line('a')],
    });
    expect(f.layout.xaxis).toMatchObject({ tickmode: 'array', tickvals: [0, 1], ticktext: ['ofi=0.3', 'ofi=0.7'] });
    expect(() =>
      figure({
        title: 't',
        x: { title: 'x', ticks: { values: [0, 1], labels: ['a'] } },
        y: { title: 'y' },
        traces: [],
      }),
    ).toThrow(/x axis has 2 tick values and 1 labels/);
  });

  it('refuses what would render unlabelled', () => {
    const ok = { title: 't', x: { title: 'x' }, y: { title: 'y' }, traces: [line('a'), line('b')] };
    expect(() => figure({ ...ok, title: ' ' })).toThrow(/no title/);
    expect(() => figure({ ...ok, x: { title: '' } })).toThrow(/x axis has no title/);
    expect(() => figure({ ...ok, y: [{ title: 'a' }, { title: '' }] })).toThrow(/y axis 2 has no title/);
    expect(() => figure({ ...ok, traces: [line('a'), line('')] })).toThrow(/every trace needs a name/);
    expect(() => figure({ ...ok, traces: [line('a', 1)] })).toThrow(/panel 1 of 1/);
  });
});
