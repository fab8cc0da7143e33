/**
 * Local sweep mode: a pool of worker processes (one per core by default), each
 * running one shard at a time; shards are handed out in order, and a failed
 * shard fails the sweep (after the running ones finish) with its message.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { CHILD_EXEC_ARGV, runnableFile } from '../io/workers.js';
import { FlowlabError } from '../core/errors.js';
import type { ShardJob } from './shard.js';

const CHILD = runnableFile(new URL('./child.ts', import.meta.url));

/** Called after every shard with (finished, total, ran). */
export type PoolProgress = (done: number, total: number, ran: boolean) => void;

type Reply = { ready: true } | { id: string; ok: true; ran: boolean } | { id: string; ok: false; error: string };

/** Run `jobs` on `workers` processes. Resolves with how many shards actually ran (the rest were done already). */
export async function runLocal(jobs: readonly ShardJob[], workers: number, onProgress?: PoolProgress): Promise<number> {
  const n = Math.max(1, Math.min(workers, jobs.length));
  let next = 0;
  let done = 0;
  let ran = 0;
  let failure: string | null = null;
  const children: ChildProcess[] = [];
  await new Promise<void>((resolve, reject) => {
    let live = n;
    const finishOne = (c: ChildProcess) => {
      c.kill();
      if (--live === 0) failure ? reject(new FlowlabError(failure)) : resolve();
    };
    const feed = (c: ChildProcess) => {
      if (failure !== null || next >= jobs.length) return finishOne(c);
      c.send({ job: jobs[next++] });
    };
    for (let i = 0; i < n; i++) {
      const c = fork(CHILD, [], { execArgv: [...CHILD_EXEC_ARGV], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(c);
      let exited = false;
      c.on('message', (m: Reply) => {
        if ('ready' in m) return feed(c);
        done++;
        if (m.ok) {
          if (m.ran) ran++;
          onProgress?.(done, jobs.length, m.ran);
        } else failure ??= `shard ${m.id}: ${m.error}`;
        feed(c);
      });
      c.on('exit', (code, signal) => {
        if (exited) return;
        exited = true;
        if (c.killed) return;
        failure ??= `a sweep worker process exited (${signal ?? `code ${code}`}) before finishing`;
        if (--live === 0) reject(new FlowlabError(failure));
      });
      c.on('error', (e) => {
        failure ??= `a sweep worker process failed: ${e.message}`;
      });
    }
  }).finally(() => {
    for (const c of children) if (c.exitCode === null && !c.killed) c.kill();
  });
  return ran;
}
