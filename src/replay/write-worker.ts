/**
 * Worker side of `WorkerWriteBehind` (src/replay/replay.ts): writes each
 * derived block it is sent with `writeBlock` (own DuckDB instance), one block
 * at a time in the order received, and answers with the files written, or
 * with the error.
 *
 * One at a time: blocks the caller sends ahead wait here as typed arrays (a
 * few MiB each), not as concurrent DuckDB COPYs, each of which holds its
 * staging table and Parquet row-group buffers. Writing up to three at once
 * made the 24 h x 6 symbols replay's peak RSS 692-757 MiB against 674-676
 * serially, at the same CPU time (README "Memory"); the bytes do not depend on
 * write order.
 */
import { parentPort } from 'node:worker_threads';
import { writeBlock } from './write-block.js';
import type { DerivedBlock } from '../pipeline/pipeline.js';
import { errorMessage } from '../io/workers.js';

const port = parentPort!;
let last: Promise<void> = Promise.resolve();
port.on('message', (m: { id: number; dataDir: string; block: DerivedBlock }) => {
  last = last.then(() =>
    writeBlock(m.dataDir, m.block).then(
      (files) => port.postMessage({ type: 'done', id: m.id, files }),
      (e) => port.postMessage({ ...errorMessage(e), id: m.id }),
    ),
  );
});
