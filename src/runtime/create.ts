// `create`, top to bottom: read and check the bundle, claim the id, start the init in its
// namespaces, let it build the container while the runtime runs the host-side hooks, then
// record the state. The init is left blocked on the exec fifo until `start`. Any failure
// kills the init and removes the state directory: a failed create leaves nothing behind
// (the container's mounts live only in its own mount namespace and die with it).
import { closeSync, openSync, writeFileSync, renameSync } from 'node:fs';
import { join, dirname, basename, resolve } from 'node:path';
import type { CommandContext } from '../cli/context';
import { linux } from '../linux/syscalls';
import { O_CLOEXEC, O_PATH } from '../linux/constants';
import { processStartTime } from '../linux/proc';
import { rfc3339Nano } from '../state/time';
import { validateContainerId } from '../state/id';
import type { ContainerRecord } from '../state/store';
import { EXEC_FIFO } from '../state/status';
import { loadBundle } from './bundle';
import { runHooks } from './hooks';
import { killQuietly, launchInit } from './launch';
import { planNamespaces, stageNamespaceArgs } from './namespaces';
import { assertSupported } from './unsupported';
import { cgroupMountDirs, createContainerCgroup, joinInit, startMigrationWarmup, stopMigrationWarmup } from './cgroup';
import type { MigrationWarmup } from '../cgroups/migration-warmup';
import type { ParentChannel } from './channel';
import { discardUnrecorded, noteInit } from './creating';
import type { CgroupManager } from '../cgroups';
import type { InitConfig, ParentMessage } from './protocol';
import { connectSeccompAgent } from '../seccomp';
import { closeConsole, openConsole, receiveMaster, type ConsoleEndpoints } from './console';
import type { LinuxIDMapping, Spec } from '../spec';
import { SPEC_VERSION } from '../version';
import { setupNotifySocket } from './notify-socket';
import { moveNetDevices } from './net-devices';
import { closeIdmapMounts, idmapFdsInChild, openIdmapMounts } from './idmap-mounts';
import { applySocketActivation } from './socket-activation';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string | undefined;
  preserveFds: number;
  noPivot: boolean;
  noNewKeyring: boolean;
  /** --console-socket: where the pty master of a process.terminal container is sent. */
  consoleSocket?: string | undefined;
}

/** What createContainerWithConsole gives back: the record, and the pty master in the foreground. */
export interface CreatedContainer {
  record: ContainerRecord;
  /** process.terminal with no console socket (foreground `run`): the master, ours to proxy. */
  consoleMaster?: number;
}

export async function createContainer(ctx: CommandContext, options: CreateOptions): Promise<ContainerRecord> {
  return (await createContainerWithConsole(ctx, options, true)).record;
}

/**
 * `create`, or the create step of `run`: `detach` is false for a foreground `run`, which may
 * then have a terminal without a console socket (the master is returned to it).
 */
