/**
 * A second core for one synchronous `rescore` call (issue 14: one evaluate()
 * of a 24 h x 6 run under 100 ms). The walk-forward Platt fits of different
 * symbols do not depend on each other, and they are about half of a
 * calibrated call: `rescore(run, req, { thread })` hands about half of the
 * symbols (balanced by rows) to this thread's worker
 * (src/canary/calibration-worker.ts), fits the others itself, then blocks in
 * `Atomics.wait` until the worker is done. The call stays synchronous, as
 * notebooks call it. Scores go out and probabilities come back through
 * SharedArrayBuffers (`shared`); the run's own columns are shared when
 * `loadRescoreRun` made them (it allocates them shared), so nothing is
 * copied per call. Each symbol is fitted by the same `calibrateTrack` in
 * whichever thread, so the results are the same to the bit (tested) as
 * without the thread.
 *
 * If the worker fails or does not answer within `timeoutMs`, the call fits
 * those symbols itself and the thread is not used again (`usable` false):
 * a slower call, never a wrong or missing one.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { describeError } from '../core/errors.js';
import { startWorker } from '../io/workers.js';

/** What the worker fits: one symbol's columns (views) and where its results go. */
export interface CalibrationJob {
  readonly t: Float64Array;
  readonly score: Float64Array;
  readonly y: Float64Array;
  readonly resolved_at: Float64Array;
  /** Outputs: the walk-forward probability and the Brier-skill reference per sample. */
  readonly prob: Float64Array;
  readonly ref: Float64Array;
}

export interface CalibrationSettings {
  readonly train_sec: number;
  readonly test_sec: number;
  readonly ece_bins: number;
}

/** Main -> worker. */
export interface CalibrationRequest {
  readonly id: number;
  readonly jobs: readonly CalibrationJob[];
  readonly cal: CalibrationSettings;
}

/** Worker -> main, on the channel's port, after `done[0] = id`. */
export type CalibrationReply = { readonly id: number; readonly error?: string };

/** A Float64Array of n zeros on a SharedArrayBuffer. */
export function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * n));
}

export function sharedI8(n: number): Int8Array {
  return new Int8Array(new SharedArrayBuffer(n));
}

export const isShared = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;

export class CalibrationThread {
  private nextId = 1;
  private broken: string | undefined;
  private pendingId = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly done: Int32Array,
    readonly timeoutMs: number,
  ) {}

  /** Starts the worker and waits until it is ready (~0.1-0.5 s). */
  static async start(timeoutMs = 10_000): Promise<CalibrationThread> {
    const done = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = startWorker(new URL('./calibration-worker.ts', import.meta.url), null);
    worker.postMessage({ done, port: port2 }, [port2]);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (m === 'ready') {
          cleanup();
          resolve();
        }
      };
      const onError = (e: unknown) => {
        cleanup();
        reject(new Error(`calibration thread failed to start: ${describeError(e)}`));
      };
      const onExit = (code: number) => onError(`exited with code ${code}`);
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    worker.unref();
    port1.unref();
    return new CalibrationThread(worker, port1, done, timeoutMs);
  }

  /** False once the worker failed or timed out (calls then fit every symbol themselves). */
  get usable(): boolean {
    return this.broken === undefined;
  }

  /** Why the thread is not used any more (undefined while usable). */
  get failure(): string | undefined {
    return this.broken;
  }

  /** Sends jobs; `wait()` blocks until they are done. One batch at a time. */
  post(jobs: readonly CalibrationJob[], cal: CalibrationSettings): void {
    if (this.broken !== undefined) throw new Error(`calibration thread: not usable (${this.broken})`);
    if (this.pendingId !== 0) throw new Error('calibration thread: a batch is already in flight');
    for (const j of jobs)
      if (!isShared(j.score) || !isShared(j.prob) || !isShared(j.ref))
        throw new Error('calibration thread: score, prob and ref must be on SharedArrayBuffers');
    const id = this.nextId++;
    this.pendingId = id;
    const req: CalibrationRequest = { id, jobs, cal };
    this.port.postMessage(req);
  }

  /**
   * Blocks until the batch sent by `post` is done: true when the worker wrote
   * every job's prob and ref, false when it failed or timed out (the caller
   * then computes them itself; the thread is marked broken and stopped).
   */
  wait(): boolean {
    const id = this.pendingId;
    if (id === 0) throw new Error('calibration thread: wait() without post()');
    this.pendingId = 0;
    const deadline = performance.now() + this.timeoutMs;
    while (Atomics.load(this.done, 0) !== id) {
      const left = deadline - performance.now();
      if (left <= 0) return this.fail(`no answer within ${this.timeoutMs} ms`);
      Atomics.wait(this.done, 0, Atomics.load(this.done, 0), left);
    }
    const m = receiveMessageOnPort(this.port)?.message as CalibrationReply | undefined;
    if (!m || m.id !== id) return this.fail(`reply ${m?.id} for batch ${id}`);
    if (m.error !== undefined) return this.fail(m.error);
    return true;
  }

  private fail(why: string): false {
    this.broken = why;
    void this.worker.terminate();
    return false;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.broken ??= 'closed';
    this.port.close();
    await this.worker.terminate();
  }
}
