/**
 * Killed mid-write (SIGKILL as soon as the output folder exists): what is left
 * is marked _INCOMPLETE and refused by its readers, and a rerun replaces it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCOMPLETE_MARKER } from '../../src/core/atomic.js';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/synth.js';
import { REPO, runCli } from '../helpers/cli.js';
import { bookTickerMsg, line, T0, tradeMsg, writeGz } from '../import/helpers.js';
import { snapshot } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-crash-'));
const ds = path.join(tmp, 'ds');
const capture = path.join(tmp, 'btcusdt_20240808.gz');

beforeAll(async () => {
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'ETHUSDT'], hours: 0.5 }, ds);
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) {
    const t = T0 + i * 10;
    lines.push(line(t, tradeMsg('BTCUSDT', i + 1, (60000 + (i % 50)).toFixed(2), '0.01', t)));
    lines.push(line(t + 5, bookTickerMsg('BTCUSDT', i + 1, '59999.00', '1.5', '60001.00', '2.5')));
  }
  writeGz(capture, lines);
}, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Start `flowlab <args>`, SIGKILL it as soon as `marker` exists; resolves with how it ended. */
function killWhenMarked(args: string[], marker: string): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/flowlab.mjs'), ...args], {
      cwd: REPO,
      stdio: 'ignore',
    });
    let killed = false;
    const poll = setInterval(() => {
      if (fs.existsSync(marker)) {
        killed = child.kill('SIGKILL');
        clearInterval(poll);
      }
    }, 2);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ killed, code });
    });
  });
}

describe('SIGKILL mid-write', () => {
  it('replay: the folder left is marked incomplete, verify refuses it, a rerun with --overwrite replaces it', async () => {
    const runDir = path.join(tmp, 'runs', 'k');
    const before = snapshot(ds);
    const r = await killWhenMarked(
      ['replay', '--data', ds, '--out', path.dirname(runDir), '--run-tag', 'k'],
      path.join(runDir, INCOMPLETE_MARKER),
    );
    expect(r.killed).toBe(true);
    expect(fs.existsSync(path.join(runDir, INCOMPLETE_MARKER))).toBe(true);
    const v = runCli(['verify', '--run', runDir]);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(/is incomplete \(_INCOMPLETE/);
    const again = runCli(['replay', '--data', ds, '--out', path.dirname(runDir), '--run-tag', 'k', '--overwrite']);
    expect(again.code, again.stderr).toBe(0);
    expect(fs.existsSync(path.join(runDir, INCOMPLETE_MARKER))).toBe(false);
    expect(runCli(['verify', '--run', runDir]).code).toBe(0);
    expect(snapshot(ds)).toEqual(before);
  });

  it('import: the dataset left is marked incomplete, replay and dq refuse it, a rerun into it replaces it', async () => {
    const out = path.join(tmp, 'imp');
    const r = await killWhenMarked(
      ['import', '--format', 'ws-capture', '--in', capture, '--out', out],
      path.join(out, INCOMPLETE_MARKER),
    );
    expect(r.killed).toBe(true);
    expect(fs.existsSync(path.join(out, INCOMPLETE_MARKER))).toBe(true);
    for (const args of [
      ['replay', '--data', out, '--out', path.join(tmp, 'runs'), '--run-tag', 'x'],
      ['dq', '--data', out, '--out', path.join(tmp, 'dq')],
    ]) {
      const c = runCli(args);
      expect(c.code, args[0]).toBe(1);
      expect(c.stderr).toMatch(/dataset '.*imp' is incomplete/);
    }
    const again = runCli(['import', '--format', 'ws-capture', '--in', capture, '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/BTCUSDT\s+trades\s+60000\s+quotes\s+60000/);
    expect(fs.existsSync(path.join(out, INCOMPLETE_MARKER))).toBe(false);
    expect(runCli(['dq', '--data', out, '--out', path.join(tmp, 'dq')]).code).toBe(0);
  });
});
