// Shared by the checkpoint/restore tests on the host (test/integration/checkpoint-restore.test.ts)
// and in the VM (test/vm/checkpoint-restore.test.ts): a busybox container counting in a bind
// mount, and small readers of its state.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { tsrunToFiles, type Result } from './tsrun';
import { baseConfig, makeBundle } from './bundle';

export class CriuTestRoot {
  constructor(
    readonly root: string,
    readonly work: string,
    readonly timeout: number,
  ) {}

  rt(args: string[], env?: NodeJS.ProcessEnv): Result {
    return tsrunToFiles(['--root', this.root, ...args], { timeout: this.timeout, ...(env ? { env } : {}) });
  }

  state(id: string): { status: string; pid: number } {
    const r = this.rt(['state', id]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  }

  /** A container counting in /data/count (a bind mount of a host directory), stdio closed first. */
  counterBundle(name: string, opts: { until?: number; exitCode?: number } = {}): { bundle: string; data: string } {
    const data = join(this.work, `data-${name}`);
    mkdirSync(data, { recursive: true });
    const loop = opts.until === undefined ? 'while :; do' : `while [ $i -lt ${opts.until} ]; do`;
    const script = `exec </dev/null >/dev/null 2>&1; i=0; ${loop} i=$((i+1)); echo $i > /data/count; sleep 0.2; done; exit ${opts.exitCode ?? 0}`;
    const config = baseConfig(['sh', '-c', script]);
    config.process.terminal = false;
    (config.mounts as unknown[]).push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'] });
    // A prestart hook records the state it was given (create's, then restore's).
    (config as Record<string, unknown>).hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${data}/prestart.json`] }] };
    return { bundle: makeBundle(config), data };
  }
}

export function count(data: string): number {
  return Number(readFileSync(join(data, 'count'), 'utf8').trim());
}

export function cgroupDir(id: string): string {
  return `/sys/fs/cgroup/${id}`;
}
