// Entry of every flowlab worker thread: registers tsx (the sources are
// TypeScript, run without a build step) and loads the worker module named in
// workerData.module. See src/io/workers.ts.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
