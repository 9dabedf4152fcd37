// The container's init stage: the Node program the native stage execs inside the container's
// new namespaces. It builds the container's view of the world (mounts, root, hostname), tells
// the runtime it is created, waits on the exec fifo for `start`, and finally becomes the user
// process with execve (same pid: the pid the clients know is the user process's).
//
// Nothing here may write to stdout/stderr before execve: fds 0-2 are the container's stdio.
// Errors before "created" go to the runtime over the sync channel; after it (start hooks,
// execve), they go to the container's stderr, as with runc.
import { writeSync } from 'node:fs';
import { linux, type Syscalls } from '../linux/syscalls';
import { CLONE_FS, CLONE_NEWCGROUP, CLONE_NEWNS, O_CLOEXEC, O_RDONLY, O_WRONLY } from '../linux/constants';
import { InitChannel } from '../runtime/channel';
import { runHooksSync } from '../runtime/hooks';
import type { ExecConfig, InitConfig, ParentMessage, StageConfig } from '../runtime/protocol';
import type { Process, State } from '../spec';
import { planNamespaces } from '../runtime/namespaces';
import { SPEC_VERSION } from '../version';
import { enterRootfs, finishRootfs, prepareRootfs } from './rootfs';
import { applySystemSettings } from './system';
import { joinContainerKeyring } from './keyring';
import { execUserProcess, planProcess, resolveExecutable } from './process';
import { applyOomScoreAdj, planOomScoreAdj } from './process/oom';
import { prepareSeccomp, type PreparedSeccomp } from '../seccomp';
import { setupConsole } from './terminal';
import { applyMemoryPolicy, checkMemoryPolicy, planMemoryPolicy, type PlannedMemoryPolicy } from './memory-policy';
import { applyFinalAffinity, applyInitialAffinity } from './cpu-affinity';

function main(): never {
  const sys = linux();
  // No process in the container may ptrace us or open our /proc files while we still hold
  // the runtime's view of the host (execve resets this for the user's binary).
  sys.setDumpable(false);
  const channel = new InitChannel(Number(process.argv[2]));
  const config = reportingErrors(channel, () => channel.receive<StageConfig>());
  return config.kind === 'exec' ? execStage(sys, channel, config) : containerInit(sys, channel, config);
}

/** Runs a step whose failure is reported to the runtime over the channel (then exits 1). */
function reportingErrors<T>(channel: InitChannel, step: () => T): T {
  try {
    return step();
  } catch (err) {
    try {
      channel.send({ type: 'error', message: (err as Error).message });
    } finally {
      process.exit(1);
    }
  }
}

