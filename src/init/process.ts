// Becoming the container's user process: the last steps of the init, from the OCI `process`
// object to execve. The order follows runc (standard_init_linux.go, finalizeNamespace,
// setupUser):
//
//   plan (validate everything, read /etc/passwd, /proc/self/{setgroups,status}: no side effects)
//   fds 3+preserveFds.. close-on-exec   (never closed: Node/koffi keep using theirs until execve)
//   oom_score_adj, no_new_privs, scheduler, I/O priority, personality, umask
//   chdir(cwd) as root                  (retried after the user change if EACCES/EPERM)
//   rlimits                             (before leaving root: raising needs CAP_SYS_RESOURCE)
//   capability bounding set             (needs CAP_SETPCAP, so before leaving uid 0)
//   PR_SET_KEEPCAPS, stdio ownership, setgroups, setresgid, setresuid, clear KEEPCAPS
//   check cwd is inside the root        (CVE-2024-21626)
//   [seccomp without noNewPrivileges: signal reset, then the filter (needs CAP_SYS_ADMIN, below)]
//   capset effective/permitted/inheritable, ambient
//   signal dispositions to default, signal mask emptied   (unless done above)
//   seccomp filter, when noNewPrivileges is true (the last step: only execve follows)
//   execve(executable, args, env + HOME)
//
// seccomp (linux.seccomp, compiled at create time by src/seccomp): with no_new_privs the filter
// is loaded last, so that only execve runs under it. Without no_new_privs, seccomp(2) needs
// CAP_SYS_ADMIN: runc therefore loads it before finalizeNamespace (user change, capabilities,
// chdir, getcwd check...). tsrun loads it later than runc, after the user change and the cwd
// check and the signal reset, with CAP_SYS_ADMIN raised in the effective set from the
// permitted one if the user change cleared it; then capget/capset and prctl (the ambient set)
// are the only calls before execve that run under the filter (a profile denying getcwd, as
// runtime-tools' linux_seccomp test does, works).
//
// Every failing step throws an Error naming it ("setting rlimit RLIMIT_NOFILE: EPERM: ...").
import { readFileSync, realpathSync } from 'node:fs';
import { posix } from 'node:path';
import type { LinuxPersonality, Process } from '../spec';
import { isErrno } from '../linux/errors';
import { prepareExecFds, resetSignalsForExec, type SchedAttr, type Syscalls } from '../linux/syscalls';
import { applySets, dropBounding, planCapabilities, type PlannedCapabilities } from './process/capabilities';
import { prepareEnv } from './process/environment';
import { errnoCode, goErrnoText, step } from './process/errors';
import { cwdError } from './process/executable';
import { applyOomScoreAdj, planOomScoreAdj } from './process/oom';
import { applyPersonality, planPersonality } from './process/personality';
import { applyRlimits, planRlimits, type PlannedRlimit } from './process/rlimits';
import { applyIoPriority, applyScheduler, planIoPriority, planScheduler } from './process/scheduling';
import { fixStdioOwnership, planUser, readSetgroups, switchUser, type PlannedUser } from './process/user';
import { loadSeccomp, type PreparedSeccomp } from '../seccomp';

export { resolveExecutable, checkCwd } from './process/executable';
export { prepareEnv } from './process/environment';

export interface ExecOptions {
  /** Number of fds from 3 up the user process keeps (--preserve-fds). */
  preserveFds?: number;
  /** linux.personality of the spec, applied when given. */
  personality?: LinuxPersonality | undefined;
  /** Receives warnings (capabilities this kernel lacks, ambient raise failures...). */
  warn?: (message: string) => void;
  /** The container's root as this process sees it, for /etc/passwd (tests). Default '/'. */
  root?: string;
  /** This process's /proc/self (tests). Default '/proc/self'. */
  procSelf?: string;
  /** linux.seccomp, compiled (prepareSeccomp): loaded right before execve. */
  seccomp?: PreparedSeccomp | undefined;
}

/** Everything execUserProcess will do, validated and computed up front. */
export interface ProcessPlan {
  argv: string[];
  env: string[];
  cwd: string;
  umask: number;
  rlimits: PlannedRlimit[];
  oomScoreAdj: number | undefined;
  noNewPrivileges: boolean;
  scheduler: SchedAttr | undefined;
  ioPriority: number | undefined;
  personality: number | undefined;
  user: PlannedUser;
  /** Undefined when the spec has no `capabilities`: they are then left as they are (runc). */
  capabilities: PlannedCapabilities | undefined;
}

const DEFAULT_UMASK = 0o022;

/**
 * Validates `process` and computes the plan, touching nothing. Throws the first problem
 * (unknown rlimit or capability name, bad env entry...). Callable before "created" so such
 * errors are create-time errors, as with runc.
 */
export function planProcess(process: Process | undefined, options: ExecOptions = {}): ProcessPlan {
  if (!process) throw new Error('process: a container needs a process to run');
  const argv = process.args ?? [];
  if (argv.length === 0) throw new Error('args must not be empty');
  const user = planUser(process.user);
  const umask = process.user?.umask ?? DEFAULT_UMASK;
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o7777) throw new Error(`invalid umask ${JSON.stringify(umask)}`);
  return {
    argv: [...argv],
    env: prepareEnv(process.env, user.uid, options.root ?? '/'),
    cwd: process.cwd,
    umask,
    rlimits: planRlimits(process.rlimits),
    oomScoreAdj: planOomScoreAdj(process.oomScoreAdj),
    noNewPrivileges: process.noNewPrivileges === true,
    scheduler: planScheduler(process.scheduler),
    ioPriority: planIoPriority(process.ioPriority),
    personality: planPersonality(options.personality),
    user,
    capabilities: planCapabilities(process.capabilities, options.warn),
  };
}

