/**
 * A worker of RescorePool (src/canary/rescore-pool.ts): holds one run's
 * columns (workerData.data) and answers each job with `rescore(run, req)`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../io/workers.js';
import type { RescoreJob, RescoreWorkerMessage } from './rescore-pool.js';
import { rescore, type RescoreRun } from './rescore.js';

const run = (workerData as { data: RescoreRun }).data;
const port = parentPort!;
port.on('message', (job: RescoreJob) => {
  let m: RescoreWorkerMessage;
  try {
    m = { type: 'result', id: job.id, result: rescore(run, job.req) };
  } catch (e) {
    m = { ...errorMessage(e), id: job.id };
  }
  port.postMessage(m);
});
