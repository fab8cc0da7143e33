/** `code_sha256` of run manifests covers the recorder's code too (issue 12 item 8): a live run's mapping and writing. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeFiles, codeHash, codeHashOf } from '../../src/replay/code.js';

describe('code_sha256', () => {
  it('lists src/ and recorder/ sources, and changes when a recorder file changes', async () => {
    const files = codeFiles();
    expect(files).toContain('recorder/recorder.ts');
    expect(files).toContain('src/binance/mapper.ts');
    expect(files).toEqual([...files].sort());
    // a copy of the two trees: equal hash; edit a recorder file: another hash
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-code-'));
    const repo = path.resolve(__dirname, '../..');
    for (const rel of files) {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.copyFileSync(path.join(repo, rel), path.join(root, rel));
    }
    expect(codeHashOf(root)).toBe(await codeHash());
    fs.appendFileSync(path.join(root, 'recorder/journal.ts'), '\n// edited\n');
    expect(codeHashOf(root)).not.toBe(await codeHash());
  });
});
