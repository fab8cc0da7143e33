/**
 * notebooks/lib.ts `load()`: the compiled dist/ modules when dist/ was built from the sources as they
 * are now (scripts/dist.mjs `freshDistSync`, the CLI's check), the sources through tsx otherwise, and
 * the compiled modules load synchronously through require() as the notebooks' CommonJS cells need
 * (require of ES modules: no top-level await anywhere in their graph). Without running Jupyter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { load, loadedFrom, projectModules } from '../../notebooks/lib.js';
import { REPO } from '../helpers/cli.js';

// built inside the repository (compiled modules find the repository root above them) under a git-ignored name
const DIST = path.join(REPO, `.dist-nbtest-${process.pid}`);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flowlab-nbload-'));

beforeAll(async () => {
  const dist = await import(pathToFileURL(path.join(REPO, 'scripts/dist.mjs')).href);
  await dist.build(REPO, DIST);
}, 120_000);
afterAll(() => {
  fs.rmSync(DIST, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('notebooks load(): compiled modules when fresh, sources otherwise', () => {
  it('picks dist when it was built from the sources as they are, the sources when forced or without a build', () => {
    expect(projectModules(REPO, DIST, {})).toEqual({ kind: 'dist', dir: path.join(DIST, 'src'), ext: '.js' });
    const src = { kind: 'tsx', dir: path.join(REPO, 'src'), ext: '.ts' };
    expect(projectModules(REPO, DIST, { FLOWLAB_TSX: '1' })).toEqual(src);
    expect(projectModules(REPO, path.join(tmp, 'no-dist'), {})).toEqual(src);
  });

  it('picks the sources once a source differs from the build (edited, then restored)', () => {
    const root = path.join(tmp, 'root');
    for (const d of ['src', 'recorder', 'scripts'])
      fs.cpSync(path.join(REPO, d), path.join(root, d), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
    expect(projectModules(root, DIST, {}).kind).toBe('dist');
    const f = path.join(root, 'src/eval/multislice.ts');
    const text = fs.readFileSync(f, 'utf8');
    fs.writeFileSync(f, `${text}\n// edited\n`);
    expect(projectModules(root, DIST, {})).toEqual({ kind: 'tsx', dir: path.join(root, 'src'), ext: '.ts' });
    fs.writeFileSync(f, text);
    expect(projectModules(root, DIST, {}).kind).toBe('dist');
  });

  it('the compiled modules load through a plain require() (no tsx hook), as a notebook kernel does', () => {
    const mod = (rel: string) => JSON.stringify(path.join(DIST, 'src', `${rel}.js`));
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `const r = require(${mod('canary/rescore')}); const e = require(${mod('core/errors')});
         console.log(typeof r.rescore, typeof r.loadRescoreRun, new e.UsageError('x') instanceof e.FlowlabError);`,
      ],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function function true');
  });

  it("this process's load() uses what projectModules() decides for the repository, once", () => {
    const m = loadedFrom();
    expect(m).toEqual(projectModules());
    expect(loadedFrom()).toBe(m);
    const errors = load('core/errors');
    expect(new errors.UsageError('x')).toBeInstanceOf(errors.FlowlabError);
    expect(load('core/errors')).toBe(errors); // one module cache
  });
});
