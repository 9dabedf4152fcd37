// Runs the built bin/tsrun the way clients do, and gives each test its own state root.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `tsrun-test-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A container id unique to this test process. */
export function uniqueId(name: string): string {
  return `t${process.pid}-${name}-${Math.random().toString(36).slice(2, 8)}`;
}
