/**
 * The canary on symbol shards (`canary --threads <n|auto>`): each replay shard
 * (src/replay/shards.ts) runs the pipeline AND the canary engines of its
 * symbols on its own thread; the shards' engine records are merged here into
 * exactly what one engine over all symbols records.
 *
 * Why the engines run in the shards (not one engine on the calling thread fed
 * the shards' samples): the engine acts on the pipeline while it runs (a
 * rollback switches a symbol's fusion weights in its `SymbolCalc`, which
 * changes that symbol's later samples), so its decisions must be taken, in
 * step, beside the pipeline that computes the symbol; and the engine is most of
 * the replay's CPU time (README "Canary threads"). Everything it decides is per
 * symbol: one `SymbolTrack` per symbol (samples, labels, folds, open incidents,
 * multipliers) and one rollback chain per track, applied to that symbol's own
 * calculators only; nothing of one symbol's track is read for another.
 *
 * What is global is only the ORDER of what it records: `incidents` (numbered
 * INC-0001.. by one counter, and quoted by id in later texts: rollback reasons,
 * p1_timeout incidents) and `fingerprints`, both in the order one run records
 * them, the pipeline's global release order across symbols. Each engine stamps
 * every entry with the `OrderKey` of the observer call it was made in
 * (src/pipeline/pipeline.ts; its end-of-run decisions with
 * `[FINISH_PHASE, symbol]`), so a shard's entries carry the keys one run's
 * would. `mergeEngineRecords` merges the shards' entries on those keys,
 * renumbers the incidents in the merged order and rewrites the ids quoted in
 * texts; the per-symbol tables (timeseries, merge, folds) are sorted by symbol
 * and time as `finish` sorts them, and the tracks keep the order they were
 * created in (the symbols' first samples).
 *
 * The main engine and the shadow (the other gate mode) run in every shard;
 * their records come back in `ReplayResult.observed`, their sample columns
 * moved, not copied, between threads.
 */
import type { FlowlabConfig } from '../config/schema.js';
import { FlowlabError } from '../core/errors.js';
import { runnableFile } from '../io/workers.js';
import { compareOrderKeys, type OrderKey } from '../pipeline/pipeline.js';
import type { ObservedRecord, ShardObserver, ShardObserverSpec } from '../replay/shards.js';
import {
  CanaryEngine,
  sortRecords,
  SymbolTrack,
  type CanaryResult,
  type FoldRecord,
  type Incident,
  type MergeRow,
  type StableConfig,
  type TimeseriesRow,
} from './engine.js';
import type { GateMode, GateName } from './gates.js';

/** The engine side a canary report needs (`writeCanaryReport`): a CanaryEngine, or shards' records merged. */
export interface FinishedEngine {
  finish(): CanaryResult;
  stableChain(): StableConfig[];
}

/** What `createShardObserver` takes: the config in force and its rollback chain (`stableChain`). */
export interface CanaryShardData {
  readonly config: FlowlabConfig;
  readonly chain: StableConfig[];
}

/** One shard's engines, finished. */
export interface CanaryShardRecord {
  readonly engine: EngineRecord;
  readonly shadow: EngineRecord;
}

/** A finished engine as plain data (structured-cloneable). */
export interface EngineRecord {
  readonly gateMode: GateMode;
  readonly stableChain: StableConfig[];
  readonly tracks: TrackRecord[];
  readonly timeseries: TimeseriesRow[];
  readonly merge: MergeRow[];
  readonly folds: FoldRecord[];
  readonly incidents: Incident[];
  readonly incidentKeys: OrderKey[];
  readonly fingerprints: CanaryResult['fingerprints'];
  readonly fingerprintKeys: OrderKey[];
}

/** The sample columns of a SymbolTrack (every Growable field). */
const F64 = [
  't',
  'score',
  'published',
  'z_ofi',
  'z_cvd',
  'dir',
  'mid',
  'merge',
  'prob',
  'y',
  'resolved_at',
  'align',
  'align_at',
  'label_tol',
  'rank_u',
] as const;
const I8 = ['session', 'regime', 'vol_bucket', 'vol_tertile', 'scenario', 'calib_paused'] as const;

/** A track's state at the end of the run: its columns, the state the report reads, its open incidents. */
export interface TrackRecord {
  readonly symbol: string;
  readonly f64: Record<(typeof F64)[number], Float64Array>;
  readonly i8: Record<(typeof I8)[number], Int8Array>;
  readonly fold: Int32Array;
  readonly state: {
    sessionNames: readonly string[];
    feeTier: string;
    mergeTol: number;
    nextDecision: number;
    foldStart: number;
    foldIndex: number;
    A: number;
    B: number;
    fitted: boolean;
    calibrationPaused: boolean;
    calibrationGateLive: boolean;
    activeMultiplier: number;
    quietMultiplier: number;
    fingerprint: string;
    stable: StableConfig[];
  };
  /** Open incidents: gate -> index into the engine record's `incidents`. */
  readonly open: [GateName, number][];
}

