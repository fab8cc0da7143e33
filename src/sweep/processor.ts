/**
 * The BullMQ sandboxed processor of `flowlab worker`: BullMQ forks a child
 * process for it (with `--import tsx` from the sources, none when compiled), so a CPU-bound canary replay never
 * stalls the worker's lock renewals and heartbeats.
 */
import type { SandboxedJob } from 'bullmq';
import { runShard, type ShardJob } from './shard.js';

export default async function process(job: SandboxedJob<ShardJob>): Promise<{ ran: boolean }> {
  const r = await runShard(job.data);
  return { ran: r.ran };
}
