/**
 * Re-scoring many requests of one run on worker threads (issue 14: a
 * 50-point weight x gate grid). Each worker (src/canary/rescore-worker.ts)
 * gets the run's columns (shared, not copied, when `loadRescoreRun` made them:
 * it allocates them on SharedArrayBuffers; a structured-clone copy otherwise,
 * ~27 MB for 24 h x 6 symbols) and runs the same pure `rescore` as the calling thread, so
 * every result equals the sequential `rescore(run, req)` (tested); `map`
 * returns them in request order. Points go to whichever worker is free
 * (each holds at most one), which balances uneven points; the order of
 * completion does not reach the results.
 *
 * The workers are started once (`new RescorePool(run, threads)`) and reused
 * by every `map` (each keeps its re-scoring plans memoised); idle workers do
 * not keep the process alive (unref), `close()` stops them. A request that
 * fails (e.g. a negative weight) rejects the `map` with the worker's error
 * (a FlowlabError keeps its message and exit code) once the points in flight
 * have finished.
 */
import type { Worker } from 'node:worker_threads';
import { UsageError } from '../core/errors.js';
import { startWorker, toError, workerDied, type ErrorMessage } from '../io/workers.js';
import type { RescoreRequest, RescoreResult, RescoreRun } from './rescore.js';

/** Messages of src/canary/rescore-worker.ts. */
export type RescoreWorkerMessage =
  | { readonly type: 'result'; readonly id: number; readonly result: RescoreResult }
  | (ErrorMessage & { readonly id: number });

/** What src/canary/rescore-worker.ts receives: one request and its index. */
export interface RescoreJob {
  readonly id: number;
  readonly req: RescoreRequest;
}

export class RescorePool {
  private readonly workers: Worker[] = [];
  private busy: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set when a worker died: the pool cannot answer any more. */
  private dead: Error | undefined;

  constructor(run: RescoreRun, threads = 2) {
    if (!Number.isInteger(threads) || threads < 1)
      throw new UsageError(`threads: ${String(threads)} is not valid (expected an integer >= 1)`);
    for (let i = 0; i < threads; i++) {
      const w = startWorker(new URL('./rescore-worker.ts', import.meta.url), run);
      w.unref();
      this.workers.push(w);
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /** `rescore(run, reqs[i])` for every i, in request order. Calls run one after the other. */
  map(reqs: readonly RescoreRequest[]): Promise<RescoreResult[]> {
    if (this.closed) return Promise.reject(new Error('RescorePool: map after close()'));
    if (this.dead) return Promise.reject(this.dead);
    const next = this.busy.then(() => this.runAll(reqs));
    this.busy = next.catch(() => undefined);
    return next;
  }

  private runAll(reqs: readonly RescoreRequest[]): Promise<RescoreResult[]> {
    const out: RescoreResult[] = new Array(reqs.length);
    if (reqs.length === 0) return Promise.resolve(out);
    return new Promise((resolve, reject) => {
      let sent = 0;
      let done = 0;
      let inFlight = 0;
      let failure: Error | undefined;
      let settled = false;
      const cleanups: (() => void)[] = [];
      const finish = () => {
        if (settled) return;
        settled = true;
        for (const c of cleanups) c();
        if (failure) reject(failure);
        else resolve(out);
      };
      const feed = (w: Worker) => {
        if (failure || sent >= reqs.length) {
          w.unref();
          if (inFlight === 0 && (failure || done === reqs.length)) finish();
          return;
        }
        const job: RescoreJob = { id: sent, req: reqs[sent] };
        sent++;
        inFlight++;
        w.ref();
        w.postMessage(job);
      };
      for (const [i, w] of this.workers.entries()) {
        const what = `rescore worker ${i + 1} of ${this.workers.length}`;
        const onMessage = (m: RescoreWorkerMessage) => {
          inFlight--;
          done++;
          if (m.type === 'result') out[m.id] = m.result;
          else failure ??= toError(m, what);
          feed(w);
        };
        const onError = (e: unknown) => {
          failure ??= workerDied(what, e);
          this.dead ??= failure;
          inFlight = 0;
          finish();
        };
        const onExit = (code: number) => onError(`exited with code ${code}`);
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
        cleanups.push(() => {
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
        });
      }
      for (const w of this.workers) feed(w);
    });
  }

  /** Stops the workers (pending `map` calls finish first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.busy;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
