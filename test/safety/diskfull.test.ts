/**
 * Full disk: import, replay and canary write into a small tmpfs until ENOSPC.
 *
 * For each command the space it needs is measured on a roomy tmpfs, then it is
 * run again on tmpfs mounts holding a fraction of that space (beside a finished
 * run and a notes file that were there before). Afterwards:
 *   - the command failed with exit 1 and one line naming the full disk (or it fitted: exit 0);
 *   - every file that existed before (on the tmpfs and the inputs) is byte-identical;
 *   - nothing is left behind (a failed command removes what it wrote), and
 *     `verify` (runs) or `replay` and `dq` (datasets) accept nothing there.
 * Needs root (mount); otherwise skipped with the reason printed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYNTH, synthesize } from '../../src/synth/synth.js';
import { replay } from '../../src/replay/replay.js';
import { loadConfig } from '../../src/config/load.js';
import { runCli, REPO } from '../helpers/cli.js';
import { bookTickerMsg, line, T0, tradeMsg, writeGz } from '../import/helpers.js';
import { diffSnapshots, errorLines, snapshot } from './helpers.js';

const PROD = path.join(REPO, 'config/ofi_cvd/prod.yaml');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-diskfull-'));
const mnt = path.join(work, 'mnt');
const inputs = path.join(work, 'inputs');
const ds = path.join(inputs, 'ds');
const capture = path.join(inputs, 'btcusdt_20240808.gz');
let mounted = false;
let skipReason: string | null = null;

function mount(bytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', mnt], { stdio: 'pipe' });
  mounted = true;
}

function umount(): void {
  if (!mounted) return;
  execFileSync('umount', [mnt], { stdio: 'pipe' });
  mounted = false;
}

function usedBytes(): number {
  const s = fs.statfsSync(mnt);
  return (s.blocks - s.bfree) * s.bsize;
}

/** What was on the disk before each command: a finished run and a notes file. */
function seed(): void {
  fs.cpSync(path.join(inputs, 'runs', 'prev'), path.join(mnt, 'prev'), { recursive: true });
  fs.writeFileSync(path.join(mnt, 'notes.txt'), 'keep me\n'.repeat(512));
}

beforeAll(async () => {
  fs.mkdirSync(mnt, { recursive: true });
  if (process.getuid?.() !== 0) skipReason = 'not running as root (mounting a tmpfs needs root)';
  else {
    try {
      mount(1 << 20);
      umount();
    } catch (e) {
      skipReason = `cannot mount a tmpfs here: ${String((e as Error).message).split('\n')[0]}`;
      return;
    }
  }
  if (skipReason) return;
  await synthesize({ ...DEFAULT_SYNTH, symbols: ['BTCUSDT', 'ETHUSDT'], hours: 0.05 }, ds);
  await replay({
    data: ds,
    config: loadConfig(PROD, {}),
    out: path.join(inputs, 'runs'),
    runTag: 'prev',
    symbols: ['ETHUSDT'],
    progress: false,
  });
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = T0 + i * 20;
    lines.push(line(t, tradeMsg('BTCUSDT', i + 1, (60000 + (i % 50)).toFixed(2), '0.01', t)));
    lines.push(line(t + 5, bookTickerMsg('BTCUSDT', i + 1, '59999.00', '1.5', '60001.00', '2.5')));
  }
  writeGz(capture, lines);
}, 300_000);

afterAll(() => {
  try {
    umount();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});

interface Cmd {
  readonly name: string;
  /** Output folder inside the tmpfs. */
  readonly target: string;
  readonly args: (target: string) => string[];
  /** Exit code of each check that must refuse what a failed run left behind. */
  readonly refuse: (target: string) => string[][];
}

const CMDS: Cmd[] = [
  {
    name: 'import',
    target: 'imp',
    args: (t) => ['import', '--format', 'ws-capture', '--in', capture, '--out', t],
    refuse: (t) => [
      ['replay', '--data', t, '--out', path.join(work, 'check'), '--run-tag', 'x'],
      ['dq', '--data', t, '--out', path.join(work, 'check-dq')],
    ],
  },
  {
    name: 'replay',
    target: 'r',
    args: (t) => ['replay', '--data', ds, '--out', path.dirname(t), '--run-tag', path.basename(t)],
    refuse: (t) => [['verify', '--run', t]],
  },
  {
    name: 'canary',
    target: 'c',
    args: (t) => [
      'canary',
      '--data',
      ds,
      '--symbols',
      'BTCUSDT',
      '--out',
      path.dirname(t),
      '--run-tag',
      path.basename(t),
    ],
    refuse: (t) => [['verify', '--run', t]],
  },
];

/** Fractions of the space a command needs that the tmpfs leaves it. */
const FRACTIONS = [0.1, 0.5, 0.9, 0.97, 0.995];
const PAGE = 4096;

describe('full disk (tmpfs)', () => {
  for (const cmd of CMDS) {
    it(`${cmd.name}: ENOSPC loses nothing and leaves nothing that is accepted`, (ctx) => {
      if (skipReason) {
        console.log(`skipped: ${skipReason}`);
        ctx.skip();
        return;
      }
      const target = path.join(mnt, cmd.target);
      // 1. the space it needs, on a roomy tmpfs
      mount(256 << 20);
      seed();
      const seeded = usedBytes();
      const ok = runCli(cmd.args(target));
      expect(ok.code, ok.stderr).toBe(0);
      const need = usedBytes() - seeded;
      umount();
      expect(need).toBeGreaterThan(8 * PAGE);

      let failures = 0;
      const seen: string[] = [];
      for (const f of FRACTIONS) {
        const size = Math.ceil((seeded + need * f) / PAGE) * PAGE;
        mount(size);
        try {
          seed();
          const beforeDisk = snapshot(mnt);
          const beforeInputs = snapshot(inputs);
          const r = runCli(cmd.args(target));
          const what = `${cmd.name} at ${Math.round(f * 100)}% of ${need} bytes: exit ${r.code}, ${r.stderr.slice(-300)}`;
          expect([0, 1], what).toContain(r.code);
          seen.push(
            `${(f * 100).toFixed(1)}%: exit ${r.code}${r.code ? ` (${errorLines(r.stderr)[0]?.replace(mnt, '<tmpfs>').slice(9, 110)})` : ''}`,
          );
          const dDisk = diffSnapshots(beforeDisk, snapshot(mnt));
          const dIn = diffSnapshots(beforeInputs, snapshot(inputs));
          expect([...dDisk.changed, ...dDisk.removed], what).toEqual([]);
          expect([...dIn.changed, ...dIn.removed, ...dIn.added], what).toEqual([]);
          if (r.code === 1) {
            failures++;
            const errs = errorLines(r.stderr);
            expect(errs.length, what).toBe(1);
            expect(errs[0], what).toMatch(/no space left|ENOSPC/i);
            expect(errs[0], what).not.toMatch(/internal error/);
            // a failed command removes what it wrote (a killed one would leave it marked incomplete)
            expect(fs.existsSync(target), what).toBe(false);
            // and nothing under its name is accepted by the commands that read it
            for (const check of cmd.refuse(target)) {
              const c = runCli(check);
              expect(c.code, `${what}\n${check.join(' ')} -> ${c.code} ${c.stdout} ${c.stderr}`).not.toBe(0);
            }
          }
        } finally {
          umount();
        }
      }
      console.log(`${cmd.name} needs ${need} bytes; ${seen.join('; ')}`);
      // the smaller mounts must really have run out of space
      expect(failures).toBeGreaterThanOrEqual(3);
    });
  }
});
