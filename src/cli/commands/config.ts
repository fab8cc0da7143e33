import type { Command } from 'commander';
import { action, examples, out } from '../run.js';
import { DEFAULT_CONFIG_PATH, configToYaml, loadConfig } from '../../config/load.js';

export function register(program: Command): void {
  program
    .command('config')
    .description('validate a config file and print its fingerprint (and, with --show, the canonical config)')
    .option('--config <yaml>', 'config file', DEFAULT_CONFIG_PATH)
    .option('--show', 'print the full canonical config (defaults filled, env overrides applied)')
    .addHelpText('after', examples('flowlab config --config config/ofi_cvd/prod.yaml --show'))
    .action(
      action((opts: { config: string; show?: boolean }) => {
        const c = loadConfig(opts.config);
        out(`config_fingerprint=${c.fingerprint} version=${c.config.version}`);
        out(`files: ${c.files.join(' <- ')}`);
        const env = Object.entries(c.envApplied);
        if (env.length) out(`env overrides: ${env.map(([k, v]) => `${k}=${v}`).join(' ')}`);
        if (opts.show) out(configToYaml(c.config).trimEnd());
      }),
    );
}
