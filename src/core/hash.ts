import crypto from 'node:crypto';
import fs from 'node:fs';

/** Read size of `sha256File`. */
const HASH_READ_BYTES = 1 << 20;
/** Read buffers of finished `sha256File` calls, reused by the next (a few: calls may overlap). */
const hashBuffers: Buffer[] = [];

/**
 * sha256 of a file, hex, streamed (never the whole file in memory). The read
 * buffer is reused from call to call: a read stream allocated a new 1 MiB
 * buffer per file, and a replay hashes every input and output part, so those
 * short-lived off-heap buffers added up to a V8 full GC every few parts.
 */
export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  const buf = hashBuffers.pop() ?? Buffer.allocUnsafeSlow(HASH_READ_BYTES);
  try {
    const fh = await fs.promises.open(file, 'r');
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  } finally {
    if (hashBuffers.length < 4) hashBuffers.push(buf);
  }
  return h.digest('hex');
}

/** sha256 of a string or bytes, hex. */
export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted at every level: the canonical form hashed for fingerprints. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort())
      out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
