// The processes of a container, found without cgroups: every process that shares the init's
// pid namespace (when the container has its own), or just the init otherwise.
import { readdirSync, readlinkSync } from 'node:fs';

function pidNamespace(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export function containerPids(initPid: number): number[] {
  const ns = pidNamespace(initPid);
  if (ns === null) return [];
  if (ns === pidNamespace('self')) return [initPid];
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (pidNamespace(Number(name)) === ns) pids.push(Number(name));
  }
  return pids.sort((a, b) => a - b);
}
