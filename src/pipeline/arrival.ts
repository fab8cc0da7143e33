/**
 * The arrival merge (the pipeline's first stage): every selected (symbol, kind)
 * stream of a raw dataset merged into one arrival order `(recv_ts_ms, recv_seq)`,
 * in columnar blocks (`ArrivalBlock`: indices into the streams' batches, no
 * per-row objects). Replay reads through it, on this thread or on a worker
 * (`arrivalBlocksAhead`, arrival-ahead.ts, the same blocks); live builds the
 * same blocks from the recorder's tap (recorder/batcher.ts); the mock exchange
 * and the tests read datasets through it too. There is no other merge.
 *
 * Cost: per block, O(log streams) per row merged (a binary heap of the streams;
 * streams = symbols x kinds, at most 255), plus O(streams) per block.
 */
import type { Kind, TickBatch } from '../core/types.js';
import { FlowlabError } from '../core/errors.js';
import type { Dataset, ReadOptions } from '../dataset/reader.js';

/**
 * A block of arrivals merged across streams: arrival i is row `row[i]` of
 * `batches[src[i]]`. `batchIds[k]` is a unique id of `batches[k]` (stable for
 * the batch's lifetime), so consumers can hold rows by (batch id, row).
 */
export interface ArrivalBlock {
  readonly n: number;
  readonly batches: readonly TickBatch[];
  readonly batchIds: readonly number[];
  readonly src: Uint8Array;
  readonly row: Int32Array;
}

/**
 * All selected streams merged into arrival order, in blocks: each round merges
 * every buffered row up to the smallest "last key" among the streams' current
 * batches, so no row is emitted before a row of another stream that precedes it.
 */
export async function* arrivalBlocks(ds: Dataset, opts: ReadOptions = {}): AsyncGenerator<ArrivalBlock> {
  const files = ds.select(opts);
  const pairs = [...new Set(files.map((f) => `${f.symbol}\u0000${f.kind}`))].sort();
  if (pairs.length > 255)
    throw new FlowlabError(`too many streams in one replay (${pairs.length}); select fewer symbols`);
  const its: AsyncGenerator<TickBatch>[] = [];
  const cur: (TickBatch | null)[] = [];
  const ids: number[] = [];
  const pos: number[] = [];
  let nextId = 0;
  try {
    for (const p of pairs) {
      const [symbol, kind] = p.split('\u0000') as [string, Kind];
      const it = ds.stream(symbol, kind, opts);
      its.push(it);
      const first = await it.next();
      cur.push(first.done ? null : keyed(first.value));
      ids.push(first.done ? -1 : nextId++);
      pos.push(0);
    }
    const k = its.length;
    const heap = new Int32Array(k);
    const headT = new Float64Array(k);
    const headS = new Float64Array(k);
    for (;;) {
      // limit = min over live streams of the key of their current batch's last row
      let limT = Infinity;
      let limS = Infinity;
      let live = 0;
      for (let s = 0; s < k; s++) {
        const b = cur[s];
        if (!b) continue;
        live++;
        const L = b.length - 1;
        if (keyLess(b.recv_ts_ms[L], b.recv_seq[L], limT, limS)) {
          limT = b.recv_ts_ms[L];
          limS = b.recv_seq[L];
        }
      }
      if (live === 0) return;
      let total = 0;
      for (let s = 0; s < k; s++) if (cur[s]) total += cur[s]!.length - pos[s];
      const src = new Uint8Array(total);
      const row = new Int32Array(total);
      // a binary min-heap of the streams with rows left, keyed by their next row (ties: lower stream
      // first): the same pick as scanning every stream per row, in ~log2(streams) comparisons
      let h = 0;
      for (let s = 0; s < k; s++) {
        const b = cur[s];
        if (!b || pos[s] >= b.length) continue;
        headT[s] = b.recv_ts_ms[pos[s]];
        headS[s] = b.recv_seq[pos[s]];
        heap[h++] = s;
        siftUp(heap, h - 1, headT, headS);
      }
      let n = 0;
      while (h > 0) {
        const best = heap[0];
        if (keyLess(limT, limS, headT[best], headS[best])) break;
        const b = cur[best]!;
        src[n] = best;
        row[n] = pos[best]++;
        n++;
        if (pos[best] < b.length) {
          headT[best] = b.recv_ts_ms[pos[best]];
          headS[best] = b.recv_seq[pos[best]];
        } else {
          heap[0] = heap[--h];
        }
        siftDown(heap, h, headT, headS);
      }
      yield { n, batches: cur.map((b) => b ?? EMPTY_BATCH), batchIds: ids.slice(), src, row };
      for (let s = 0; s < k; s++) {
        const b = cur[s];
        if (b && pos[s] >= b.length) {
          const next = await its[s].next();
          cur[s] = next.done ? null : keyed(next.value);
          ids[s] = next.done ? -1 : nextId++;
          pos[s] = 0;
        }
      }
    }
  } finally {
    for (const it of its) await it.return(undefined);
  }
}

/** `b`, refused when a row has no arrival key (NULL recv_ts_ms or recv_seq: it has no place in the merge). */
function keyed(b: TickBatch): TickBatch {
  for (let i = 0; i < b.length; i++) {
    if (b.recv_ts_ms[i] !== b.recv_ts_ms[i] || b.recv_seq[i] !== b.recv_seq[i])
      throw new FlowlabError(
        `${b.symbol} ${b.kind}: a row with recv_ts_ms ${b.recv_ts_ms[i]}, recv_seq ${b.recv_seq[i]} (expected both non-NULL)`,
      );
  }
  return b;
}

/** The batch of a stream that has ended (its id is -1). */
export const EMPTY_BATCH: TickBatch = {
  kind: 'quotes',
  symbol: '',
  length: 0,
  recv_ts_ms: new Float64Array(0),
  recv_seq: new Float64Array(0),
  ts_ms: new Float64Array(0),
  update_id: new Float64Array(0),
  bid_px: new Float64Array(0),
  bid_qty: new Float64Array(0),
  ask_px: new Float64Array(0),
  ask_qty: new Float64Array(0),
};

/** Stream a before stream b: its next row's key is smaller, or equal and a is the lower stream. */
function before(a: number, b: number, t: Float64Array, q: Float64Array): boolean {
  return t[a] < t[b] || (t[a] === t[b] && (q[a] < q[b] || (q[a] === q[b] && a < b)));
}

function siftUp(heap: Int32Array, i: number, t: Float64Array, q: Float64Array): void {
  const x = heap[i];
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(x, heap[p], t, q)) break;
    heap[i] = heap[p];
    i = p;
  }
  heap[i] = x;
}

/** Restore the heap order of heap[0 .. h) after heap[0]'s key changed. */
function siftDown(heap: Int32Array, h: number, t: Float64Array, q: Float64Array): void {
  if (h === 0) return;
  const x = heap[0];
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= h) break;
    if (c + 1 < h && before(heap[c + 1], heap[c], t, q)) c++;
    if (!before(heap[c], x, t, q)) break;
    heap[i] = heap[c];
    i = c;
  }
  heap[i] = x;
}

/** (t, s) < (t2, s2) lexicographically. */
function keyLess(t: number, s: number, t2: number, s2: number): boolean {
  return t < t2 || (t === t2 && s < s2);
}
