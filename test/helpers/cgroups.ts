// What the cgroup tests (v1 on the host, v2 in the VM, the systemd driver) share: a config with
// a cgroups path and resources, removing a cgroup tree, and `tsrun events` streamed until OOM.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { baseConfig } from './bundle';
import { TSRUN } from './tsrun';
import { waitFor } from './wait';

/** The example config running `args`, with linux.cgroupsPath and linux.resources when given. */
export function cgroupConfig(args: string[], cgroupsPath: string | undefined, resources?: object): ReturnType<typeof baseConfig> {
  const c = baseConfig(args);
  if (cgroupsPath !== undefined) c.linux.cgroupsPath = cgroupsPath;
  if (resources) c.linux.resources = resources;
  return c;
}

/** rmdir of a cgroup directory and every directory below it (deepest first); absent is fine. */
export function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) if (statSync(join(dir, n)).isDirectory()) removeCgroupTree(join(dir, n));
  rmdirSync(dir);
}

/**
 * `tsrun events --interval` of a container whose memory limit it keeps hitting, read until it
 * printed two stats records and an OOM event: the records, parsed.
 */
export async function eventsUntilOom(root: string, id: string, interval: string, timeoutMs: number): Promise<Array<{ type: string; id: string; data?: unknown }>> {
  const child = spawn(TSRUN, ['--root', root, 'events', '--interval', interval, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await waitFor(() => out.split('\n').filter((l) => l.includes('"stats"')).length >= 2 && out.includes('"oom"'), 'two stats records and an OOM event', timeoutMs);
  } finally {
    child.kill();
  }
  return out.trim().split('\n').map((l) => JSON.parse(l));
}
