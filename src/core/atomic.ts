/**
 * Durable file writes, the one implementation every command uses for metadata
 * (manifest.json, run_tag.txt, checkpoints, JSON / CSV / markdown reports):
 *
 *   write `<file>.tmp-<pid>`, fsync it, rename over `<file>`, fsync the folder.
 *
 * The temp file is created exclusively ('wx'): a file somebody else left under
 * that name (or one a worker thread of the same process is writing) is never
 * truncated; the next free name `<file>.tmp-<pid>-<n>` is taken instead.
 *
 * A crash or a full disk leaves either the old file or the new one, never a
 * torn one; the temp file is removed when the write fails. Errors are one line
 * naming the file and the cause (ENOSPC included) with exit code 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, describeError } from './errors.js';

/** fsync a folder so a rename inside it is durable (best effort: some file systems refuse). */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* not supported here (e.g. some network or Windows file systems): the rename still happened */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** fsync an existing file's data (used before renaming a finished temp file into place). */
export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The suffix of every temp file `createTempFile` names, as a regular-expression source: `.tmp-<pid>[-<n>]`. */
export const TEMP_SUFFIX_RE = '\\.tmp-\\d+(?:-\\d+)?';

/** How many taken names `createTempFile` steps over before it gives up (a folder full of leftovers). */
const MAX_TEMP_TRIES = 1000;

/**
 * Create a new, empty temp file beside `file` and open it for writing, never
 * touching an existing file: `<file>.tmp-<pid>`, or `<file>.tmp-<pid>-<n>` for
 * the first n >= 1 whose name is free (`hidden`: the same with a leading '.'
 * on the base name, which dataset discovery and `*.parquet` globs skip).
 * The folder must exist. The caller closes `fd` and renames or removes `path`.
 */
export function createTempFile(file: string, opts: { hidden?: boolean } = {}): { path: string; fd: number } {
  const stem = opts.hidden ? path.join(path.dirname(file), `.${path.basename(file)}`) : file;
  for (let n = 0; n < MAX_TEMP_TRIES; n++) {
    const tmp = n === 0 ? `${stem}.tmp-${process.pid}` : `${stem}.tmp-${process.pid}-${n}`;
    try {
      return { path: tmp, fd: fs.openSync(tmp, 'wx') };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new FlowlabError(
    `cannot write '${file}': ${MAX_TEMP_TRIES} temp names '${stem}.tmp-${process.pid}[-<n>]' are taken (remove the leftovers)`,
  );
}

/** Write `data` to `file` atomically and durably (temp + fsync + rename + folder fsync), creating the folder. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  let tmp: string | null = null;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const t = createTempFile(file);
    tmp = t.path;
    const fd = t.fd;
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // only a temp file this call created is removed
    if (tmp !== null)
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
    if (e instanceof FlowlabError) throw e;
    throw new FlowlabError(`cannot write '${file}': ${describeError(e)}`);
  }
  fsyncDir(dir);
}

/**
 * The marker of an unfinished output folder. Written (atomically) before the
 * first output file and removed after the last metadata file is in place, so a
 * crash or a full disk leaves a folder that says it is incomplete: `verify`,
 * `replay` and `dq` refuse it, and a rerun (`--overwrite`) may replace it.
 * The leading `_` keeps Parquet readers (pyarrow, DuckDB hive scans) from
 * taking it for data.
 */
export const INCOMPLETE_MARKER = '_INCOMPLETE';

export function markIncomplete(dir: string, what: string): void {
  writeFileAtomic(
    path.join(dir, INCOMPLETE_MARKER),
    `flowlab ${what} in progress or interrupted: this folder is incomplete; rerun the command (with --overwrite) to replace it\n`,
  );
}

export function isIncomplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, INCOMPLETE_MARKER));
}

/** Remove the marker once every file of the folder is in place (durably). */
export function markComplete(dir: string): void {
  fs.rmSync(path.join(dir, INCOMPLETE_MARKER), { force: true });
  fsyncDir(dir);
}
