// The entry points the runtime uses: a new container's cgroup (from its spec), an existing
// one (from state.json), and what `features` says about cgroups.
import { readFileSync } from 'node:fs';
import type { LinuxResources, Spec } from '../spec';
import { linux, type Syscalls } from '../linux/syscalls';
import { containerDeviceRules } from './devices';
import { nodeCgroupFs } from './fs';
import { containerCgroupPaths, detectLayout, mountOf, type CgroupLayout } from './layout';
import { CgroupResourceError, type CgroupManager, type CgroupRecord, type CgroupResources } from './manager';
import { hostHugePageSizes, killPid, type DriverOptions } from './common';
import { CgroupV1Manager } from './v1';
import { CgroupV2Manager } from './v2';

export type { CgroupManager, CgroupRecord, CgroupResources, CgroupStats } from './manager';
export { CgroupResourceError } from './manager';

export type ManagerOptions = Partial<DriverOptions> & { sys?: () => Syscalls };

function driverOptions(o: ManagerOptions): DriverOptions & { sys: () => Syscalls } {
  return {
    fs: o.fs ?? nodeCgroupFs,
    warn: o.warn ?? (() => undefined),
    hugePageSizes: o.hugePageSizes ?? hostHugePageSizes,
    kill: o.kill ?? killPid,
    sys: o.sys ?? linux,
  };
}

export function hostLayout(): CgroupLayout {
  return detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** A manager for a container not created yet: paths from linux.cgroupsPath (or the id). */
export function newContainerCgroup(
  spec: Spec,
  id: string,
  options: ManagerOptions & { layout?: CgroupLayout; selfCgroup?: string } = {},
): CgroupManager {
  const layout = options.layout ?? hostLayout();
  const self = options.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8');
  const paths = containerCgroupPaths(layout, spec.linux?.cgroupsPath, id, self);
  const mounts: Record<string, string> = {};
  for (const [k, dir] of Object.entries(paths)) mounts[k] = mountOf(layout, dir) ?? dir;
  const opts = driverOptions(options);
  if (layout.mode === 'v2') return new CgroupV2Manager(paths['']!, mounts['']!, opts);
  return new CgroupV1Manager(paths, mounts, opts);
}

/** The manager of an existing container's cgroup, from its state record. */
export function loadCgroup(record: CgroupRecord, options: ManagerOptions = {}): CgroupManager {
  const opts = driverOptions(options);
  if (record.driver === 'v2') {
    const dir = record.paths[''];
    if (dir === undefined) throw new CgroupResourceError('state.json: cgroup v2 record without a path');
    return new CgroupV2Manager(dir, record.mounts?.[''] ?? dir, opts, record.resources);
  }
  return new CgroupV1Manager({ ...record.paths }, { ...(record.mounts ?? {}) }, opts, record.resources);
}

/** What create applies: the config's resources, and the device rules with runc's defaults. */
export function resourcesFromSpec(spec: Spec): CgroupResources {
  const resources: LinuxResources = JSON.parse(JSON.stringify(spec.linux?.resources ?? {})) as LinuxResources;
  return { resources, devices: containerDeviceRules(spec) };
}
