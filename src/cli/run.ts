/**
 * Shared CLI plumbing: every command's action goes through `action()`, which
 * turns errors into one line on stderr and an exit code (0 ok, 1 failure,
 * 2 usage/config), never a stack trace.
 */
import path from 'node:path';
import { FlowlabError, describeError } from '../core/errors.js';

export type ExitCode = 0 | 1 | 2;

let lastExit: ExitCode = 0;
let lastThrew = false;
let noDoneLine = false;

export function getExit(): ExitCode {
  return lastExit;
}

export function setExit(code: ExitCode): void {
  lastExit = code;
  lastThrew = false;
  noDoneLine = false;
}

/** The command printed a document on stdout (JSON, markdown): no "done in" line after it. */
export function documentOnStdout(): void {
  noDoneLine = true;
}

/** Whether the "done in" line is left out (see documentOnStdout). */
export function doneLineSuppressed(): boolean {
  return noDoneLine;
}

/** The last command body ended in an error (printed), not in a result. */
export function threw(): boolean {
  return lastThrew;
}

/** Wrap a command body; its resolved number (default 0) becomes the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      lastThrew = false;
      const code = await fn(...args);
      lastExit = (code ?? 0) as ExitCode;
    } catch (e) {
      lastThrew = true;
      if (e instanceof FlowlabError) {
        process.stderr.write(`flowlab: ${e.message}\n`);
        lastExit = e.exitCode;
      } else {
        process.stderr.write(`flowlab: internal error: ${describeError(e)}\n`);
        if (process.env.FLOWLAB_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
        lastExit = 1;
      }
    }
  };
}

/** The "Example(s):" block every command's `--help` ends with. */
export function examples(...lines: string[]): string {
  return `\n${lines.length > 1 ? 'Examples' : 'Example'}:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/**
 * A resolved path under one the user gave (`given`), printed the way it was
 * given: absolute stays absolute, relative stays relative to the working folder.
 */
export function shown(given: string, resolved: string): string {
  return path.isAbsolute(given) ? resolved : path.relative(process.cwd(), resolved) || '.';
}

/** Print to stdout (one place, so tests can capture). */
export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
