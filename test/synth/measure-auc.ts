/**
 * Measures the order-flow AUCs of the synthetic market (the figures quoted in
 * src/synth/README.md). Not a test: run it by hand.
 *
 *   node --import tsx test/synth/measure-auc.ts [hours=24] [effect,...] [seed=42]
 *
 * Prints, per effect and per symbol, the rank AUC of the 60 s and 10 s windowed
 * flows (signed trade volume, CKS OFI, 0.6/0.4 fusion) against the sign of the
 * 60 s forward mid change, sampled every second (reference.ts).
 */
import { DEFAULT_SYNTH, generate } from '../../src/synth/synth.js';
import { MemorySink, eventView, flowAuc } from './reference.js';

const hours = Number(process.argv[2] ?? 24);
const effects = (process.argv[3] ?? `${DEFAULT_SYNTH.effect},0`).split(',').map(Number);
const seed = Number(process.argv[4] ?? 42);

for (const effect of effects) {
  const sink = new MemorySink();
  const opts = { ...DEFAULT_SYNTH, hours, effect, seed };
  const t = performance.now();
  await generate(opts, sink);
  const genMs = performance.now() - t;
  const endMs = opts.startMs + hours * 3_600_000;
  const rows: string[] = [];
  const acc = { c60: 0, o60: 0, f60: 0, c10: 0, o10: 0, f10: 0, n: 0 };
  for (const [sym, x] of [...sink.bySymbol.entries()].sort()) {
    const v = eventView(x);
    const a60 = flowAuc(v, opts.startMs, endMs, 60_000);
    const a10 = flowAuc(v, opts.startMs, endMs, 10_000);
    acc.c60 += a60.cvd;
    acc.o60 += a60.ofi;
    acc.f60 += a60.fusion;
    acc.c10 += a10.cvd;
    acc.o10 += a10.ofi;
    acc.f10 += a10.fusion;
    acc.n++;
    rows.push(
      `${sym.padEnd(8)} n=${String(a60.n).padStart(6)}  60s: cvd ${a60.cvd.toFixed(4)} ofi ${a60.ofi.toFixed(4)} fusion ${a60.fusion.toFixed(4)}` +
        `   10s: cvd ${a10.cvd.toFixed(4)} ofi ${a10.ofi.toFixed(4)} fusion ${a10.fusion.toFixed(4)}`,
    );
  }
  const k = acc.n;
  console.log(`effect=${effect} seed=${seed} hours=${hours} (generated in ${(genMs / 1000).toFixed(1)} s)`);
  for (const r of rows) console.log(`  ${r}`);
  console.log(
    `  MEAN     60s: cvd ${(acc.c60 / k).toFixed(4)} ofi ${(acc.o60 / k).toFixed(4)} fusion ${(acc.f60 / k).toFixed(4)}` +
      `   10s: cvd ${(acc.c10 / k).toFixed(4)} ofi ${(acc.o10 / k).toFixed(4)} fusion ${(acc.f10 / k).toFixed(4)}`,
  );
}