/** After the runtime has returned, failures can only go to the container's stderr. */
function reportingToStderr(step: () => never): never {
  try {
    return step();
  } catch (err) {
    writeSync(2, `tsrun: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

function containerInit(sys: Syscalls, channel: InitChannel, config: InitConfig): never {
  const { spec } = config;
  let seccomp: PreparedSeccomp | undefined;
  let memoryPolicy: PlannedMemoryPolicy | undefined;
  const executable = reportingErrors(channel, () => {
    if (!spec.process) throw new Error('process: a container needs a process to run');
    applyInitialAffinity(spec.process);
    memoryPolicy = planMemoryPolicy(spec.linux?.memoryPolicy);
    checkMemoryPolicy(memoryPolicy);
    // Compiled (libseccomp is loaded, the agent's socket connected) while the host is in view.
    seccomp = prepareSeccomp(spec.linux?.seccomp, { socket: config.seccompAgentFd, processState: () => ({ pid: config.hostPid, state: hookState(config, 'running') }) });
    const plan = planNamespaces(spec);
    if (plan.mountPath) joinMountNamespace(plan.mountPath);
    if (!config.noNewKeyring) joinContainerKeyring(sys, config.id);

    prepareRootfs(sys, config);
    channel.send({ type: 'hooks', phase: 'createRuntime' });
    const reply = channel.receive<ParentMessage>();
    if (reply.type === 'abort') process.exit(1);
    runHooksSync('createContainer', spec.hooks?.createContainer, hookState(config, 'creating'));

    enterRootfs(sys, config);
    // The pty comes from the container's devpts, and /dev/console is bound before /dev may
    // become read-only (runc: setupConsole between prepareRootfs and finalizeRootfs).
    if (spec.process.terminal === true) setupConsole(sys, consoleSocket(config.consoleSocketFd), spec.process, { mountConsole: true });
    else newSession(sys);
    applySystemSettings(sys, spec); // sysctl before /proc/sys becomes read-only
    finishRootfs(sys, config);
    planProcess(spec.process, { personality: spec.linux?.personality });
    // Now, as runc (nsexec, at create): an oom_score_adj this runtime may not set fails create,
    // not the start after it (execUserProcess writes the same value again, which is allowed).
    applyOomScoreAdj(planOomScoreAdj(spec.process.oomScoreAdj));
    const exe = resolveExecutable(spec.process);
    // As late as possible (the 7 MB container): once in the container's cgroup, whatever this
    // Node process faults in is charged to the container (pages already resident are not).
    // The cgroup namespace comes after, so that the container's cgroup is its root.
    if (config.joinCgroup) joinCgroup(channel);
    if (plan.newCgroup) sys.unshare(CLONE_NEWCGROUP);
    channel.send({ type: 'created' });
    // Until the runtime has recorded the container: if it dies first (EOF), so do we.
    if (channel.receive<ParentMessage>().type === 'abort') process.exit(1);
    return exe;
  });
  return reportingToStderr(() => {
    waitForStart(config.fifoFd);
    runHooksSync('startContainer', spec.hooks?.startContainer, hookState(config, 'running'));
    applyFinalAffinity(spec.process);
    applyMemoryPolicy(memoryPolicy);
    return execUserProcess(sys, spec.process as Process, executable, { preserveFds: config.preserveFds, personality: spec.linux?.personality, seccomp });
  });
}

/** A process joining a running container (`tsrun exec`); the stage already joined the other namespaces. */
function execStage(sys: Syscalls, channel: InitChannel, config: ExecConfig): never {
  let seccomp: PreparedSeccomp | undefined;
  const executable = reportingErrors(channel, () => {
    // The container's linux.seccomp applies to exec'd processes too (as with runc).
    const state = config.processState;
    applyInitialAffinity(config.process);
    seccomp = prepareSeccomp(config.seccomp, state && { socket: config.seccompAgentFd, processState: () => state });
    joinMountNamespace(config.mountNamespace);
    planProcess(config.process);
    const exe = resolveExecutable(config.process);
    if (config.joinCgroup) joinCgroup(channel);
    if (config.process.terminal === true) setupConsole(sys, consoleSocket(config.consoleSocketFd), config.process, { mountConsole: false });
    else newSession(sys);
    channel.send({ type: 'ready' });
    return exe;
  });
  return reportingToStderr(() => {
    applyFinalAffinity(config.process);
    return execUserProcess(sys, config.process, executable, { preserveFds: config.preserveFds, seccomp });
  });
}

/**
 * Every container process leads a session of its own, with a terminal (setupConsole) or
 * without, as with runc (its nsexec calls setsid for each): the caller's session stays
 * outside, and CRIU refuses to dump a process whose session leader is outside the
 * container's pid namespace.
 */
function newSession(sys: Syscalls): void {
  try {
    sys.setsid();
  } catch (err) {
    throw new Error(`setsid: ${(err as Error).message}`);
  }
}

/** The console socket the runtime passed for process.terminal (it checks that there is one). */
function consoleSocket(fd: number | undefined): number {
  if (fd === undefined) throw new Error('process.terminal is set but the runtime passed no console socket');
  return fd;
}

/** The runtime moves us into the container's cgroup (it writes our pid into cgroup.procs). */
function joinCgroup(channel: InitChannel): void {
  channel.send({ type: 'cgroup' });
  const reply = channel.receive<ParentMessage>();
  if (reply.type === 'abort') process.exit(1);
}

/** The state hooks receive on stdin. */
function hookState(config: InitConfig, status: string): State {
  return { ociVersion: SPEC_VERSION, id: config.id, status, pid: config.hostPid, bundle: config.bundle, annotations: config.spec.annotations ?? {} };
}

/** A multi-threaded process may join a mount namespace once it stops sharing its fs info. */
function joinMountNamespace(path: string): void {
  const sys = linux();
  const fd = sys.open(path, O_RDONLY | O_CLOEXEC);
  try {
    sys.unshare(CLONE_FS);
    sys.setns(fd, CLONE_NEWNS);
  } finally {
    sys.close(fd);
  }
}

/**
 * Blocks until `start` opens the exec fifo for reading, then tells it we are going (one byte).
 * The fifo was opened O_PATH by the runtime before pivot_root; it is reopened for writing
 * through /proc/self/fd.
 */
function waitForStart(fifoFd: number): void {
  const sys = linux();
  const fd = sys.open(`/proc/self/fd/${fifoFd}`, O_WRONLY | O_CLOEXEC);
  writeSync(fd, '0');
  sys.close(fd);
  sys.close(fifoFd);
}

main();
