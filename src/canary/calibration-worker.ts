/**
 * The worker of CalibrationThread (src/canary/calibration-thread.ts): its
 * first message brings the shared done flag and the reply port; each request
 * on the port fits its jobs with `calibrateTrack` (the function the calling
 * thread uses), writes prob and ref into the shared arrays, sets done[0] to
 * the request id, wakes the caller and replies on the port.
 */
import { parentPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { describeError } from '../core/errors.js';
import type { CalibrationReply, CalibrationRequest } from './calibration-thread.js';
import { calibrateTrack } from './rescore.js';

parentPort!.once('message', (init: { done: Int32Array; port: MessagePort }) => {
  const { done, port } = init;
  port.on('message', (req: CalibrationRequest) => {
    let reply: CalibrationReply;
    try {
      for (const j of req.jobs) calibrateTrack(j, req.cal);
      reply = { id: req.id };
    } catch (e) {
      reply = { id: req.id, error: describeError(e) };
    }
    port.postMessage(reply);
    Atomics.store(done, 0, req.id);
    Atomics.notify(done, 0);
  });
  parentPort!.postMessage('ready');
});
