/**
 * Distributed sweep mode on BullMQ (Redis): `flowlab sweep --queue` submits one
 * job per shard, `flowlab worker --queue` runs them on any machine that reads
 * the same dataset and output paths.
 *
 * - The job id is the shard's content hash, so resubmitting is a no-op; BullMQ
 *   keeps completed jobs (removeOnComplete: false) to make that hold.
 * - Retries (attempts), stalled-job recovery (a worker killed mid-shard loses
 *   its lock; another worker takes the job) and concurrency are BullMQ's. No
 *   scheduler here.
 * - The shard folder on disk is the truth: a job BullMQ calls completed whose
 *   shard folder is missing (deleted since) is removed and added again.
 */
import net from 'node:net';
import { CHILD_EXEC_ARGV, runnableFile } from '../io/workers.js';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { FlowlabError, UsageError } from '../core/errors.js';
import { shardDone, type ShardJob } from './shard.js';

export const QUEUE_NAME = 'flowlab-sweep';
const PROCESSOR = runnableFile(new URL('./processor.ts', import.meta.url));

/** `redis://host:port[/db]` -> connection options; anything else is a usage error. */
export function parseQueueUrl(raw: string, where = '--queue'): ConnectionOptions & { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${where}: '${raw}' is not a URL (expected redis://host:port)`);
  }
  if (u.protocol !== 'redis:') throw new UsageError(`${where}: '${raw}': expected the redis:// scheme`);
  if (u.hostname === '') throw new UsageError(`${where}: '${raw}': no host`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname === '' || u.pathname === '/' ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0)
    throw new UsageError(`${where}: '${raw}': database '${u.pathname}' is not a number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db,
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    maxRetriesPerRequest: null,
  };
}

/**
 * A TCP connection to the queue's Redis, opened and closed before the sweep writes
 * anything: an unreachable Redis is one line naming the URL (ioredis would retry
 * for ever, printing a stack per attempt, after sweep.json and configs/ are written).
 */
export async function checkQueueReachable(url: string, timeoutMs = 3000): Promise<void> {
  const { host, port } = parseQueueUrl(url);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host, port });
    const fail = (why: string) => {
      s.destroy();
      reject(
        new FlowlabError(`--queue ${url}: cannot connect to ${host}:${port} (${why}); is redis-server running there?`),
      );
    };
    s.setTimeout(timeoutMs, () => fail(`no answer in ${timeoutMs / 1000} s`));
    s.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    s.once('connect', () => {
      s.end();
      resolve();
    });
  });
}

export type QueueProgress = (done: number, total: number) => void;

/** Submit the shards and wait until every one is done. Resolves with how many shards ran during this call. */
export async function runQueued(
  jobs: readonly ShardJob[],
  url: string,
  onProgress?: QueueProgress,
  pollMs = 250,
): Promise<number> {
  const connection = parseQueueUrl(url);
  const queue = new Queue<ShardJob>(QUEUE_NAME, { connection });
  try {
    const before = new Set(jobs.filter((j) => shardDone(j.out, j.id)).map((j) => j.id));
    const toAdd: ShardJob[] = [];
    for (const j of jobs) {
      if (before.has(j.id)) continue;
      const old = await queue.getJob(j.id);
      if (old) {
        const st = await old.getState();
        if (st === 'completed' || st === 'failed') await old.remove();
        else continue; // waiting / active / delayed: already queued
      }
      toAdd.push(j);
    }
    await queue.addBulk(
      toAdd.map((j) => ({
        name: 'shard',
        data: j,
        opts: {
          jobId: j.id,
          attempts: 3,
          backoff: { type: 'fixed', delay: 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
    let last = -1;
    for (;;) {
      let done = 0;
      for (const j of jobs) {
        if (shardDone(j.out, j.id)) {
          done++;
          continue;
        }
        const job = await queue.getJob(j.id);
        if (job && (await job.getState()) === 'failed')
          throw new FlowlabError(`shard ${j.id} (${j.symbol}) failed on the queue: ${job.failedReason}`);
      }
      if (done !== last) onProgress?.(done, jobs.length);
      last = done;
      if (done === jobs.length) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    return jobs.length - before.size;
  } finally {
    await queue.close();
  }
}

export interface WorkerOptions {
  readonly concurrency?: number;
  /** BullMQ lock duration (ms): how long a killed worker's job waits before another takes it. */
  readonly lockDurationMs?: number;
  readonly stalledIntervalMs?: number;
}

/** Start a BullMQ worker with the sandboxed shard processor. */
export function startWorker(url: string, o: WorkerOptions = {}): Worker<ShardJob> {
  return new Worker<ShardJob>(QUEUE_NAME, PROCESSOR, {
    connection: parseQueueUrl(url),
    concurrency: o.concurrency ?? 1,
    useWorkerThreads: false,
    workerForkOptions: { execArgv: [...CHILD_EXEC_ARGV] },
    lockDuration: o.lockDurationMs ?? 30_000,
    stalledInterval: o.stalledIntervalMs ?? 30_000,
    maxStalledCount: 3,
  });
}
