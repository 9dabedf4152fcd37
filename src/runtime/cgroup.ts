// The runtime's side of a container's cgroup: made by `create` while the init's Node starts
// (a bad resource then kills the init and leaves nothing), joined by the init as late as possible,
// found again from state.json by the other commands, removed by `delete`.
import type { CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import type { Spec } from '../spec';
import type { ContainerRecord } from '../state/store';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { hostLayout, loadCgroup, newContainerCgroup, resourcesFromSpec, type CgroupManager, type CgroupRecord } from '../cgroups';
import { MigrationWarmup } from '../cgroups/migration-warmup';
import { CgroupFileError, nodeCgroupFs, writePid } from '../cgroups/fs';
import { sleepMs } from '../linux/sleep';
import { isSet } from '../cgroups/common';
import { noteCreating } from './creating';
import type { ParentChannel } from './channel';

/**
 * Makes the container's cgroup and applies the config's resources. Rootless (not root, and
 * --rootless not false) without linux.cgroupsPath nor resources: a permission error means
 * "no cgroup" rather than a failure, as with runc.
 */
export function createContainerCgroup(ctx: CommandContext, spec: Spec, id: string): CgroupManager | undefined {
  const warn = (m: string) => ctx.logger.warn(m);
  const manager = ctx.options.systemdCgroup ? systemdDriver().newSystemdCgroup(spec, id, { warn }) : newContainerCgroup(spec, id, { warn });
  // Before any directory exists: a create killed from here on leaves `delete --force` the paths.
  noteCreating(ctx.store.dir(id), { cgroup: manager.record() });
  try {
    manager.create(resourcesFromSpec(spec));
  } catch (err) {
    const rootless = ctx.options.rootless === 'true' || (ctx.options.rootless === 'auto' && process.geteuid?.() !== 0);
    const permission = err instanceof CgroupFileError && (err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS');
    const { devices: _devices, ...limits } = spec.linux?.resources ?? {};
    void _devices;
    if (rootless && permission && !spec.linux?.cgroupsPath && !isSet(limits)) {
      ctx.logger.debug(`no cgroup for the container: ${(err as Error).message}`);
      return undefined;
    }
    throw err;
  }
  ctx.logger.debug(`cgroup ${JSON.stringify(manager.record().paths)}`);
  return manager;
}

/** The systemd driver and its D-Bus client: loaded only when a container uses them. */
function systemdDriver(): typeof import('../cgroups/systemd') {
  return require('../cgroups/systemd') as typeof import('../cgroups/systemd');
}

/**
 * Puts the init into its cgroup: a systemd unit is started with it (and the resources are
 * applied then); a cgroupfs cgroup, made at create, is joined.
 */
export async function joinInit(manager: CgroupManager | undefined, pid: number): Promise<void> {
  if (manager?.service) await manager.service.start(pid);
  else manager?.join(pid);
}

/**
 * Puts an `exec`'d process into the container's cgroup. On cgroup v2 a cgroup with children
 * that have controllers takes no process (EBUSY: "no internal processes"), which is the case
 * when the container runs its own service manager (systemd inside made init.scope and
 * friends): the process then joins the init's own cgroup, as runc does.
 */
export function joinExec(manager: CgroupManager | undefined, pid: number, initPid: number): void {
  if (!manager) return;
  try {
    manager.join(pid);
  } catch (err) {
    const { driver, paths, mounts } = manager.record();
    const dir = paths[''];
    const mount = mounts[''];
    if (driver !== 'v2' || !(err instanceof CgroupFileError) || err.code !== 'EBUSY' || dir === undefined || mount === undefined) throw err;
    const own = /^0::(\/.*)$/m.exec(readFileSync(`/proc/${initPid}/cgroup`, 'utf8'))?.[1];
    const initDir = own === undefined ? undefined : posix.join(mount, own);
    if (initDir === undefined || !initDir.startsWith(dir + '/')) throw err;
    writePid(nodeCgroupFs, initDir, pid);
  }
}

/** Host mount point of each hierarchy → the container's directory in it (for `cgroup` mounts). */
export function cgroupMountDirs(manager: CgroupManager | undefined): Record<string, string> | undefined {
  if (!manager) return undefined;
  const { paths, mounts } = manager.record();
  const out: Record<string, string> = {};
  for (const [k, dir] of Object.entries(paths)) {
    const mount = mounts[k];
    if (mount !== undefined) out[mount] = dir;
  }
  return out;
}

/** The cgroup of an existing container, or undefined when it has none. */
export function containerCgroup(ctx: CommandContext, record: ContainerRecord): CgroupManager | undefined {
  if (!record.cgroup) return undefined;
  return recordedCgroup(record.cgroup, (m) => ctx.logger.warn(m));
}

/** The manager of a recorded cgroup (state.json or a create's note), whichever driver made it. */
export function recordedCgroup(record: CgroupRecord, warn: (m: string) => void): CgroupManager {
  if (record.systemd) return systemdDriver().loadSystemdCgroup(record, { warn });
  return loadCgroup(record, { warn });
}

/** Like containerCgroup, for commands that cannot work without one (pause, update, events...). */
export function requireCgroup(ctx: CommandContext, record: ContainerRecord): CgroupManager {
  const m = containerCgroup(ctx, record);
  if (!m) throw new CommandError(`container ${record.id} has no cgroup`);
  return m;
}

/**
 * SIGKILLs whatever is left in the cgroup, waits (bounded) until it is empty, and removes it.
 * The init just killed may take a moment to leave its cgroup. A service manager that owns the
 * cgroup (systemd) is told first, while its directories still exist: systemd's stop job waits
 * for its cgroup to be empty, which it cannot see in a directory already removed.
 */
export async function removeContainerCgroup(manager: CgroupManager, timeoutMs = 10_000): Promise<void> {
  if (manager.exists()) {
    const deadline = Date.now() + timeoutMs;
    let pids = manager.pids();
    while (pids.length > 0) {
      manager.killAll(9);
      if (Date.now() > deadline) throw new CommandError(`processes ${pids.join(', ')} of the container's cgroup did not die after SIGKILL`);
      sleepMs(2);
      pids = manager.pids();
    }
  }
  await manager.service?.stop();
  manager.destroy(); // also what no service manager made (other hierarchies may still have the directory)
}

/**
 * After a failed create: the init (already sent SIGKILL) must leave the cgroup before its
 * directories can go. Only the init is waited for; anything else in a cgroup the config shared
 * with others is not ours to kill (rmdir then fails with EBUSY, and that is reported).
 */
export async function removeAfterFailedCreate(manager: CgroupManager, initPid: number, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (initPid > 0 && manager.exists() && manager.pids().includes(initPid)) {
    if (Date.now() > deadline) break;
    sleepMs(2);
  }
  await manager.service?.stop();
  manager.destroy();
}

/**
 * Starts keeping cgroup migrations cheap until the init has joined (migration-warmup.ts): one
 * migration now (on a worker thread), then one on each tick while `channel` waits for the init.
 */
export function startMigrationWarmup(channel: ParentChannel): MigrationWarmup | undefined {
  const warmup = MigrationWarmup.open(hostLayout(), readFileSync('/proc/self/cgroup', 'utf8'));
  warmup?.begin();
  channel.whileWaiting(warmup);
  return warmup;
}

export function stopMigrationWarmup(channel: ParentChannel, warmup: MigrationWarmup | undefined): void {
  channel.whileWaiting(undefined);
  warmup?.stop();
}
