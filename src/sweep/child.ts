/**
 * A local sweep worker process (forked by pool.ts, with `--import tsx` from the sources, as `child.js` when compiled): runs the
 * shards its parent sends, one at a time, and answers each.
 */
import { describeError } from '../core/errors.js';
import { runShard, type ShardJob } from './shard.js';

process.on('message', (msg: { job: ShardJob }) => {
  runShard(msg.job).then(
    (r) => process.send?.({ id: msg.job.id, ok: true, ran: r.ran }),
    (e) => process.send?.({ id: msg.job.id, ok: false, error: describeError(e) }),
  );
});
process.send?.({ ready: true });
