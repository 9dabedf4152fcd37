// start, kill and delete of an existing container, with runc's rules and error wording.
import { closeSync, constants as fsConstants, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { isProcessAlive } from '../linux/proc';
import { ContainerNotFoundError, type ContainerRecord } from '../state/store';
import { containerStatus, EXEC_FIFO, stateView, type ContainerStatus } from '../state/status';
import { runHooksCollectingErrors } from './hooks';
import { containerPids } from './processes';
import { containerCgroup, removeContainerCgroup } from './cgroup';
import { removeHalfMade } from './creating';
import type { CgroupManager } from '../cgroups';
import { openNotifyRelay, type NotifyRelay } from './notify-socket';
import { sleepMs } from '../linux/sleep';

function current(ctx: CommandContext, id: string): { record: ContainerRecord; status: ContainerStatus; dir: string } {
  const record = ctx.store.read(id);
  const dir = ctx.store.dir(id);
  return { record, status: containerStatus(record, dir), dir };
}

/** Releases the init blocked on the exec fifo; returns once it has gone on to exec the user process. */
export async function startContainer(ctx: CommandContext, id: string): Promise<void> {
  let relay: NotifyRelay | undefined;
  await ctx.store.withLock(id, () => {
    const { record, status, dir } = current(ctx, id);
    if (status === 'stopped') throw new CommandError('cannot start a container that has stopped');
    if (status !== 'created') throw new CommandError(`cannot start an already ${status} container`);
    relay = openNotifyRelay(dir);
    const fifo = join(dir, EXEC_FIFO);
    const fd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      waitForInitByte(fd, record);
    } catch (err) {
      relay?.close();
      throw err;
    } finally {
      closeSync(fd);
    }
    unlinkSync(fifo);
  });
  const record = ctx.store.read(id);
  const errors = await runHooksCollectingErrors('poststart', record.hooks?.poststart, stateView(record, 'running'));
  for (const e of errors) ctx.logger.warn(e);
  // NOTIFY_SOCKET: like runc, start returns once the container is READY (or its init is gone).
  if (relay) await (relay as NotifyRelay).forward(record.pid, record.pidStartTime);
}

/** The init writes one byte once it has opened the fifo for writing (our open unblocked it). */
function waitForInitByte(fd: number, record: ContainerRecord): void {
  const buf = Buffer.alloc(1);
  const deadline = Date.now() + 10_000;
  for (;;) {
    let n = 0;
    try {
      n = readSync(fd, buf, 0, 1, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
    if (n === 1) return;
    // 0: the init has not opened its end yet (or died); EAGAIN: opened, byte not yet written.
    if (!isProcessAlive(record.pid, record.pidStartTime)) throw new CommandError('container init exited before it was started');
    if (Date.now() > deadline) throw new CommandError('timed out waiting for the container init to start');
    sleepMs(1);
  }
}

export function killContainer(ctx: CommandContext, id: string, signal: number, all: boolean): void {
  const { record, status } = current(ctx, id);
  const cgroup = all ? containerCgroup(ctx, record) : undefined;
  if (status === 'stopped') {
    // As runc, `kill --all` still signals what is left in a stopped container's cgroup: without
    // a pid namespace of its own, processes outlive the init (the runc shim kills them this
    // way when the init exits, e.g. in a pod sharing its pid namespace). No cgroup: nothing to do.
    if (!all) throw new CommandError('container not running');
    if (cgroup?.exists()) cgroup.killAll(signal);
    return;
  }
  if (cgroup?.exists()) {
    // Every process in the cgroup (frozen meanwhile, so none escapes by forking), as runc.
    cgroup.killAll(signal);
    return;
  }
  const pids = all ? containerPids(record.pid) : [record.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      if (pid === record.pid) throw new CommandError('container not running');
    }
  }
}

export async function deleteContainer(ctx: CommandContext, id: string, force: boolean): Promise<void> {
  let record: ContainerRecord;
  try {
    record = ctx.store.read(id);
  } catch (err) {
    if (err instanceof ContainerNotFoundError && force) {
      // A half-made container (create killed mid-way) has a directory but no state: remove it
      // and what its creating.json says exists (init, cgroup); a create that completed
      // meanwhile is deleted as any other container.
      if (!ctx.store.exists(id) || (await removeHalfMade(ctx, id))) return;
      return deleteContainer(ctx, id, force);
    }
    throw err;
  }
  await ctx.store.withLock(id, async () => {
    const status = containerStatus(record, ctx.store.dir(id));
    if (status === 'running' || status === 'paused') {
      if (!force) throw new CommandError(`cannot delete container ${id} that is not stopped: ${status}`);
    }
    const cgroup = containerCgroup(ctx, record);
    if (status !== 'stopped') killAndWait(record, cgroup);
    // Also when stopped: without a pid namespace of its own, processes can outlive the init.
    if (cgroup) await removeContainerCgroup(cgroup);
    const errors = await runHooksCollectingErrors('poststop', record.hooks?.poststop, stateView(record, 'stopped'));
    for (const e of errors) ctx.logger.warn(e);
    ctx.store.remove(id);
  });
}

/** SIGKILLs every process of the container and waits (bounded) until the init is gone. */
function killAndWait(record: ContainerRecord, cgroup: CgroupManager | undefined): void {
  // Through the cgroup when there is one: a paused container's processes die only once thawed.
  if (cgroup?.exists()) cgroup.killAll(9);
  for (const pid of containerPids(record.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  while (isProcessAlive(record.pid, record.pidStartTime)) {
    if (Date.now() > deadline) throw new CommandError(`container init ${record.pid} did not die after SIGKILL`);
    sleepMs(2);
  }
}
