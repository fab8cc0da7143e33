/**
 * `flowlab report --run <dir>`: re-render ramp_batch_summary.md and charts/*.svg
 * of an existing canary run from its files (byte-identical to the original
 * when the code is the same; the manifest's sha256 say whether it is).
 * `flowlab compare <runA> <runB> [...] [--out file.md] [--allow-different-data]`:
 * the runs side by side (src/report/compare.ts). Parsing and delegation only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action, documentOnStdout, examples, out, shown } from '../run.js';
import { validatePath } from '../../core/validate.js';
import { FlowlabError } from '../../core/errors.js';
import { REPLAY_MANIFEST } from '../../core/run-files.js';
import { readRunManifest } from '../../replay/run-folder.js';
import { sha256File } from '../../core/hash.js';
import { renderRampReport, REPORT_FILES } from '../../report/ramp.js';
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
    .addHelpText(
      'after',
      examples('flowlab report --run artifacts/runtime/demo', 'flowlab report --run /tmp/runs/c1/canary_report'),
    )
    .action(
      action(async (o: { run: string }) => {
        const run = validatePath(o.run, '--run');
        const dir = reportDirOf(run);
        // the run's manifest lists the report files it wrote, with sha256 (read strictly, before anything is written)
        const runDir = path.basename(dir) === 'canary_report' ? path.dirname(dir) : dir;
        const listed = new Map<string, string>();
        if (fs.existsSync(path.join(runDir, REPLAY_MANIFEST))) {
          const m = readRunManifest(runDir);
          for (const f of m.canary?.files ?? []) listed.set(f.path.replace(/^canary_report\//, ''), f.sha256);
        }
        const r = renderRampReport(dir);
        let same = 0;
        const differ: string[] = [];
        for (const f of r.files) {
          const want = listed.get(f);
          if (want === undefined) continue;
          if ((await sha256File(path.join(dir, ...f.split('/')))) === want) same++;
          else differ.push(f);
        }
        out(`report: ${shown(o.run, path.join(dir, REPORT_FILES.markdown))} (+ ${r.files.length - 1} charts)`);
        if (listed.size === 0) out('the run manifest lists no report files: nothing to check the re-render against');
        else if (differ.length === 0)
          out(`identical to the run: ${same} of ${r.files.length} files match the manifest sha256`);
        else
          out(
            `${differ.length} of ${r.files.length} files differ from the ones the run wrote (other code?): ${differ.slice(0, 5).join(', ')}${differ.length > 5 ? ', ...' : ''}`,
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