export async function createContainerWithConsole(ctx: CommandContext, options: CreateOptions, detach: boolean): Promise<CreatedContainer> {
  const id = validateContainerId(options.id);
  const bundle = loadBundle(options.bundle);
  const { spec } = bundle;
  assertSupported(spec);
  options = applySocketActivation(spec, options);
  const plan = planNamespaces(spec);
  if (!Number.isInteger(options.preserveFds) || options.preserveFds < 0) throw new Error('--preserve-fds must be a non-negative integer');
  const terminal = spec.process?.terminal === true;
  // Before the id is claimed: a refused terminal leaves nothing to clean up.
  let consoleFds: ConsoleEndpoints | undefined = openConsole(linux(), terminal, options.consoleSocket, detach);

  let stateDir: string;
  try {
    stateDir = ctx.store.claim(id);
  } catch (err) {
    closeConsole(consoleFds, 'all');
    throw err;
  }
  let initPid = 0;
  let cgroup: CgroupManager | undefined;
  try {
    return await ctx.store.withLock(id, async () => {
      const notifyMount = setupNotifySocket(stateDir, spec);
      const idmap = openIdmapMounts(spec, bundle.dir, notifyMount);
      const fifo = join(stateDir, EXEC_FIFO);
      makeExecFifo(fifo, spec);
      const fifoFd = openSync(fifo, O_PATH | O_CLOEXEC);
      // SCMP_ACT_NOTIFY: the runtime connects to the agent; the init sends the listener fd over it.
      const agentFd = connectSeccompAgent(linux(), spec.linux?.seccomp);
      const created = rfc3339Nano();
      let warmup: MigrationWarmup | undefined;
      let initChannel: ParentChannel | undefined;
      const extraFds = [fifoFd, ...(agentFd === undefined ? [] : [agentFd]), ...(consoleFds ? [consoleFds.child] : [])];
      try {
        const init = launchInit({
          stageArgs: stageNamespaceArgs(plan, spec),
          preserveFds: options.preserveFds,
          extraFds: [...extraFds, ...idmap.fds],
          uidMappings: spec.linux?.uidMappings,
          gidMappings: spec.linux?.gidMappings,
          allowSetgroups: true,
        });
        initPid = init.pid;
        noteInit(stateDir, init.pid); // for `delete --force` if this create is killed
        closeIdmapMounts(idmap); // the init has its own copies
        initChannel = init.channel;
        // While the init's Node starts (it joins only when it reports "cgroup"): the cgroup,
        // and below, the grace period its join would otherwise wait for (migration-warmup.ts).
        cgroup = createContainerCgroup(ctx, spec, id);
        moveNetDevices(spec, init.pid);
        ctx.logger.debug(`init started as pid ${init.pid}`);
        const hookState = { ociVersion: SPEC_VERSION, id, status: 'creating', pid: init.pid, bundle: bundle.dir, annotations: spec.annotations ?? {} };
        const config: InitConfig = {
          kind: 'init', id, bundle: bundle.dir, rootfs: bundle.rootfs, spec, hostPid: init.pid,
          fifoFd: init.extraFdNumbers[0] as number, preserveFds: options.preserveFds,
          noPivot: options.noPivot, noNewKeyring: options.noNewKeyring,
          seccompAgentFd: agentFd === undefined ? undefined : init.extraFdNumbers[1],
          consoleSocketFd: consoleFds ? init.extraFdNumbers[extraFds.length - 1] : undefined,
          joinCgroup: cgroup !== undefined, cgroupDirs: cgroupMountDirs(cgroup),
          runtimeMountFds: idmapFdsInChild(idmap, init.extraFdNumbers.slice(extraFds.length)),
        };
        init.channel.send(config);
        if (cgroup) warmup = startMigrationWarmup(init.channel);
        // Nothing more to do until the init's Node has started: let the event loop run what is
        // queued (yargs builds its help text when the handler first yields) meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // The init has its copy: the caller's socket must see only the init's end.
        closeConsole(consoleFds, 'child');

        // The init reports each point where the runtime has work to do, then "created".
        for (;;) {
          const message = init.channel.receive();
          ctx.logger.debug(`init: ${message.type}`);
          if (message.type === 'error') throw new Error(message.message);
          if (message.type === 'created') break;
          if (message.type === 'cgroup') {
            await init.channel.answer(() => joinInit(cgroup, init.pid));
            stopMigrationWarmup(init.channel, warmup);
          }
          if (message.type === 'hooks') {
            await init.channel.answer(async () => {
              await runHooks('prestart', spec.hooks?.prestart, hookState);
              await runHooks('createRuntime', spec.hooks?.createRuntime, hookState);
            });
          }
        }
        // The channel stays open until the container is recorded (see the end of this block).
        // Sent by the init before "created" (foreground run only; else it went to the socket).
        const consoleMaster = consoleFds?.receive !== undefined ? receiveMaster(linux(), consoleFds) : undefined;

        const startTime = processStartTime(init.pid);
        if (startTime === null) throw new Error('the container init exited during create');
        const record: ContainerRecord = {
          ociVersion: SPEC_VERSION, id, pid: init.pid, pidStartTime: startTime, bundle: bundle.dir,
          rootfs: bundle.rootfs, created, owner: '', annotations: spec.annotations ?? {},
          process: spec.process,
          hooks: { poststart: spec.hooks?.poststart ?? [], poststop: spec.hooks?.poststop ?? [] },
          ...(cgroup ? { cgroup: cgroup.record() } : {}),
          ...(spec.linux?.seccomp ? { seccomp: spec.linux.seccomp } : {}),
        };
        ctx.store.write(record);
        if (options.pidFile) writePidFile(options.pidFile, init.pid);
        // Recorded: the init may now wait for `start`. Had we died before this line, it would have
        // seen EOF instead and exited (an init no state.json knows of must not outlive us).
        init.channel.send({ type: 'continue' } satisfies ParentMessage);
        return consoleMaster === undefined ? { record } : { record, consoleMaster };
      } finally {
        warmup?.stop();
        initChannel?.close();
        closeSync(fifoFd);
        if (agentFd !== undefined) closeSync(agentFd);
        closeIdmapMounts(idmap);
        closeConsole(consoleFds, 'all');
        consoleFds = undefined;
      }
    });
  } catch (err) {
    closeConsole(consoleFds, 'all');
    if (initPid > 0) killQuietly(initPid);
    await discardUnrecorded(ctx, id, cgroup, initPid, 'the failed container');
    throw err;
  }
}

/**
 * The fifo the init waits on until `start`. The init reopens it for writing from inside the
 * container, possibly as the mapped root of a user namespace: so it belongs to that root and
 * is writable by it (mode set explicitly; mkfifo's mode is subject to the umask).
 */
function makeExecFifo(path: string, spec: Spec): void {
  const sys = linux();
  sys.mkfifo(path, 0o622);
  sys.chmod(path, 0o622);
  const uid = hostIdOfRoot(spec.linux?.uidMappings);
  const gid = hostIdOfRoot(spec.linux?.gidMappings);
  if (uid !== 0 || gid !== 0) sys.chown(path, uid, gid);
}

function hostIdOfRoot(mappings: LinuxIDMapping[] | undefined): number {
  const m = (mappings ?? []).find((x) => x.containerID === 0);
  return m ? m.hostID : 0;
}

/** Digits and no newline (go-runc parses it with Atoi), written atomically. */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${basename(abs)}.${process.pid}.tmp`);
  writeFileSync(tmp, String(pid), { mode: 0o644 });
  renameSync(tmp, abs);
}