/** The module `canaryShardObserver` names (this file, as the thread runs it). */
const MODULE = runnableFile(new URL('./shards.ts', import.meta.url));

/** The replay's shard observer for a canary run under `config` with rollback chain `chain`. */
export function canaryShardObserver(config: FlowlabConfig, chain: StableConfig[]): ShardObserverSpec {
  const data: CanaryShardData = { config, chain };
  return { module: MODULE, data, create: createShardObserver };
}

/**
 * The canary's engine and its shadow: an engine in the other gate mode, fed
 * the same samples, so the report says how many incidents each mode raises.
 * The shadow never changes weights, so after a rollback of the main engine its
 * inputs differ from a run in that mode.
 */
export function canaryEngines(config: FlowlabConfig, chain: StableConfig[]): [CanaryEngine, CanaryEngine] {
  const other: GateMode = config.canary.gate_mode === 'seed' ? 'evidence' : 'seed';
  return [
    new CanaryEngine(config, chain),
    new CanaryEngine({ ...config, canary: { ...config.canary, gate_mode: other } }, chain, true),
  ];
}

/** `ShardObserverFactory` of the canary (src/replay/shards.ts builds it in each shard). */
export function createShardObserver(data: unknown): ShardObserver {
  const d = data as CanaryShardData;
  const [engine, shadow] = canaryEngines(d.config, d.chain);
  return {
    // one observer feeding both engines, the main one first
    observer: {
      attach: (o) => {
        engine.attach(o);
        shadow.attach(o);
      },
      onQuote: (symbol, ts, mid) => {
        engine.onQuote(symbol, ts, mid);
        shadow.onQuote(symbol, ts, mid);
      },
      onSample: (symbol, sample, calc) => {
        engine.onSample(symbol, sample, calc);
        shadow.onSample(symbol, sample, calc);
      },
    },
    finish: (): ObservedRecord => {
      const record: CanaryShardRecord = { engine: engineRecord(engine), shadow: engineRecord(shadow) };
      const transfer = new Set<ArrayBuffer>();
      for (const e of [record.engine, record.shadow])
        for (const t of e.tracks) {
          for (const a of [...Object.values(t.f64), ...Object.values(t.i8), t.fold])
            if (a.buffer instanceof ArrayBuffer && a.byteLength > 0) transfer.add(a.buffer);
        }
      return { record, transfer: [...transfer] };
    },
  };
}

/** Finish `engine` (its end-of-run decisions) and take its record. */
export function engineRecord(engine: CanaryEngine): EngineRecord {
  const r = engine.finish();
  const index = new Map(r.incidents.map((inc, i) => [inc, i]));
  const tracks: TrackRecord[] = [];
  for (const tr of r.tracks.values()) {
    const f64 = {} as TrackRecord['f64'];
    for (const k of F64) f64[k] = tr[k].toArray();
    const i8 = {} as TrackRecord['i8'];
    for (const k of I8) i8[k] = tr[k].toArray();
    tracks.push({
      symbol: tr.symbol,
      f64,
      i8,
      fold: tr.fold.toArray(),
      state: {
        sessionNames: tr.sessionNames,
        feeTier: tr.feeTier,
        mergeTol: tr.mergeTol,
        nextDecision: tr.nextDecision,
        foldStart: tr.foldStart,
        foldIndex: tr.foldIndex,
        A: tr.A,
        B: tr.B,
        fitted: tr.fitted,
        calibrationPaused: tr.calibrationPaused,
        calibrationGateLive: tr.calibrationGateLive,
        activeMultiplier: tr.activeMultiplier,
        quietMultiplier: tr.quietMultiplier,
        fingerprint: tr.fingerprint,
        stable: tr.stable,
      },
      open: [...tr.open].map(([g, inc]) => [g, index.get(inc)!]),
    });
  }
  if (engine.incidentKeys.length !== r.incidents.length || engine.fingerprintKeys.length !== r.fingerprints.length)
    throw new Error('canary shard: an engine without order keys (was it attached to its pipeline?)');
  return {
    gateMode: r.gateMode,
    stableChain: engine.stableChain(),
    tracks,
    timeseries: r.timeseries,
    merge: r.merge,
    folds: r.folds,
    incidents: r.incidents,
    incidentKeys: engine.incidentKeys,
    fingerprints: r.fingerprints,
    fingerprintKeys: engine.fingerprintKeys,
  };
}

/**
 * The entries of several shards' lists, each in its own release order, merged
 * into the one order (`OrderKey`, then shard index on a tie). Throws when a
 * shard's keys are out of order: its entries could not be placed as one run
 * places them.
 */
