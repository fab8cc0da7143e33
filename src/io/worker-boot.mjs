// Entry of every flowlab worker thread when the TypeScript sources run (under tsx): registers tsx and
// loads the worker module named in workerData.module. A compiled process (dist/) starts the module's
// .js sibling directly instead. See src/io/workers.ts.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
