/**
 * Append-only journal of every message the recorder accepted, before it is
 * applied to the dataset writer.
 *
 * Format: segment files `journal/<first jseq, 16 digits>.jsonl`; one line per
 * accepted message, in the ws-capture format `<recv_ts_ns> <json>` (the
 * recorder writes `recv_ts_ms` followed by six zeros), so a segment is itself
 * a capture that `flowlab import --format ws-capture` can read. A message's
 * journal sequence number (jseq) is the segment's first jseq + its line index.
 *
 * Durability: lines are buffered for at most one turn of the event loop and
 * written with one `writeSync` per batch (`flush()`); a line is *accepted*
 * once that write returned, which survives SIGKILL (the data is in the
 * kernel). `fdatasync` runs in small groups, at most one in flight, at most
 * `fsyncIntervalMs` after a write, for power-loss durability.
 *
 * A torn last line (no trailing newline: power loss mid-write) is ignored on
 * replay; every start opens a new segment, so nothing is appended after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, describeError } from '../src/core/errors.js';

export interface JournalOptions {
  /** Max delay between a write and its fdatasync, ms (default 20). 0 = fsync every flush synchronously. */
  readonly fsyncIntervalMs?: number;
  /** Lines per segment before a new one is started (default 50 000). */
  readonly segmentLines?: number;
}

export interface Segment {
  readonly first: number;
  readonly file: string;
}

const SEG_RE = /^(\d{16})\.jsonl$/;

export function listSegments(dir: string): Segment[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((n) => SEG_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ first: Number(m[1]), file: path.join(dir, m[0]) }))
    .sort((a, b) => a.first - b.first);
}

/** Complete lines of a segment (a torn tail is dropped). */
export function readSegment(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (text.length === 0) return [];
  const lines = text.split('\n');
  lines.pop(); // '' after the final newline, or the torn tail
  return lines;
}

export class Journal {
  readonly dir: string;
  private readonly fsyncMs: number;
  private readonly segLines: number;
  private fd = -1;
  private segFirst = 0;
  private segCount = 0;
  /** Bytes of the open segment that hold whole accepted lines (a failed write is cut back to this). */
  private segBytes = 0;
  private pending: string[] = [];
  /** jseq the next appended line gets. */
  private next = 0;
  /** Last jseq written (accepted); -1 before any. */
  written = -1;
  /** Last jseq known to be fdatasync'd. */
  synced = -1;
  private syncing = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Counters. */
  bytes = 0;
  writes = 0;
  fsyncs = 0;
  errors = 0;
  /** Called after every successful write with the last written jseq. */
  onWritten: ((jseq: number) => void) | null = null;
  /** Called after every completed fdatasync with the last synced jseq. */
  onSynced: ((jseq: number) => void) | null = null;

  constructor(dir: string, opts: JournalOptions = {}) {
    this.dir = dir;
    this.fsyncMs = opts.fsyncIntervalMs ?? 20;
    this.segLines = opts.segmentLines ?? 50_000;
  }

  /** Start writing at `nextJseq` in a fresh segment (creates the folder: nothing is created before). */
  open(nextJseq: number): void {
    fs.mkdirSync(this.dir, { recursive: true });
    this.next = nextJseq;
    this.written = nextJseq - 1;
    this.synced = nextJseq - 1;
    this.rotate();
  }

  get nextJseq(): number {
    return this.next;
  }

  get pendingLines(): number {
    return this.pending.length;
  }

  private rotate(): void {
    if (this.fd >= 0) {
      try {
        fs.fdatasyncSync(this.fd);
      } catch {
        /* the data was written; a failed final sync is retried by the OS */
      }
      fs.closeSync(this.fd);
    }
    this.segFirst = this.next;
    this.segCount = 0;
    const file = path.join(this.dir, `${String(this.segFirst).padStart(16, '0')}.jsonl`);
    this.fd = fs.openSync(file, 'a');
    this.segBytes = fs.fstatSync(this.fd).size;
  }

  /** Buffer one line (no newline inside); returns its jseq. */
  append(recvTsMs: number, json: string): number {
    if (this.closed) throw new FlowlabError('journal is closed');
    // messages arriving in the same millisecond share the timestamp prefix (no number -> string per line)
    if (recvTsMs !== this.prefixMs) {
      this.prefixMs = recvTsMs;
      this.prefix = `${recvTsMs}000000 `;
    }
    this.pending.push(`${this.prefix + json}\n`);
    return this.next + this.pending.length - 1;
  }

