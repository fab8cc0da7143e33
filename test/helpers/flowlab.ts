/**
 * `flowlab <args>` in this process (the same main() bin/flowlab.mjs calls),
 * stdout and stderr captured: the in-process twin of runCli (./cli.ts), for
 * tests that call the CLI often or need its module state.
 */
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliResult } from './cli.js';

export async function flowlab(args: readonly string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await main(['node', 'flowlab', ...args]);
    return { code, stdout, stderr };
  } finally {
    // only these two spies: a test's own mocks stay in place
    o.mockRestore();
    e.mockRestore();
  }
}
