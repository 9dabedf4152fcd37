// `restore`: a new container ID from the bundle's config and criu's images. As runc:
// the container's cgroup is made (resources applied) and criu is moved into it before it
// restores, the rootfs is bind-mounted on <state dir>/criu-root (criu wants a mount point
// whose parent is not over-mounted), the prestart and createRuntime hooks run when criu has
// set up the namespaces, and the container is recorded `running` with the restored init's pid
// when criu reports it restored. A foreground restore then waits and exits with the
// container's status, as `run`. A failure leaves no state directory, cgroup or process.
import { closeSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandContext } from '../cli/context';
import { CommandError } from '../cli/context';
import { linux } from '../linux/syscalls';
import { MNT_DETACH, MS_BIND, MS_PRIVATE, MS_REC } from '../linux/constants';
import { processStartTime } from '../linux/proc';
import { parseProcCgroup } from '../cgroups/layout';
import type { CgroupManager } from '../cgroups';
import { validateContainerId } from '../state/id';
import { CRIU_ROOT, type ContainerRecord } from '../state/store';
import { rfc3339Nano } from '../state/time';
import { SPEC_VERSION } from '../version';
import { CONSOLE_NAME } from '../init/terminal';
import { loadBundle } from './bundle';
import { assertSupported, UnsupportedError } from './unsupported';
import { planNamespaces } from './namespaces';
import { createContainerCgroup } from './cgroup';
import { discardUnrecorded, noteInit } from './creating';
import { runHooks } from './hooks';
import { killQuietly } from './launch';
import { writePidFile } from './create';
import { TerminalProxy } from './console';
import { superviseForeground } from './run';
import { deleteContainer } from './lifecycle';
import { criuSwrk, cgroupMode, DESCRIPTORS_FILE } from './criu';
import { closeAll, emptyNamespaces, inheritStdioPipes, restoreExternalMounts, restoreNamespaces } from './criu-config';
import { ReqType, type CriuOpts } from './criu-proto';
import { openCriuDir, type CriuFlags } from './checkpoint';

const NO_PTY = 'process.terminal is true in the bundle\'s config but the checkpoint has no terminal (criu restored no pty)';

export interface RestoreOptions extends CriuFlags {
  id: string;
  bundle: string;
  consoleSocket?: string | undefined;
  detach: boolean;
  pidFile?: string | undefined;
  noSubreaper: boolean;
}

