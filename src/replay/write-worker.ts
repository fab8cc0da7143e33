/**
 * Worker side of `WorkerWriteBehind` (src/replay/replay.ts): writes each
 * derived block it is sent with `writeBlock` (own DuckDB instance) and answers
 * with the files written, or with the error.
 */
import { parentPort } from 'node:worker_threads';
import { writeBlock } from './write-block.js';
import type { DerivedBlock } from '../pipeline/pipeline.js';
import { errorMessage } from '../io/workers.js';

const port = parentPort!;
port.on('message', (m: { id: number; dataDir: string; block: DerivedBlock }) => {
  writeBlock(m.dataDir, m.block).then(
    (files) => port.postMessage({ type: 'done', id: m.id, files }),
    (e) => port.postMessage({ ...errorMessage(e), id: m.id }),
  );
});
