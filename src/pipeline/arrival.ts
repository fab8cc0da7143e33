/**
 * The arrival merge (the pipeline's first stage): every selected (symbol, kind)
 * stream of a raw dataset merged into one arrival order `(recv_ts_ms, recv_seq)`,
 * in columnar blocks (`ArrivalBlock`: indices into the streams' batches, no
 * per-row objects). Replay reads through it, on this thread or on a worker
 * (`arrivalBlocksAhead`, arrival-ahead.ts, the same blocks); live builds the
 * same blocks from the recorder's tap (recorder/batcher.ts); the mock exchange
 * and the tests read datasets through it too. There is no other merge.
 *
 * Cost: per block, O(streams) per row merged (streams = symbols x kinds, at most 255).
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
      cur.push(first.done ? null : first.value);
      ids.push(first.done ? -1 : nextId++);
      pos.push(0);
    }
    const k = its.length;
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
      let n = 0;
      for (;;) {
        let best = -1;
        let bt = Infinity;
        let bs = Infinity;
        for (let s = 0; s < k; s++) {
          const b = cur[s];
          if (!b || pos[s] >= b.length) continue;
          const t = b.recv_ts_ms[pos[s]];
          const q = b.recv_seq[pos[s]];
          if (keyLess(t, q, bt, bs)) {
            best = s;
            bt = t;
            bs = q;
          }
        }
        if (best < 0 || keyLess(limT, limS, bt, bs)) break;
        src[n] = best;
        row[n] = pos[best]++;
        n++;
      }
      yield { n, batches: cur.map((b) => b ?? EMPTY_BATCH), batchIds: ids.slice(), src, row };
      for (let s = 0; s < k; s++) {
        const b = cur[s];
        if (b && pos[s] >= b.length) {
          const next = await its[s].next();
          cur[s] = next.done ? null : next.value;
          ids[s] = next.done ? -1 : nextId++;
          pos[s] = 0;
        }
      }
    }
  } finally {
    for (const it of its) await it.return(undefined);
  }
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

/** (t, s) < (t2, s2) lexicographically. */
function keyLess(t: number, s: number, t2: number, s2: number): boolean {
  return t < t2 || (t === t2 && s < s2);
}
