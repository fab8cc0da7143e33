/**
 * `flowlab compare <runA> <runB> [...]`: canary runs side by side, as markdown.
 *
 * Read from each run folder (`<out>/<run_tag>`): `manifest.json` (dataset
 * path and content hash, code hash, config fingerprint and canonical config,
 * selection) and `canary_report/verdicts.json` + `incidents.json`. The files
 * are read generically (only the fields shown are required), so the compare
 * keeps working when their content grows. Sections:
 *   runs (tag, dataset and code hashes, config fingerprint, selection),
 *   verdict per symbol, every check with value, CI and n per run,
 *   incidents by gate (and severity), config differences by dotted key.
 * Runs that replayed different input data (the manifest's sha256 over the
 * replayed part files: another dataset, or another window of the same one)
 * are refused unless `allowDifferentData`: their figures are not comparable.
 * Deterministic: symbols, checks, gates and keys sorted; no clock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FlowlabError, UsageError } from '../core/errors.js';
import { REPLAY_MANIFEST } from '../core/run-files.js';
import { SYMBOL_RE, zTag } from '../core/validate.js';
import { codeSpan, mdTable as table } from './ramp.js';

export interface CompareCheck {
  name: string;
  label: string;
  value: number | null;
  ci: [number, number] | null;
  n: number | null;
  status: string;
  detail: string | null;
}

export interface CompareRun {
  /** The folder as the user gave it. */
  readonly dir: string;
  readonly runTag: string;
  readonly datasetPath: string;
  readonly datasetSha256: string;
  readonly codeSha256: string;
  readonly version: string;
  readonly fingerprint: string;
  readonly selection: { symbols: string[]; from_ms: number | null; to_ms: number | null };
  readonly config: unknown;
  readonly verdicts: Record<string, { include: boolean; reason: string; checks: CompareCheck[] }>;
  readonly incidents: { gate: string; severity: string; symbol: string; open: boolean }[];
}

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  if (!fs.existsSync(file))
    throw new FlowlabError(`'${file}' is missing (expected a canary run folder <out>/<run_tag>)`);
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Json;
  } catch (e) {
    throw new FlowlabError(`'${file}' is not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Reads one canary run folder (or its canary_report folder). */
export function loadCompareRun(dir: string): CompareRun {
  let runDir = path.resolve(dir);
  if (path.basename(runDir) === 'canary_report' && !fs.existsSync(path.join(runDir, REPLAY_MANIFEST)))
    runDir = path.dirname(runDir);
  const m = readJson(path.join(runDir, REPLAY_MANIFEST));
  const vFile = path.join(runDir, 'canary_report', 'verdicts.json');
  const v = readJson(vFile);
  const inc = readJson(path.join(runDir, 'canary_report', 'incidents.json'));
  const ds = (m.dataset ?? {}) as Json;
  const sel = (m.selection ?? {}) as Json;
  const verdicts: CompareRun['verdicts'] = {};
  const syms = (v.symbols ?? {}) as Record<string, Json>;
  if (syms === null || typeof syms !== 'object' || Array.isArray(syms))
    throw new FlowlabError(`${vFile}: key symbols is not an object (expected symbol -> verdict)`);
  for (const [sym, sv] of Object.entries(syms)) {
    // symbols and tags end up in markdown headings and tables: the CLI's patterns, nothing else
    if (!SYMBOL_RE.test(sym))
      throw new FlowlabError(`${vFile}: key symbols.${JSON.stringify(sym)} is not a symbol (expected e.g. BTCUSDT)`);
    if (sv === null || typeof sv !== 'object' || Array.isArray(sv))
      throw new FlowlabError(`${vFile}: key symbols.${sym} is not an object (expected a verdict with checks)`);
    const checks = Array.isArray(sv.checks) ? (sv.checks as Json[]) : [];
    if (checks.some((c) => c === null || typeof c !== 'object'))
      throw new FlowlabError(`${vFile}: key symbols.${sym}.checks holds a non-object (expected check objects)`);
    verdicts[sym] = {
      include: sv.include_in_pool === true,
      reason: str(sv.reason),
      checks: checks.map((c) => ({
        name: str(c.name, '?'),
        label: str(c.label, str(c.name, '?')),
        value: numOrNull(c.value),
        ci:
          Array.isArray(c.ci) && c.ci.length === 2 && c.ci.every((x) => numOrNull(x) !== null)
            ? [c.ci[0] as number, c.ci[1] as number]
            : null,
        n: numOrNull(c.n),
        status: str(c.status, '?'),
        detail: typeof c.detail === 'string' ? c.detail : null,
      })),
    };
  }
  const list = Array.isArray(inc.incidents) ? (inc.incidents as Json[]) : [];
  const runTag = str(v.run_tag, str(m.run_tag, path.basename(runDir)));
  if (!zTag.safeParse(runTag).success)
    throw new FlowlabError(
      `${vFile}: run_tag ${JSON.stringify(runTag)} is not a run tag (expected 1-64 of A-Z a-z 0-9 . _ -, not starting with '.')`,
    );
  if (list.some((i) => i === null || typeof i !== 'object'))
    throw new FlowlabError(
      `${path.join(runDir, 'canary_report', 'incidents.json')}: key incidents holds a non-object (expected incident objects)`,
    );
  return {
    dir,
    runTag,
    datasetPath: str(ds.path),
    datasetSha256: str(ds.files_sha256, '(unknown)'),
    codeSha256: str(m.code_sha256, '(unknown)'),
    version: str(m.flowlab_version, '?'),
    fingerprint: str(m.config_fingerprint, str(v.config_fingerprint, '?')),
    selection: {
      symbols: Array.isArray(sel.symbols) ? (sel.symbols as unknown[]).map(String) : [],
      from_ms: numOrNull(sel.from_ms),
      to_ms: numOrNull(sel.to_ms),
    },
    config: m.config ?? null,
    verdicts,
    incidents: list.map((i) => ({
      gate: str(i.gate, '?'),
      severity: str(i.severity, '?'),
      symbol: str(i.symbol, '?'),
      open: i.closed_at_ms === null || i.closed_at_ms === undefined,
    })),
  };
}

/** Dotted key -> JSON value of every leaf (arrays are leaves). */
export function flatten(v: unknown, prefix = '', out: Map<string, string> = new Map()): Map<string, string> {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v as Json).sort();
    if (keys.length === 0 && prefix) out.set(prefix, '{}');
    for (const k of keys) flatten((v as Json)[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

const f3 = (x: number) =>
  Number.isInteger(x) ? x.toLocaleString('en-US') : Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3);
const iso = (ms: number | null) => (ms === null ? 'start' : new Date(ms).toISOString());
const short = (h: string) => (h.length > 16 ? h.slice(0, 16) : h);

function checkText(c: CompareCheck | undefined): string {
  if (!c) return '—';
  const mark = c.status === 'pass' ? '✅' : c.status === 'fail' ? '❌' : '⚠️';
  if (c.value === null) return `${mark} insufficient${c.n !== null ? ` (n=${c.n.toLocaleString('en-US')})` : ''}`;
  const ci = c.ci ? ` [${f3(c.ci[0])}, ${f3(c.ci[1])}]` : '';
  const n = c.n !== null ? ` n=${c.n.toLocaleString('en-US')}` : '';
  return `${mark} ${f3(c.value)}${ci}${n}`;
}

/** The first line of every compare markdown (so a later --out onto it is known to be one). */
export const COMPARE_TITLE = '# Canary runs compared';

/**
 * `--out` of compare: a new file, or one an earlier compare wrote (its first
 * line is COMPARE_TITLE). Any other existing file is the user's: refused.
 */
export function checkCompareOut(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // absent (a missing folder or other trouble is reported by the write, naming the file)
  }
  if (!st.isFile())
    throw new UsageError(`--out '${file}' exists and is not a file (expected a markdown file to write)`);
  const fd = fs.openSync(file, 'r');
  let head: string;
  try {
    const b = Buffer.alloc(COMPARE_TITLE.length);
    head = b.subarray(0, fs.readSync(fd, b, 0, b.length, 0)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  if (head !== COMPARE_TITLE)
    throw new UsageError(
      `--out '${file}' exists and is not a flowlab compare (it does not start with '${COMPARE_TITLE}'); refusing to replace it (choose a new file)`,
    );
}

/** The compare markdown. Throws a UsageError for runs of different datasets unless allowed. */
export function renderCompare(runs: readonly CompareRun[], opts: { allowDifferentData?: boolean } = {}): string {
  if (runs.length < 2) throw new UsageError('compare: give at least two run folders');
  const hashes = new Set(runs.map((r) => r.datasetSha256));
  if (hashes.size > 1 && !opts.allowDifferentData) {
    throw new UsageError(
      `compare: the runs replayed different input data (sha256 of the replayed part files: ${runs.map((r) => `${r.dir}: ${short(r.datasetSha256)}`).join(', ')}); their figures are not comparable (pass --allow-different-data to compare anyway)`,
    );
  }
  const names = runs.map((r, i) => `${String.fromCharCode(65 + (i % 26))}${i >= 26 ? i : ''} ${r.runTag}`);
  const L: string[] = [];
  L.push(`${COMPARE_TITLE} — ${runs.map((r) => r.runTag).join(' vs ')}`, '');
  if (hashes.size > 1)
    L.push('> ⚠️ **The runs replayed different input data**: figures are not directly comparable.', '');
  if (new Set(runs.map((r) => JSON.stringify(r.selection))).size > 1)
    L.push('> ⚠️ The runs cover different selections (symbols or time range): see the selection row.', '');
  L.push('## Runs', '');
  L.push(
    ...table(
      ['', ...names],
      [
        ['folder', ...runs.map((r) => codeSpan(r.dir))],
        ['dataset', ...runs.map((r) => codeSpan(r.datasetPath))],
        ['input data sha256 (replayed part files)', ...runs.map((r) => `\`${short(r.datasetSha256)}\``)],
        [
          'selection',
          ...runs.map(
            (r) =>
              `${r.selection.symbols.join(',')} ${iso(r.selection.from_ms)} .. ${r.selection.to_ms === null ? 'end' : iso(r.selection.to_ms)}`,
          ),
        ],
        ['config fingerprint', ...runs.map((r) => `\`${r.fingerprint}\``)],
        ['code sha256', ...runs.map((r) => `\`${short(r.codeSha256)}\``)],
        ['flowlab version', ...runs.map((r) => r.version)],
      ],
    ),
    '',
  );

  const symbols = [...new Set(runs.flatMap((r) => Object.keys(r.verdicts)))].sort();
  L.push('## Verdict per symbol', '');
  L.push(
    ...table(
      ['symbol', ...names],
      symbols.map((s) => [
        s,
        ...runs.map((r) => {
          const v = r.verdicts[s];
          return v ? `${v.include ? '✅ include' : '❌ hold'} — ${v.reason}` : '— (not in run)';
        }),
      ]),
    ),
    '',
  );

  L.push('## Checks (value [95% CI] n)', '');
  for (const s of symbols) {
    const checkNames = [...new Set(runs.flatMap((r) => (r.verdicts[s]?.checks ?? []).map((c) => c.name)))];
    const label = (n: string) =>
      runs.map((r) => r.verdicts[s]?.checks.find((c) => c.name === n)?.label).find(Boolean) ?? n;
    L.push(`### ${s}`, '');
    L.push(
      ...table(
        ['check', ...names],
        checkNames.map((n) => [
          label(n),
          ...runs.map((r) => checkText(r.verdicts[s]?.checks.find((c) => c.name === n))),
        ]),
      ),
      '',
    );
  }

  L.push('## Incidents by gate (total, still open)', '');
  const gates = [...new Set(runs.flatMap((r) => r.incidents.map((i) => `${i.gate}\u0000${i.severity}`)))].sort();
  if (gates.length === 0) L.push('No incidents in any run.', '');
  else {
    const rows = gates.map((g) => {
      const [gate, sev] = g.split('\u0000');
      return [
        `${gate} (${sev})`,
        ...runs.map((r) => {
          const mine = r.incidents.filter((i) => i.gate === gate && i.severity === sev);
          return `${mine.length.toLocaleString('en-US')} (${mine.filter((i) => i.open).length} open)`;
        }),
      ];
    });
    rows.push([
      'all',
      ...runs.map(
        (r) => `${r.incidents.length.toLocaleString('en-US')} (${r.incidents.filter((i) => i.open).length} open)`,
      ),
    ]);
    L.push(...table(['gate (severity)', ...names], rows), '');
  }

  L.push('## Config differences (canonical config, by key)', '');
  const flat = runs.map((r) => flatten(r.config));
  const keys = [...new Set(flat.flatMap((f) => [...f.keys()]))].sort();
  const diff = keys.filter((k) => new Set(flat.map((f) => f.get(k) ?? '(absent)')).size > 1);
  if (diff.length === 0) L.push(`No differences: every run has config fingerprint \`${runs[0].fingerprint}\`.`, '');
  else
    L.push(
      ...table(
        ['key', ...names],
        diff.map((k) => [codeSpan(k), ...flat.map((f) => codeSpan(f.get(k) ?? '(absent)'))]),
      ),
      '',
    );
  return `${L.join('\n').trimEnd()}\n`;
}