  private prefixMs = NaN;
  private prefix = '';
  /** Reused encode buffer for `flush()` (grown as needed; no fresh allocation per batch). */
  private wbuf = Buffer.allocUnsafe(0);

  /** Write buffered lines (one syscall). Returns false (lines kept) when the write failed. */
  flush(): boolean {
    if (this.pending.length === 0) return true;
    if (this.segCount + this.pending.length > this.segLines && this.segCount > 0) this.rotate();
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    try {
      // utf-8 needs at most 3 bytes per UTF-16 code unit
      if (this.wbuf.length < text.length * 3)
        this.wbuf = Buffer.allocUnsafe(Math.max(text.length * 3, 2 * this.wbuf.length, 1 << 16));
      const buf = this.wbuf;
      const len = buf.write(text, 0, buf.length, 'utf8');
      let off = 0;
      try {
        while (off < len) off += fs.writeSync(this.fd, buf, off, len - off);
      } catch (e) {
        // A short write (full disk) left part of the batch in the file: cut it back, or the retry would
        // write those lines twice (and a torn line inside a segment shifts every later jseq).
        if (off > 0) fs.ftruncateSync(this.fd, this.segBytes);
        throw e;
      }
      this.bytes += len;
      this.segBytes += len;
    } catch (e) {
      this.errors++;
      this.lastError = describeError(e);
      return false;
    }
    const n = this.pending.length;
    this.pending = [];
    this.writes++;
    this.segCount += n;
    this.next += n;
    this.written = this.next - 1;
    this.onWritten?.(this.written);
    this.scheduleSync();
    return true;
  }

  lastError: string | null = null;

  private scheduleSync(): void {
    if (this.fsyncMs <= 0) {
      fs.fdatasyncSync(this.fd);
      this.fsyncs++;
      this.synced = this.written;
      this.onSynced?.(this.synced);
      return;
    }
    if (this.syncing || this.syncTimer) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = null;
      if (this.fd < 0) return;
      const upTo = this.written;
      this.syncing = true;
      fs.fdatasync(this.fd, (err) => {
        this.syncing = false;
        if (!err) {
          this.fsyncs++;
          if (upTo > this.synced) this.synced = upTo;
          this.onSynced?.(this.synced);
        } else this.errors++;
        if (this.written > this.synced && !this.closed) this.scheduleSync();
      });
    }, this.fsyncMs);
  }

  /**
   * Delete segments whose every line is <= `uptoJseq`, keeping the newest
   * segments that together hold at least `retainLines` lines (dedup memory
   * for a restart). The open segment is never deleted.
   */
  truncate(uptoJseq: number, retainLines: number): number {
    const segs = listSegments(this.dir);
    let removed = 0;
    let kept = 0;
    for (let i = segs.length - 1; i >= 0; i--) {
      const s = segs[i];
      const end = i + 1 < segs.length ? segs[i + 1].first - 1 : this.written;
      if (s.first === this.segFirst) {
        kept += this.segCount;
        continue;
      }
      if (end > uptoJseq || kept < retainLines) {
        kept += end - s.first + 1;
        continue;
      }
      fs.rmSync(s.file, { force: true });
      removed++;
    }
    return removed;
  }

  /** Flush, fdatasync and close. */
  close(): void {
    if (this.closed) return;
    this.flush();
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = null;
    if (this.fd >= 0) {
      try {
        fs.fdatasyncSync(this.fd);
        this.synced = this.written;
      } catch {
        /* ignore */
      }
      fs.closeSync(this.fd);
      this.fd = -1;
    }
    this.closed = true;
  }
}

/**
 * Every journal line in jseq order: `fn(jseq, recvTsMs, json, line)` (`line`
 * as stored). A line without a `<recv_ns> ` prefix goes to `onUnreadable`.
 * Returns the next free jseq.
 */
export function replayJournal(
  dir: string,
  fn: (jseq: number, recvTsMs: number, json: string, line: string) => void,
  onUnreadable?: (jseq: number, line: string) => void,
): number {
  let next = 0;
  for (const s of listSegments(dir)) {
    const lines = readSegment(s.file);
    for (let k = 0; k < lines.length; k++) {
      const line = lines[k];
      const sp = line.indexOf(' ');
      // the journal writes `<recv ms>000000 `: 7..19 digits
      if (sp < 7 || sp > 19 || !/^\d+$/.test(line.slice(0, sp))) {
        onUnreadable?.(s.first + k, line);
        continue;
      }
      fn(s.first + k, Number(line.slice(0, sp - 6)), line.slice(sp + 1), line);
    }
    next = Math.max(next, s.first + lines.length);
  }
  return next;
}
