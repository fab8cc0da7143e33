/**
 * Worker threads for IO that would otherwise stall the pipeline's thread:
 * DuckDB reads and Parquet writes run beside the calculators (the machine has
 * at least two cores), so replay is bound by the calculators, not by IO.
 *
 * `startWorker(url, data)` starts `src/io/worker-boot.mjs`, which registers
 * tsx and imports the worker module `url` (a `.ts` file); when the process runs
 * the compiled JavaScript (dist/, bin/flowlab.mjs) it starts the module's `.js`
 * sibling directly. Each worker has its own DuckDB instance (src/io/duck.ts is
 * per thread).
 *
 * Errors cross the thread boundary as `{ type: 'error', message, exitCode }`
 * messages (see `errorMessage` / `toError`): a FlowlabError raised in a worker
 * reaches the caller as a FlowlabError with the same message and exit code.
 *
 * Determinism: workers only move IO; the bytes they read and write are the
 * same as in the calling thread (tests compare both paths byte for byte).
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FlowlabError, describeError } from '../core/errors.js';

const BOOT = new URL('./worker-boot.mjs', import.meta.url);

/**
 * Whether this process runs the compiled JavaScript (dist/, see scripts/dist.mjs)
 * rather than the TypeScript sources under tsx.
 */
export const COMPILED: boolean = import.meta.url.endsWith('.js');

/**
 * The file to run for the module `ts` (a `.ts` URL next to its caller, e.g.
 * `new URL('./child.ts', import.meta.url)`) in another thread or process: its
 * compiled `.js` sibling when this process runs compiled, else the source.
 */
export function runnableFile(ts: URL): string {
  const file = fileURLToPath(ts);
  return COMPILED ? file.replace(/\.ts$/, '.js') : file;
}

/**
 * Node options a child process needs to run `runnableFile(...)`: tsx for the sources, none compiled.
 * tsx is named by its resolved file URL: a bare `--import tsx` is resolved from the working
 * directory, so a sweep started outside the repository had every child fail to start.
 */
export const CHILD_EXEC_ARGV: readonly string[] = COMPILED
  ? []
  : ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];

export function startWorker(module: URL, data: unknown): Worker {
  // compiled: the worker module runs as it is; sources: the boot file registers tsx first
  return new Worker(COMPILED ? runnableFile(module) : fileURLToPath(BOOT), {
    workerData: { module: module.href, data },
    // do not inherit e.g. --cpu-prof or test-runner hooks
    execArgv: [],
    stdout: false,
    stderr: false,
  });
}

export interface ErrorMessage {
  readonly type: 'error';
  readonly message: string;
  readonly exitCode: 1 | 2;
  readonly flowlab: boolean;
}

/** The message a worker posts for an error it cannot handle. */
export function errorMessage(e: unknown): ErrorMessage {
  if (e instanceof FlowlabError) return { type: 'error', message: e.message, exitCode: e.exitCode, flowlab: true };
  return {
    type: 'error',
    message: e instanceof Error ? (e.stack ?? e.message) : String(e),
    exitCode: 1,
    flowlab: false,
  };
}

/** The error to throw in the calling thread for a worker's error message. */
export function toError(m: ErrorMessage, what: string): Error {
  if (m.flowlab) return new FlowlabError(m.message, m.exitCode);
  return new Error(`${what}: ${m.message}`);
}

/** An error for a worker that died without posting one (crash, out of memory, exit). */
export function workerDied(what: string, e: unknown): Error {
  return new Error(`${what} worker failed: ${describeError(e)}`);
}
