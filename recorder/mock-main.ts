/**
 * Standalone mock exchange process (benchmarks run it beside the recorder so
 * the two do not share one event loop):
 *   node --import tsx recorder/mock-main.ts <data> [maxLines] [faults] [window]
 * Prints one JSON line `{"url": ..., "n": ...}` when listening; exits on SIGTERM.
 */
import { loadSource } from './mock-source.js';
import { MockExchange } from './mock-exchange.js';
import { parseFaults } from './faults.js';

const [data, maxLines, faults, window] = process.argv.slice(2);
const source = await loadSource(data, maxLines ? Number(maxLines) : undefined);
const mock = new MockExchange({ source, faults: parseFaults(faults), window: window ? Number(window) : 4000 });
const a = await mock.start(0);
process.stdout.write(`${JSON.stringify({ url: a.url, n: source.n, streams: source.streams })}\n`);
const stop = async () => {
  await mock.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
