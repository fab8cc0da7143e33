/**
 * Streamed text lines from a capture or CSV file, plain, gzip or zip.
 *
 * The container is sniffed from the first bytes, not the file name:
 * `1f 8b` = gzip (concatenated members allowed), `PK\3\4` = zip (the first
 * entry is read), anything else = plain text. Decompression is native zlib,
 * streamed in chunks, so memory holds one chunk and one partial line whatever
 * the file size. Lines are yielded in arrays (one per decompressed chunk) so the
 * caller loops synchronously over strings and awaits once per chunk.
 *
 * Damaged input is not fatal: a truncated or corrupt compressed stream ends
 * the file early and is reported in `status` (the incomplete last line is
 * dropped and counted, never parsed); lines read before the damage are kept.
 * A file that cannot be opened at all throws a FlowlabError naming it.
 *
 * Zip entries are located through the central directory (end of file); when
 * it is missing (truncated download) the local header is used instead.
 * Stored (0) and deflate (8) entries are supported; ZIP64 is not.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { FlowlabError, describeError } from '../core/errors.js';

export type Container = 'gzip' | 'zip' | 'plain';

export interface ReadStatus {
  container: Container | null;
  /** The compressed stream ended early or was corrupt; reading stopped there. */
  damaged: boolean;
  /** zlib's message for the damage. */
  error: string | null;
  /** An incomplete last line dropped because the stream was damaged. */
  tailDropped: boolean;
  /** Zip archives with more than one entry (only the first is read). */
  zipEntries: number;
  /** Name of the zip entry read. */
  zipEntry: string | null;
}

export function newReadStatus(): ReadStatus {
  return { container: null, damaged: false, error: null, tailDropped: false, zipEntries: 0, zipEntry: null };
}

const CHUNK = 1 << 20;

function openError(file: string, e: unknown): FlowlabError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : describeError(e);
  return new FlowlabError(`cannot read input file '${file}': ${why}`);
}

/** Throws a FlowlabError naming the file unless it is an existing, readable regular file. Returns its size. */
export function checkReadable(file: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    throw openError(file, e);
  }
  return st.size;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  const n = fs.readSync(fd, b, 0, len, pos);
  return b.subarray(0, n);
}

interface ZipEntry {
  readonly name: string;
  readonly method: number;
  /** Byte offset of the entry's data. */
  readonly start: number;
  /** Compressed size, or -1 when unknown (read to end of file). */
  readonly size: number;
  readonly entries: number;
}

/** Locate the first entry of a zip: central directory when present, else the local header. */
function zipFirstEntry(file: string, fd: number, fileSize: number): ZipEntry {
  const bad = (why: string) => new FlowlabError(`cannot read input file '${file}': not a readable zip (${why})`);
  let cdSize = -1;
  let cdMethod = -1;
  let cdOffset = -1;
  let entries = 1;
  // End of central directory: signature 0x06054b50 within the last 22 + 65535 bytes.
  const tailLen = Math.min(fileSize, 22 + 0xffff);
  const tail = readAt(fd, fileSize - tailLen, tailLen);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== 0x06054b50) continue;
    entries = tail.readUInt16LE(i + 10);
    const cdStart = tail.readUInt32LE(i + 16);
    if (cdStart === 0xffffffff || entries === 0xffff) throw bad('ZIP64 archives are not supported');
    const cd = readAt(fd, cdStart, 46);
    if (cd.length === 46 && cd.readUInt32LE(0) === 0x02014b50) {
      cdMethod = cd.readUInt16LE(10);
      cdSize = cd.readUInt32LE(20);
      cdOffset = cd.readUInt32LE(42);
      if (cdSize === 0xffffffff || cdOffset === 0xffffffff) throw bad('ZIP64 archives are not supported');
    }
    break;
  }
  const localAt = cdOffset >= 0 ? cdOffset : 0;
  const lh = readAt(fd, localAt, 30);
  if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw bad('no local file header');
  const flags = lh.readUInt16LE(6);
  const method = cdMethod >= 0 ? cdMethod : lh.readUInt16LE(8);
  const nameLen = lh.readUInt16LE(26);
  const extraLen = lh.readUInt16LE(28);
  const name = readAt(fd, localAt + 30, nameLen).toString('utf8');
  const localSize = lh.readUInt32LE(18);
  const size = cdSize >= 0 ? cdSize : flags & 8 ? -1 : localSize;
  if (method !== 0 && method !== 8)
    throw bad(`entry '${name}' uses compression method ${method}; only stored and deflate are supported`);
  return { name, method, start: localAt + 30 + nameLen + extraLen, size, entries };
}

/**
 * Lines of `file`, in order, in arrays (one per chunk). `\r\n` endings are
 * accepted. Closing the generator early (break / return) releases the file.
 */
export async function* readLines(
  file: string,
  status: ReadStatus = newReadStatus(),
): AsyncGenerator<string[], void, undefined> {
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(file, 'r');
    size = fs.fstatSync(fd).size;
  } catch (e) {
    throw openError(file, e);
  }
  let raw: Readable;
  let dec: Transform | null = null;
  try {
    const magic = readAt(fd, 0, 4);
    if (magic.length >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
      status.container = 'gzip';
      raw = fs.createReadStream(file, { fd, autoClose: true, highWaterMark: CHUNK });
      dec = zlib.createGunzip({ chunkSize: 256 * 1024 });
    } else if (magic.length === 4 && magic.readUInt32LE(0) === 0x04034b50) {
      status.container = 'zip';
      const e = zipFirstEntry(file, fd, size);
      status.zipEntries = e.entries;
      status.zipEntry = e.name;
      if (e.size === 0) {
        fs.closeSync(fd);
        return;
      }
      const end = e.size > 0 ? e.start + e.size - 1 : size - 1;
      raw = fs.createReadStream(file, { fd, autoClose: true, start: e.start, end, highWaterMark: CHUNK });
      if (e.method === 8) dec = zlib.createInflateRaw({ chunkSize: 256 * 1024 });
    } else {
      status.container = 'plain';
      raw = fs.createReadStream(file, { fd, autoClose: true, highWaterMark: CHUNK });
    }
  } catch (e) {
    fs.closeSync(fd);
    throw e instanceof FlowlabError ? e : openError(file, e);
  }
  const source: Readable = dec ? pipeline(raw, dec, () => undefined) : raw;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  try {
    try {
      for await (const chunk of source) {
        const s = carry + decoder.write(chunk as Buffer);
        const lines: string[] = [];
        let from = 0;
        for (;;) {
          const nl = s.indexOf('\n', from);
          if (nl < 0) break;
          const end = nl > from && s.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
          lines.push(s.slice(from, end));
          from = nl + 1;
        }
        carry = from === 0 ? s : s.slice(from);
        if (lines.length > 0) yield lines;
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      if (dec && typeof code === 'string' && code.startsWith('Z_')) {
        status.damaged = true;
        status.error = describeError(e);
        status.tailDropped = carry.length > 0;
        carry = '';
        return;
      }
      throw openError(file, e);
    }
    carry += decoder.end();
    if (carry.endsWith('\r')) carry = carry.slice(0, -1);
    if (carry.length > 0) yield [carry];
  } finally {
    source.destroy();
    raw.destroy();
  }
}