function mergeByKey<T>(lists: readonly (readonly T[])[], keys: readonly (readonly OrderKey[])[]): [T, number][] {
  // one shard: its own order is the run's (no keys to check against another's)
  if (lists.length === 1) return lists[0].map((item) => [item, 0]);
  const all: { item: T; key: OrderKey; shard: number; local: number }[] = [];
  lists.forEach((list, s) => {
    list.forEach((item, i) => {
      if (i > 0 && compareOrderKeys(keys[s][i - 1], keys[s][i]) > 0)
        throw new FlowlabError(
          `canary shards: shard ${s + 1}'s entries are not in release order at entry ${i + 1} (${JSON.stringify(keys[s][i - 1])} then ${JSON.stringify(keys[s][i])}); run with --threads 1`,
          1,
        );
      all.push({ item, key: keys[s][i], shard: s, local: i });
    });
  });
  all.sort((a, b) => compareOrderKeys(a.key, b.key) || a.shard - b.shard || a.local - b.local);
  return all.map((e) => [e.item, e.shard]);
}

/** Incident ids as engine.ts writes them (INC- and at least four digits). */
const INCIDENT_ID = /INC-\d+/g;

/**
 * The shards' engine records (disjoint symbols, in shard order) as one engine
 * over all of them: the same CanaryResult, entry for entry, as that engine's
 * `finish()`.
 */
export function mergeEngineRecords(records: readonly EngineRecord[], horizonMs: number): FinishedEngine {
  if (records.length === 0) throw new Error('mergeEngineRecords: no records');
  const chain = records[0].stableChain;
  // incidents: merged order, renumbered; every id quoted in a text follows its incident
  const incidents = mergeByKey(
    records.map((r) => r.incidents),
    records.map((r) => r.incidentKeys),
  );
  const renamed = records.map(() => new Map<string, string>());
  incidents.forEach(([inc, s], i) => {
    renamed[s].set(inc.id, `INC-${String(i + 1).padStart(4, '0')}`);
  });
  const rename = (text: string, s: number) => text.replace(INCIDENT_ID, (id) => renamed[s].get(id) ?? id);
  const merged: Incident[] = incidents.map(([inc, s]) => ({
    ...inc,
    id: renamed[s].get(inc.id)!,
    why: rename(inc.why, s),
    action: rename(inc.action, s),
    actions: inc.actions.map((a) => ({ ...a, action: rename(a.action, s) })),
  }));
  const fingerprints = mergeByKey(
    records.map((r) => r.fingerprints),
    records.map((r) => r.fingerprintKeys),
  ).map(([f, s]) => ({ ...f, reason: rename(f.reason, s) }));
  // tracks in the order they were created: each one's first entry is its 'config at start' fingerprint
  const byShard = new Map<string, { t: TrackRecord; s: number }>();
  records.forEach((r, s) => {
    for (const t of r.tracks) byShard.set(t.symbol, { t, s });
  });
  const mergedOf = new Map<Incident, Incident>();
  incidents.forEach(([inc], i) => mergedOf.set(inc, merged[i]));
  const tracks = new Map<string, SymbolTrack>();
  for (const f of fingerprints) {
    if (tracks.has(f.symbol)) continue;
    const e = byShard.get(f.symbol);
    if (!e) continue;
    tracks.set(
      f.symbol,
      restoreTrack(e.t, horizonMs, (i) => mergedOf.get(records[e.s].incidents[i])!),
    );
  }
  const result = {
    tracks,
    timeseries: records.flatMap((r) => r.timeseries),
    merge: records.flatMap((r) => r.merge),
    incidents: merged,
    folds: records.flatMap((r) => r.folds),
    fingerprints,
    gateMode: records[0].gateMode,
  };
  sortRecords(result);
  return { finish: () => result, stableChain: () => chain };
}

/** A SymbolTrack holding a record's columns and end-of-run state (not resumable: no label resolver state). */
function restoreTrack(t: TrackRecord, horizonMs: number, incident: (i: number) => Incident): SymbolTrack {
  const st = t.state;
  const tr = new SymbolTrack(t.symbol, horizonMs, st.mergeTol, st.stable);
  for (const k of F64) tr[k].assign(t.f64[k]);
  for (const k of I8) tr[k].assign(t.i8[k]);
  tr.fold.assign(t.fold);
  tr.sessionNames = st.sessionNames;
  tr.feeTier = st.feeTier;
  tr.nextDecision = st.nextDecision;
  tr.foldStart = st.foldStart;
  tr.foldIndex = st.foldIndex;
  tr.A = st.A;
  tr.B = st.B;
  tr.fitted = st.fitted;
  tr.calibrationPaused = st.calibrationPaused;
  tr.calibrationGateLive = st.calibrationGateLive;
  tr.activeMultiplier = st.activeMultiplier;
  tr.quietMultiplier = st.quietMultiplier;
  tr.fingerprint = st.fingerprint;
  for (const [g, i] of t.open) tr.open.set(g, incident(i));
  return tr;
}
