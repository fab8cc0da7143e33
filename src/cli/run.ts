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
      const sys = e instanceof FlowlabError ? null : systemError(e);
      if (e instanceof FlowlabError || sys) {
        const fe = (sys ?? e) as FlowlabError;
        process.stderr.write(`flowlab: ${fe.message}\n`);
        lastExit = fe.exitCode;
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

/**
 * Operating-system errors a user can act on, as one clear line instead of
 * "internal error": a path that is not what it should be, or a busy port, is a
 * usage error (2); a full, read-only or failing disk is a failure (1).
 */
const SYSTEM_ERRORS: Readonly<Record<string, { exit: 1 | 2; what: string }>> = {
  ENOTDIR: { exit: 2, what: 'a path component is a file, not a directory' },
  EISDIR: { exit: 2, what: 'a directory where a file was expected' },
  ENOENT: { exit: 2, what: 'no such file or directory' },
  EEXIST: { exit: 2, what: 'already exists' },
  EACCES: { exit: 2, what: 'permission denied' },
  EPERM: { exit: 2, what: 'operation not permitted' },
  ENAMETOOLONG: { exit: 2, what: 'file name too long' },
  ELOOP: { exit: 2, what: 'too many symbolic links' },
  EADDRINUSE: { exit: 2, what: 'the port is already in use (choose another port)' },
  EADDRNOTAVAIL: { exit: 2, what: 'the address is not available on this machine' },
  ENOSPC: { exit: 1, what: 'no space left on the device' },
  EDQUOT: { exit: 1, what: 'disk quota exceeded' },
  EROFS: { exit: 1, what: 'read-only file system' },
  EIO: { exit: 1, what: 'input/output error' },
  EMFILE: { exit: 1, what: 'too many open files' },
};

export function systemError(e: unknown): FlowlabError | null {
  const err = e as {
    code?: unknown;
    syscall?: unknown;
    path?: unknown;
    dest?: unknown;
    port?: unknown;
    address?: unknown;
  };
  const code = typeof err?.code === 'string' ? err.code : null;
  const known = code ? SYSTEM_ERRORS[code] : undefined;
  if (!known) {
    // DuckDB reports OS errors in its message text, not as a code
    const msg = describeError(e);
    if (/no space left on device/i.test(msg)) return new FlowlabError(`no space left on the device: ${msg}`, 1);
    return null;
  }
  const where =
    typeof err.path === 'string'
      ? ` '${err.path}'${typeof err.dest === 'string' ? ` -> '${err.dest}'` : ''}`
      : err.port !== undefined
        ? ` ${typeof err.address === 'string' ? err.address : '127.0.0.1'}:${String(err.port)}`
        : '';
  const op = typeof err.syscall === 'string' ? `${err.syscall}` : 'operation';
  return new FlowlabError(`${op}${where}: ${known.what} (${code})`, known.exit);
}
