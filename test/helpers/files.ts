/** File-tree helpers shared by the byte-identity tests. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** "relative path sha256" of every file under `dir`, sorted (folders whose name `skip` accepts are not entered). */
export function folderHashes(dir: string, skip: (folder: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (!skip(e.name)) walk(p);
      } else
        out.push(`${path.relative(dir, p)} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out.sort();
}