/** chdir; false when it must be retried as the container's user (EACCES/EPERM). */
function chdirAsRoot(sys: Syscalls, cwd: string): boolean {
  try {
    sys.chdir(cwd);
    return true;
  } catch (err) {
    if (isErrno(err, 'EACCES', 'EPERM')) return false;
    throw cwdError(cwd, goErrnoText(err));
  }
}

/** getcwd(3) fails with ENOENT when the cwd is not under this process's root (CVE-2024-21626). */
function verifyCwd(): void {
  let wd: string;
  try {
    wd = realpathSync.native('.');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new Error('current working directory is outside of container mount namespace root -- possible container breakout detected');
    }
    throw new Error(`failed to verify if current working directory is safe: ${goErrnoText(err)}`, { cause: err });
  }
  if (!posix.isAbsolute(wd)) {
    throw new Error(`current working directory is not absolute -- possible container breakout detected: cwd is ${JSON.stringify(wd)}`);
  }
}

const CAP_SYS_ADMIN = 21n;

/**
 * Loads the filter without no_new_privs: CAP_SYS_ADMIN must be effective. After a change to a
 * non-zero uid (with keep-caps) the effective set is empty but the permitted one still has it:
 * raise effective to permitted for the load, and put the sets back afterwards unless capset
 * (applySets) follows anyway.
 */
function loadSeccompPrivileged(sys: Syscalls, prepared: PreparedSeccomp, capsetFollows: boolean): void {
  let old: ReturnType<Syscalls['capget']> | undefined;
  try {
    const cur = sys.capget();
    if (((cur.effective >> CAP_SYS_ADMIN) & 1n) === 0n && ((cur.permitted >> CAP_SYS_ADMIN) & 1n) === 1n) {
      sys.capset({ ...cur, effective: cur.permitted });
      old = cur;
    }
  } catch (err) {
    throw new Error(`raising CAP_SYS_ADMIN to load the seccomp filter: ${(err as Error).message}`, { cause: err });
  }
  loadSeccomp(sys, prepared);
  if (old && !capsetFollows) step('restoring capabilities after loading the seccomp filter', () => sys.capset(old as ReturnType<Syscalls['capget']>));
}

/**
 * Applies `process` to the calling (main) thread and execs `executable` (from
 * resolveExecutable) with argv = process.args. Returns only by throwing.
 */
export function execUserProcess(sys: Syscalls, process: Process | undefined, executable: string, options: ExecOptions = {}): never {
  const warn = options.warn ?? (() => undefined);
  const procSelf = options.procSelf ?? '/proc/self';
  const plan = planProcess(process, options);
  const setgroups = readSetgroups(procSelf);
  const status = step('reading signal dispositions', () => readFileSync(posix.join(procSelf, 'status'), 'utf8'));

  step('marking inherited fds close-on-exec', () => prepareExecFds(sys, options.preserveFds ?? 0));
  applyOomScoreAdj(plan.oomScoreAdj, procSelf);
  if (plan.noNewPrivileges) step('setting no_new_privs', () => sys.setNoNewPrivs());
  applyScheduler(sys, plan.scheduler);
  applyIoPriority(sys, plan.ioPriority);
  applyPersonality(sys, plan.personality);
  sys.umask(plan.umask);
  const inCwd = chdirAsRoot(sys, plan.cwd);
  applyRlimits(sys, plan.rlimits);

  if (plan.capabilities) dropBounding(sys, plan.capabilities);
  step('setting keep caps', () => sys.setKeepCaps(true));
  fixStdioOwnership(sys, plan.user.uid, warn);
  switchUser(sys, plan.user, setgroups);
  if (!inCwd) {
    try {
      sys.chdir(plan.cwd);
    } catch (err) {
      throw cwdError(plan.cwd, goErrnoText(err));
    }
  }
  verifyCwd();
  step('clearing keep caps', () => sys.setKeepCaps(false));
  const privilegedSeccomp = options.seccomp !== undefined && !plan.noNewPrivileges;
  if (privilegedSeccomp) {
    // Signals first here, so that only capset/prctl (and execve) run under the filter.
    step('resetting signal dispositions', () => resetSignalsForExec(sys, status));
    loadSeccompPrivileged(sys, options.seccomp as PreparedSeccomp, plan.capabilities !== undefined);
  }
  if (plan.capabilities) applySets(sys, plan.capabilities, warn);

  if (!privilegedSeccomp) step('resetting signal dispositions', () => resetSignalsForExec(sys, status));
  if (options.seccomp && plan.noNewPrivileges) loadSeccomp(sys, options.seccomp);
  try {
    return sys.execve(executable, plan.argv, plan.env);
  } catch (err) {
    if (errnoCode(err) === undefined) throw err;
    throw new Error(`exec ${executable}: ${goErrnoText(err)}`, { cause: err });
  }
}
