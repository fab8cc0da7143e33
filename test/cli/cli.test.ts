/**
 * The CLI's shared surface: --version, an example in every command's --help
 * (naming only options the command has), required options marked and all
 * missing ones reported at once, paths printed as given, the "done in" line,
 * and the progress bar (drawn only when asked or on a terminal).
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildProgram } from '../../src/cli/main.js';
import { shown } from '../../src/cli/run.js';
import { progressBar } from '../../src/core/progress.js';
import { REPO } from '../helpers/cli.js';
import { flowlab as cli } from '../helpers/flowlab.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const COMMAND_NAMES = buildProgram().commands.map((c) => c.name());

describe('flowlab CLI', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it('the command list is the one the README table documents', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(COMMAND_NAMES.length).toBeGreaterThanOrEqual(11);
    for (const name of COMMAND_NAMES) expect(readme).toMatch(new RegExp(`^\\| \`${name}[ \`]`, 'm'));
  });

  it.each(COMMAND_NAMES)('%s --help: an example using only its own options, required options marked', async (name) => {
    const r = await cli([name, '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout;
    const at = help.search(/\nExamples?:\n/);
    expect(at).toBeGreaterThan(0);
    const lines = help
      .slice(at)
      .split('\n')
      .filter((l) => l.startsWith('  flowlab '));
    expect(lines.length).toBeGreaterThan(0);
    const cmd = buildProgram().commands.find((c) => c.name() === name)!;
    const known = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter(Boolean)));
    known.add('--help');
    for (const line of lines) {
      const words = line.replace(/#.*$/, '').trim().split(/\s+/);
      expect(words[1]).toBe(name);
      for (const w of words.filter((x) => x.startsWith('-'))) expect(known, `${name}: ${w}`).toContain(w);
    }
    // every option is listed; the required ones say so
    for (const o of cmd.options) expect(help.split('\n').some((l) => l.trimStart().startsWith(o.flags))).toBe(true);
  });

  it.each([
    ['replay', ['--data', '--out', '--run-tag']],
    ['canary', ['--data', '--run-tag']],
    ['import', ['--format', '--in', '--out']],
    ['dq', []],
    ['config', []],
  ])('%s --help marks exactly its required options', async (name, required) => {
    const help = (await cli([name, '--help'])).stdout;
    const marked = help
      .split('\n')
      .filter((l) => l.includes('(required)'))
      .map((l) => l.trim().split(/[ ,]/)[0]);
    expect(marked).toEqual(required);
  });

  it('every missing required option is reported at once, exit 2, nothing run', async () => {
    const r = await cli(['replay']);
    expect(r.code).toBe(2);
    const first = r.stderr.split('\n')[0];
    expect(first).toBe("error: required options '--data <dataset>', '--out <dir>', '--run-tag <tag>' not specified");
    expect(r.stdout).toBe('');
    const one = await cli(['replay', '--data', 'x', '--out', 'y']);
    expect(one.code).toBe(2);
    expect(one.stderr.split('\n')[0]).toBe("error: required option '--run-tag <tag>' not specified");
    const imp = await cli(['import', '--out', path.join(tmp, 'never')]);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/'--format <format>', '--in <files\.\.\.>' not specified/);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('paths are printed as given: absolute stays absolute, relative stays relative', () => {
    const abs = path.join(tmp, 'runs');
    expect(shown(abs, path.join(abs, 'c1', 'report.md'))).toBe(path.join(abs, 'c1', 'report.md'));
    expect(shown('artifacts/runtime', path.resolve('artifacts/runtime/c1/report.md'))).toBe(
      path.join('artifacts', 'runtime', 'c1', 'report.md'),
    );
    expect(shown('.', process.cwd())).toBe('.');
  });

  it('a command that ran ends with "done in X s" (an absolute --out printed absolute); an error does not', async () => {
    const out = path.join(tmp, 'synth');
    const r = await cli(['synth', '--out', out, '--symbols', 'BTCUSDT', '--hours', '0.02']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(''); // no terminal: no progress bar
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain(` rows to ${out} in `);
    expect(lines.at(-1)).toMatch(/^done in \d+\.\d s$/);
    const again = await cli(['synth', '--out', out, '--symbols', 'BTCUSDT', '--hours', '0.02']);
    expect(again.code).toBe(2);
    expect(again.stdout).toBe('');
    // --json output stays machine-readable: no trailing line
    const dq = await cli(['dq', '--data', out, '--out', path.join(tmp, 'dq'), '--json']);
    expect(dq.code).toBe(0);
    expect(() => JSON.parse(dq.stdout)).not.toThrow();
  });

  it('the progress bar draws on stderr only when enabled, counts with thousands separators', () => {
    let err = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
      err += String(c);
      return true;
    });
    try {
      const quiet = progressBar(false);
      quiet.start('replay', 10, 'ticks');
      quiet.update(5);
      quiet.stop();
      expect(err).toBe('');
      const bar = progressBar(true);
      bar.start('replay', 1_234_567, 'ticks');
      bar.update(1_000_000);
      bar.stop();
    } finally {
      spy.mockRestore();
    }
    expect(err).toContain('replay');
    expect(err).toContain('1,000,000/1,234,567 ticks');
  });
});