export async function restoreContainer(ctx: CommandContext, o: RestoreOptions): Promise<number> {
  const id = validateContainerId(o.id);
  const cgMode = cgroupMode(o.manageCgroupsMode);
  const emptyNs = emptyNamespaces(o.emptyNs);
  const bundle = loadBundle(o.bundle);
  const { spec } = bundle;
  assertSupported(spec);
  if (ctx.options.systemdCgroup) throw new UnsupportedError('--systemd-cgroup: restoring into a systemd unit is not supported yet (restore without it: tsrun then manages the cgroup itself)');
  planNamespaces(spec);
  const terminal = spec.process?.terminal === true;
  if (o.detach && terminal && o.consoleSocket === undefined) throw new CommandError('cannot allocate tty if tsrun will detach without setting console socket');
  if ((!o.detach || !terminal) && o.consoleSocket !== undefined) throw new CommandError('cannot use console socket if tsrun will not detach or allocate tty');

  const imagePath = resolve(o.imagePath);
  const workPath = o.workPath === undefined ? undefined : resolve(o.workPath);
  let descriptors: unknown;
  try {
    descriptors = JSON.parse(readFileSync(join(imagePath, DESCRIPTORS_FILE), 'utf8'));
  } catch (err) {
    throw new CommandError(`--image-path ${imagePath}: not a checkpoint of a container (${DESCRIPTORS_FILE}: ${(err as Error).message})`);
  }
  const sys = linux();
  if (!o.noSubreaper) sys.setChildSubreaper(true);

  const stateDir = ctx.store.claim(id);
  const fds: number[] = [];
  let consoleSock: number | undefined;
  let master: number | undefined;
  let cgroup: CgroupManager | undefined;
  let criuRoot: string | undefined;
  let pid = 0;
  let handedOver = false;
  const release = () => {
    unmountCriuRoot(criuRoot);
    criuRoot = undefined;
    closeAll(fds);
    if (consoleSock !== undefined) closeSync(consoleSock);
    consoleSock = undefined;
  };
  try {
    await ctx.store.withLock(id, async () => {
      if (o.consoleSocket !== undefined) {
        try {
          consoleSock = sys.unixConnect(o.consoleSocket);
        } catch (err) {
          throw new CommandError(`console socket ${o.consoleSocket}: ${(err as Error).message}`);
        }
      }
      cgroup = createContainerCgroup(ctx, spec, id);
      const imagesFd = openCriuDir('--image-path', imagePath, false);
      fds.push(imagesFd);
      const workFd = workPath === undefined ? undefined : openCriuDir('--work-path', workPath, true);
      if (workFd !== undefined) fds.push(workFd);
      const namespaces = restoreNamespaces(spec);
      fds.push(...namespaces.fds);

      criuRoot = join(stateDir, CRIU_ROOT);
      mkdirSync(criuRoot, { mode: 0o755 });
      sys.mount(bundle.rootfs, criuRoot, null, MS_BIND | MS_REC, null);
      sys.mount(null, criuRoot, null, MS_PRIVATE | MS_REC, null);

      const opts: CriuOpts = {
        imagesDirFd: imagesFd,
        evasiveDevices: true,
        logLevel: 4,
        logFile: 'restore.log',
        rstSibling: true,
        root: criuRoot,
        manageCgroups: true,
        manageCgroupsMode: cgMode,
        notifyScripts: true,
        shellJob: o.shellJob,
        extUnixSk: o.extUnixSk,
        tcpEstablished: o.tcpEstablished,
        fileLocks: o.fileLocks,
        emptyNs,
        orphanPtsMaster: true,
        autoDedup: o.autoDedup,
        extMnt: restoreExternalMounts(spec, bundle.dir),
        inheritFd: [...namespaces.inheritFd, ...inheritStdioPipes(descriptors)],
        joinNs: namespaces.joinNs,
        ...(workFd !== undefined ? { workDirFd: workFd } : {}),
      };
      const created = rfc3339Nano();
      const hookState = (p: number) => ({ ociVersion: SPEC_VERSION, id, status: 'creating', pid: p, bundle: bundle.dir, annotations: spec.annotations ?? {} });
      let recorded = false;
      const recordAs = (p: number): void => {
        const startTime = processStartTime(p);
        if (startTime === null) throw new CommandError(`the restored init (pid ${p}) is gone`);
        ctx.store.write({
          ociVersion: SPEC_VERSION, id, pid: p, pidStartTime: startTime, bundle: bundle.dir,
          rootfs: bundle.rootfs, created, owner: '', annotations: spec.annotations ?? {},
          process: spec.process,
          hooks: { poststart: spec.hooks?.poststart ?? [], poststop: spec.hooks?.poststop ?? [] },
          ...(cgroup ? { cgroup: cgroup.record() } : {}),
          ...(spec.linux?.seccomp ? { seccomp: spec.linux.seccomp } : {}),
        } satisfies ContainerRecord);
        if (o.pidFile) writePidFile(o.pidFile, p);
        recorded = true;
      };
      const log = join(workPath ?? imagePath, 'restore.log');
      ctx.logger.debug(`criu restore of ${imagePath} (log ${log})`);
      const resp = await criuSwrk({ type: ReqType.RESTORE, opts }, {
        log,
        extraFds: namespaces.fds,
        // criu, and so every task it restores, in the container's cgroup; criu is told where
        // that cgroup is, so that the tasks' cgroups are found under it.
        beforeRequest: (criuPid) => {
          if (!cgroup) return;
          cgroup.join(criuPid);
          opts.cgRoot = parseProcCgroup(readFileSync(`/proc/${criuPid}/cgroup`, 'utf8')).map((e) =>
            (e.controllers.length === 0 && e.id === 0 ? { path: e.path } : { ctrl: e.controllers.join(','), path: e.path }));
        },
        onNotify: async (script, notifyPid, received) => {
          ctx.logger.debug(`criu: ${script}`);
          if (script === 'setup-namespaces' && notifyPid !== undefined) {
            pid = notifyPid;
            noteInit(stateDir, pid); // for `delete --force` if this restore is killed
            await runHooks('prestart', spec.hooks?.prestart, hookState(pid));
            await runHooks('createRuntime', spec.hooks?.createRuntime, hookState(pid));
          } else if (script === 'post-restore' && notifyPid !== undefined) {
            pid = notifyPid;
            // Before criu resumes the tasks: a refused restore must not run any of them.
            if (terminal && !handedOver) throw new CommandError(NO_PTY);
            recordAs(pid);
          } else if (script === 'orphan-pts-master' && received.length > 0) {
            // The dumped init's terminal, on a new pty pair criu made: its master.
            if (!terminal) throw new CommandError('the checkpoint has a terminal (its processes were on a pty) but process.terminal is false in the bundle\'s config');
            if (consoleSock !== undefined) sys.sendFds(consoleSock, Buffer.from(CONSOLE_NAME), [received[0] as number]);
            else master = received.splice(0, 1)[0]; // ours now: proxied in the foreground
            handedOver = true;
          }
        },
      });
      if (resp.restorePid !== undefined && resp.restorePid > 0) pid = resp.restorePid;
      if (pid <= 0) throw new CommandError('criu restore answered without the pid of the restored init');
      if (!recorded) recordAs(pid);
      if (terminal && !handedOver) throw new CommandError(NO_PTY);
    });
  } catch (err) {
    // Nothing of a failed restore stays: its tasks, cgroup, mount and state directory.
    release();
    if (master !== undefined) closeSync(master);
    if (pid > 0) killQuietly(pid);
    await discardUnrecorded(ctx, id, cgroup, pid, 'the failed restore');
    throw err;
  }
  release();
  if (o.detach) return 0;
  let proxy: TerminalProxy | undefined;
  try {
    if (master !== undefined) proxy = new TerminalProxy(master);
  } catch (err) {
    await deleteContainer(ctx, id, true);
    throw err;
  }
  return superviseForeground(ctx, { id, pid, keep: false, proxy });
}

function unmountCriuRoot(root: string | undefined): void {
  if (root === undefined) return;
  try {
    linux().umount2(root, MNT_DETACH);
  } catch {
    // not mounted (the failure came before)
  }
  try {
    rmdirSync(root);
  } catch {
    // gone already, or never made
  }
}
