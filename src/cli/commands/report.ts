/**
 * `flowlab report --run <dir> [--out <dir>]`: re-render ramp_batch_summary.md and
 * charts/*.svg of an existing canary run from its files (byte-identical to the
 * original when the code is the same; the manifest's sha256 say whether it is).
 * Rendered in memory first: in the run's folder only missing files are written
 * (the others already hold these bytes); when a re-render would change a file
 * the run wrote, nothing is written and `--out` takes the re-render elsewhere.
 * `flowlab compare <runA> <runB> [...] [--out file.md] [--allow-different-data]`:
 * the runs side by side (src/report/compare.ts). Parsing and delegation only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action, documentOnStdout, examples, out, shown } from '../run.js';
import { validatePath } from '../../core/validate.js';
import { FlowlabError, UsageError } from '../../core/errors.js';
import { REPLAY_MANIFEST } from '../../core/run-files.js';
import { readRunManifest } from '../../replay/run-folder.js';
import { sha256, sha256File } from '../../core/hash.js';
import { loadCanaryReport, renderRampMarkdown, REPORT_FILES } from '../../report/ramp.js';
import { writeFileAtomic } from '../../report/csv.js';
import { checkCompareOut, loadCompareRun, renderCompare } from '../../report/compare.js';

/** The canary_report folder of a run folder (or the folder itself). */
function reportDirOf(dir: string): string {
  for (const d of [path.join(dir, 'canary_report'), dir])
    if (fs.existsSync(path.join(d, REPORT_FILES.verdicts))) return d;
  throw new FlowlabError(
    `--run: '${dir}' holds no canary_report/${REPORT_FILES.verdicts} (expected a canary run folder <out>/<run_tag>)`,
  );
}

export function register(program: Command): void {
  program
    .command('report')
    .description('re-render the markdown report and charts of an existing canary run from its files')
    .requiredOption('--run <dir>', 'canary run folder <out>/<run_tag> (or its canary_report folder)')
    .option(
      '--out <dir>',
      "write the re-render here (a new or empty folder) instead of the run's canary_report; needed when it differs from the run's files",
    )
    .addHelpText(
      'after',
      examples(
        'flowlab report --run artifacts/runtime/demo',
        'flowlab report --run /tmp/runs/c1/canary_report',
        'flowlab report --run artifacts/runtime/demo --out /tmp/demo-rerender',
      ),
    )
    .action(
      action(async (o: { run: string; out?: string }) => {
        const run = validatePath(o.run, '--run');
        const dir = reportDirOf(run);
        const outDir = o.out === undefined ? undefined : validatePath(o.out, '--out');
        if (
          outDir !== undefined &&
          fs.existsSync(outDir) &&
          (!fs.statSync(outDir).isDirectory() || fs.readdirSync(outDir).length > 0)
        )
          throw new UsageError(`--out: '${o.out}' exists and is not an empty folder (expected a new or empty folder)`);
        // the run's manifest lists the report files it wrote, with sha256 (read strictly, before anything is written)
        const runDir = path.basename(dir) === 'canary_report' ? path.dirname(dir) : dir;
        const listed = new Map<string, string>();
        if (fs.existsSync(path.join(runDir, REPLAY_MANIFEST))) {
          const m = readRunManifest(runDir);
          for (const f of m.canary?.files ?? []) listed.set(f.path.replace(/^canary_report\//, ''), f.sha256);
        }
        // rendered in memory first: the run's files are only written where they are missing or hold these bytes
        const { markdown, charts } = renderRampMarkdown(loadCanaryReport(dir));
        const files = [
          { file: REPORT_FILES.markdown, bytes: markdown },
          ...charts.map((c) => ({ file: c.file, bytes: c.svg })),
        ];
        const target = outDir ?? dir;
        if (outDir === undefined) {
          const changed: string[] = [];
          for (const f of files) {
            const at = path.join(dir, ...f.file.split('/'));
            if (fs.existsSync(at) && (await sha256File(at)) !== sha256(f.bytes)) changed.push(f.file);
          }
          if (changed.length > 0)
            throw new FlowlabError(
              `report: ${changed.length} of ${files.length} files of ${shown(o.run, dir)} would change (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''}): the run's files are kept; pass --out <dir> to write the re-render elsewhere`,
            );
        }
        for (const f of files) {
          const at = path.join(target, ...f.file.split('/'));
          if (outDir === undefined && fs.existsSync(at)) continue; // the same bytes (checked above)
          fs.mkdirSync(path.dirname(at), { recursive: true });
          writeFileAtomic(at, f.bytes);
        }
        let same = 0;
        const differ: string[] = [];
        for (const f of files) {
          const want = listed.get(f.file);
          if (want === undefined) continue;
          if (sha256(f.bytes) === want) same++;
          else differ.push(f.file);
        }
        out(
          `report: ${shown(outDir !== undefined ? o.out! : o.run, path.join(target, REPORT_FILES.markdown))} (+ ${files.length - 1} charts)`,
        );
        if (listed.size === 0) out('the run manifest lists no report files: nothing to check the re-render against');
        else if (differ.length === 0)
          out(`identical to the run: ${same} of ${files.length} files match the manifest sha256`);
        else
          out(
            `${differ.length} of ${files.length} files differ from the ones the run wrote (other code?): ${differ.slice(0, 5).join(', ')}${differ.length > 5 ? ', ...' : ''}`,
          );
      }),
    );

  program
    .command('compare')
    .description(
      'compare canary runs side by side (verdicts, checks with CI and n, incidents by gate, config diff, dataset and code hashes) as markdown',
    )
    .argument('<runs...>', 'two or more canary run folders <out>/<run_tag>')
    .option('--out <file>', 'write the markdown here (default: stdout)')
    .option(
      '--allow-different-data',
      'compare runs that replayed different input data (another dataset or time window; refused by default)',
    )
    .addHelpText(
      'after',
      examples(
        'flowlab compare artifacts/runtime/demo artifacts/runtime/demo-overlay',
        'flowlab compare runs/a runs/b runs/c --out compare.md',
        'flowlab compare runs/btc-aug runs/btc-sep --allow-different-data',
      ),
    )
    .action(
      action(async (runs: string[], o: { out?: string; allowDifferentData?: boolean }) => {
        if (o.out !== undefined) checkCompareOut(validatePath(o.out, '--out'));
        const loaded = runs.map((r) => {
          validatePath(r, 'run folder');
          return loadCompareRun(r);
        });
        const md = renderCompare(loaded, { allowDifferentData: o.allowDifferentData === true });
        if (o.out === undefined) {
          process.stdout.write(md);
          documentOnStdout();
          return;
        }
        const file = validatePath(o.out, '--out');
        writeFileAtomic(file, md);
        out(`wrote ${shown(o.out, file)} (${loaded.length} runs)`);
      }),
    );
}
