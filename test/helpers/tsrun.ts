// Runs the built bin/tsrun the way clients do, and gives each test its own state root.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(process.cwd());
export const TSRUN = join(REPO, 'bin', 'tsrun');
export const SHARED = process.env.TSRUN_SHARED ?? resolve(REPO, '..', 'shared');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function tsrun(args: string[], options: SpawnSyncOptions = {}): Result {
  if (!existsSync(TSRUN)) throw new Error(`${TSRUN} is missing: run \`make build\` first`);
  const r = spawnSync(TSRUN, args, { encoding: 'utf8', timeout: 30_000, ...options });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Runs tsrun with stdout/stderr going to files rather than pipes: for `create`, whose
 * container keeps the stdio it was given (a pipe would stay open until the container exits).
 */
export function tsrunToFiles(args: string[], options: SpawnSyncOptions = {}): Result {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-out-'));
  const out = openSync(join(dir, 'stdout'), 'w+');
  const err = openSync(join(dir, 'stderr'), 'w+');
  try {
    const r = spawnSync(TSRUN, args, { timeout: 30_000, ...options, stdio: ['ignore', out, err] });
    if (r.error) throw r.error;
    return { code: r.status, signal: r.signal, stdout: readFileSync(join(dir, 'stdout'), 'utf8'), stderr: readFileSync(join(dir, 'stderr'), 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `tsrun-test-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A container id unique to this test process. */
export function uniqueId(name: string): string {
  return `t${process.pid}-${name}-${Math.random().toString(36).slice(2, 8)}`;
}
