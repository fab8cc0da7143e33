/**
 * The run driver: arrival blocks in, derived blocks out. Replay (a dataset read
 * through `arrivalBlocks`, optionally paced) and live (the recorder's tap
 * batched every ~200 ms) are only sources of the async iterable; this loop is
 * the same for both, so they cut the same parts.
 *
 *   for each arrival block: pipeline.push(block), then every full block
 *   (`take(blockRows, 1)`, one at a time) to the writer;
 *   at the end: pipeline.finish(), the remainders, writer.done().
 *
 * Taking one block at a time keeps at most one copied block plus the writer's
 * queue in memory (taking every remainder at once was the largest memory peak
 * of a long replay). The output bytes do not depend on the block sizes of the
 * source: parts are cut at fixed row offsets of each (symbol, table) stream.
 */
import type { ArrivalBlock } from './arrival.js';
import type { DerivedBlock, Pipeline } from './pipeline.js';

/** Where finished derived blocks go: written in the background, outputs collected. */
export interface BlockWriter {
  /** Queue blocks (waits while too many are in flight); rethrows an earlier write failure. */
  add(blocks: readonly DerivedBlock[]): Promise<void>;
  /** Wait for every queued write; rethrows the first failure. */
  done(): Promise<void>;
  /** Release resources (idempotent; after done() or on an error path). */
  close(): Promise<void>;
}

export interface DriveOptions {
  /** Rows per output part (per symbol and table; the events table uses `eventBlockRows` of this). */
  readonly blockRows: number;
  /** Called after each arrival block was pushed, with the ticks pushed so far (progress bars). */
  readonly onTicks?: (ticks: number) => void;
}

/**
 * Run `pipeline` over `blocks` to the end, writing every derived block through
 * `writer`; returns the ticks pushed. The writer is closed on every path; a
 * failure of the source, the pipeline or the writer is rethrown.
 */
export async function drive(
  pipeline: Pipeline,
  blocks: AsyncIterable<ArrivalBlock>,
  writer: BlockWriter,
  opts: DriveOptions,
): Promise<number> {
  let ticks = 0;
  try {
    for await (const block of blocks) {
      pipeline.push(block);
      ticks += block.n;
      opts.onTicks?.(ticks);
      await drain(pipeline, writer, opts.blockRows);
    }
    pipeline.finish();
    await drain(pipeline, writer, opts.blockRows);
    await writer.done();
  } finally {
    await writer.close();
  }
  return ticks;
}

/** Hand the writer every block the pipeline has ready, one at a time. */
async function drain(pipeline: Pipeline, writer: BlockWriter, blockRows: number): Promise<void> {
  for (let b = pipeline.take(blockRows, 1); b.length > 0; b = pipeline.take(blockRows, 1)) await writer.add(b);
}
