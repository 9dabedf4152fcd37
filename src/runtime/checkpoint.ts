// `checkpoint`: criu dumps the running container into --image-path. Without --leave-running
// (and --pre-dump) criu kills the container's processes once they are dumped, and the
// container is then deleted as runc does (its cgroup and state removed, poststop hooks run).
// A failed dump leaves the container running as it was (criu resumes it).
import { closeSync, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../linux/constants';
import { containerStatus } from '../state/status';
import { loadBundle } from './bundle';
import { deleteContainer } from './lifecycle';
import { criuSwrk, cgroupMode, DESCRIPTORS_FILE } from './criu';
import { dumpExternalMounts, dumpExternalNamespaces, emptyNamespaces, stdioDescriptors } from './criu-config';
import { ReqType, type CriuOpts } from './criu-proto';

/** The criu settings `checkpoint` and `restore` share. */
export interface CriuFlags {
  imagePath: string;
  workPath?: string | undefined;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  autoDedup: boolean;
  manageCgroupsMode?: string | undefined;
  emptyNs: string[];
}

export interface CheckpointOptions extends CriuFlags {
  id: string;
  parentPath?: string | undefined;
  leaveRunning: boolean;
  preDump: boolean;
}

/** Opens (making it first when `create`) a directory criu reads through /proc/<tsrun>/fd/N. */
export function openCriuDir(flag: string, path: string, create: boolean): number {
  try {
    if (create) mkdirSync(path, { recursive: true, mode: 0o700 });
    return openSync(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } catch (err) {
    throw new CommandError(`${flag} ${path}: ${(err as Error).message}`);
  }
}

function checkParentPath(imagePath: string, parent: string | undefined): void {
  if (parent === undefined) return;
  if (isAbsolute(parent)) throw new CommandError('--parent-path must be relative (to --image-path)');
  const real = join(imagePath, parent);
  let isDir = false;
  try {
    isDir = statSync(real).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new CommandError(`invalid --parent-path: ${real} is not a directory`);
}

export async function checkpointContainer(ctx: CommandContext, o: CheckpointOptions): Promise<void> {
  const cgMode = cgroupMode(o.manageCgroupsMode);
  const emptyNs = emptyNamespaces(o.emptyNs);
  const imagePath = resolve(o.imagePath);
  const workPath = o.workPath === undefined ? undefined : resolve(o.workPath);
  const record = ctx.store.read(o.id);
  await ctx.store.withLock(o.id, async () => {
    const status = containerStatus(record, ctx.store.dir(o.id));
    if (status === 'created' || status === 'stopped') throw new CommandError(`container cannot be checkpointed in ${status} state`);
    const { spec } = loadBundle(record.bundle);
    const imagesFd = openCriuDir('--image-path', imagePath, true);
    checkParentPath(imagePath, o.parentPath);
    let workFd: number | undefined;
    try {
      if (workPath !== undefined) workFd = openCriuDir('--work-path', workPath, true);
      const opts: CriuOpts = {
        imagesDirFd: imagesFd,
        logLevel: 4,
        logFile: 'dump.log',
        root: record.rootfs,
        manageCgroups: true,
        manageCgroupsMode: cgMode,
        notifyScripts: true,
        pid: record.pid,
        shellJob: o.shellJob,
        leaveRunning: o.leaveRunning,
        tcpEstablished: o.tcpEstablished,
        extUnixSk: o.extUnixSk,
        fileLocks: o.fileLocks,
        emptyNs,
        orphanPtsMaster: true,
        autoDedup: o.autoDedup,
        external: dumpExternalNamespaces(spec),
        ...(workFd !== undefined ? { workDirFd: workFd } : {}),
      };
      // criu freezes the tasks through the cgroup freezer (else with ptrace, task by task).
      const freezer = record.cgroup?.driver === 'v2' ? record.cgroup.paths[''] : record.cgroup?.paths.freezer;
      if (freezer !== undefined) opts.freezeCgroup = freezer;
      if (o.parentPath !== undefined) {
        opts.parentImg = o.parentPath;
        opts.trackMem = true;
      }
      if (o.preDump) opts.trackMem = true;
      else {
        opts.extMnt = dumpExternalMounts(spec, record.pid);
        writeFileSync(join(imagePath, DESCRIPTORS_FILE), JSON.stringify(stdioDescriptors(record.pid)), { mode: 0o600 });
      }
      const log = join(workPath ?? imagePath, 'dump.log');
      ctx.logger.debug(`criu ${o.preDump ? 'pre-dump' : 'dump'} of pid ${record.pid} into ${imagePath} (log ${log})`);
      await criuSwrk({ type: o.preDump ? ReqType.PRE_DUMP : ReqType.DUMP, opts }, { log });
    } finally {
      closeSync(imagesFd);
      if (workFd !== undefined) closeSync(workFd);
    }
  });
  // Dumped and killed by criu: what is left is an ordinary stopped container to delete.
  if (!o.leaveRunning && !o.preDump) await deleteContainer(ctx, o.id, true);
}
