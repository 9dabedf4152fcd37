// linux.seccomp → a plan: every name, action, operator, architecture and flag of the OCI
// profile validated and turned into libseccomp's numbers, touching nothing (no koffi, no
// libseccomp): the unit-testable half of the seccomp support. compile.ts turns a plan into a
// BPF program with libseccomp; load.ts puts it in force right before execve.
//
// Mirrors runc (libcontainer/specconv SetupSeccomp, libcontainer/seccomp InitSeccomp/matchCall):
// - one rule per syscall name; a rule whose action equals the default action is dropped
//   (libseccomp refuses such rules);
// - the conditions of one rule are ANDed (seccomp_rule_add_array), except when the same
//   argument index appears more than once: then, as runc does, each condition becomes a rule
//   of its own (so they are ORed: libseccomp cannot AND two conditions on one argument);
// - SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD; ERRNO and TRACE default to EPERM;
// - flags absent (not merely empty) → SECCOMP_FILTER_FLAG_SPEC_ALLOW when the kernel has it;
//   SECCOMP_FILTER_FLAG_TSYNC is accepted and ignored (after execve the process has one thread);
// - SCMP_ACT_NOTIFY needs listenerPath and cannot be the default action.
// Differences, on purpose:
// - errnoRet/defaultErrnoRet with an action that takes no errno is an error (the runtime-spec
//   says the runtime MUST fail; runc ignores the value), as is an errnoRet above 65535 (runc
//   truncates it to 16 bits) and an argument index above 5;
// - SCMP_ACT_NOTIFY cannot be used for sendmsg (tsrun's init sends the listener fd to the
//   agent with sendmsg after loading the filter; runc forbids `write` for the same reason);
// - SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without any SCMP_ACT_NOTIFY rule is ignored (the
//   kernel refuses it without a listener).
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArch, LinuxSeccompFlag, LinuxSeccompOperator } from '../spec';

// --- libseccomp's action values (seccomp.h) -------------------------------------------------
export const SCMP_ACT_KILL_PROCESS = 0x80000000;
export const SCMP_ACT_KILL_THREAD = 0x00000000;
export const SCMP_ACT_TRAP = 0x00030000;
export const SCMP_ACT_NOTIFY = 0x7fc00000;
export const SCMP_ACT_ERRNO_BASE = 0x00050000;
export const SCMP_ACT_TRACE_BASE = 0x7ff00000;
export const SCMP_ACT_LOG = 0x7ffc0000;
export const SCMP_ACT_ALLOW = 0x7fff0000;
export const SCMP_ACT_ERRNO = (errno: number): number => (SCMP_ACT_ERRNO_BASE | (errno & 0xffff)) >>> 0;
export const SCMP_ACT_TRACE = (msg: number): number => (SCMP_ACT_TRACE_BASE | (msg & 0xffff)) >>> 0;

const EPERM = 1;
const MAX_RET = 0xffff;

type ActionKind = 'kill-process' | 'kill-thread' | 'trap' | 'errno' | 'trace' | 'allow' | 'log' | 'notify';

/** The OCI action names tsrun knows, with what each means (SCMP_ACT_KILL is KILL_THREAD). */
export const ACTIONS: Readonly<Record<LinuxSeccompAction, ActionKind>> = {
  SCMP_ACT_KILL: 'kill-thread',
  SCMP_ACT_KILL_PROCESS: 'kill-process',
  SCMP_ACT_KILL_THREAD: 'kill-thread',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_LOG: 'log',
  SCMP_ACT_NOTIFY: 'notify',
};

/** libseccomp's comparison operators (enum scmp_compare). */
export const OPERATORS: Readonly<Record<LinuxSeccompOperator, number>> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** OCI architecture names → libseccomp's names (seccomp_arch_resolve_name). */
export const ARCHES: Readonly<Record<LinuxSeccompArch, string>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_M68K: 'm68k',
  SCMP_ARCH_SH: 'sh',
  SCMP_ARCH_SHEB: 'sheb',
};

// --- seccomp(2) filter flags (linux/seccomp.h) -----------------------------------------------
export const SECCOMP_FILTER_FLAG_TSYNC = 1 << 0;
export const SECCOMP_FILTER_FLAG_LOG = 1 << 1;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 1 << 2;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 1 << 5;

/** The flags of the runtime-spec, with their seccomp(2) bit (TSYNC: accepted, never passed). */
export const FLAGS: Readonly<Record<LinuxSeccompFlag, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG_TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG_LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG_SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
};

/** Linux system calls have at most 6 arguments. */
const MAX_ARGS = 6;
const TWO_64 = 2n ** 64n;

export interface SeccompCondition {
  /** Argument index, 0 to 5. */
  index: number;
  /** SCMP_CMP_* value. */
  op: number;
  /** datum_a: the value compared with (the mask for SCMP_CMP_MASKED_EQ). */
  value: bigint;
  /** datum_b: the value the masked argument must equal (SCMP_CMP_MASKED_EQ only). */
  valueTwo: bigint;
}

export interface SeccompRule {
  /** The syscall name as written in the profile (resolved by libseccomp at compile time). */
  name: string;
  /** The libseccomp action value (SCMP_ACT_ERRNO(1) = 0x50001...). */
  action: number;
  /** ANDed conditions; empty: the syscall matches whatever its arguments. */
  conditions: SeccompCondition[];
}

export interface SeccompPlan {
  defaultAction: number;
  /** libseccomp names of the extra architectures, in profile order, without duplicates. */
  architectures: string[];
  /** seccomp(2) flags to load with (SECCOMP_FILTER_FLAG_*; NEW_LISTENER when notify). */
  flags: number;
  rules: SeccompRule[];
  /** Every syscall name the profile lists, in order (redundant rules too): the -ENOSYS stub's input. */
  names: string[];
  /** Whether some rule uses SCMP_ACT_NOTIFY (then the filter gets a listener fd). */
  notify: boolean;
  /** linux.seccomp.listenerPath / listenerMetadata (host path of the agent's socket). */
  listenerPath: string | undefined;
  listenerMetadata: string | undefined;
  /**
   * Whether runc would prepend its -ENOSYS stub (see enosys.ts): the default action is not
   * permissive (ALLOW, LOG, TRACE) and defaultErrnoRet is not already ENOSYS.
   */
  enosysStub: boolean;
}

export interface PlanOptions {
  /**
   * Whether this kernel supports a seccomp(2) filter flag; asked only for the flags the
   * profile names (and for SPEC_ALLOW when it names none). Default: every flag is supported.
   */
  flagSupported?: (flag: number) => boolean;
}

function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

export class SeccompConfigError extends Error {}

function fail(path: string, message: string): never {
  throw new SeccompConfigError(`linux.seccomp${path}: ${message}`);
}

/** The errno/trace value of an ERRNO or TRACE action; an error for other actions. */
function actionValue(name: string, ret: number | undefined, path: string, retField: string): number {
  const kind = own(ACTIONS, name);
  if (kind === undefined) fail(path, `unknown action ${JSON.stringify(name)} (known: ${Object.keys(ACTIONS).join(', ')})`);
  if (ret !== undefined) {
    if (kind !== 'errno' && kind !== 'trace') {
      fail(`${path.replace(/\.(action|defaultAction)$/, '')}.${retField}`, `${name} takes no errno: ${retField} is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE`);
    }
    if (!Number.isInteger(ret) || ret < 0 || ret > MAX_RET) {
      fail(`${path.replace(/\.(action|defaultAction)$/, '')}.${retField}`, `${JSON.stringify(ret)} is out of range (0 to ${MAX_RET})`);
    }
  }
  switch (kind) {
    case 'kill-process':
      return SCMP_ACT_KILL_PROCESS;
    case 'kill-thread':
      return SCMP_ACT_KILL_THREAD;
    case 'trap':
      return SCMP_ACT_TRAP;
    case 'errno':
      return SCMP_ACT_ERRNO(ret ?? EPERM);
    case 'trace':
      return SCMP_ACT_TRACE(ret ?? EPERM);
    case 'allow':
      return SCMP_ACT_ALLOW;
    case 'log':
      return SCMP_ACT_LOG;
    case 'notify':
      return SCMP_ACT_NOTIFY;
  }
}

/** A uint64 argument value from JSON (a number, possibly beyond 2^53, or a bigint). */
export function argValue(v: unknown, path: string): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else fail(path, `must be an unsigned 64-bit integer, got ${JSON.stringify(v)}`);
  // 18446744073709551615 (2^64-1) reaches us as the double 2^64.
  if (b === TWO_64) b = TWO_64 - 1n;
  if (b < 0n || b >= TWO_64) fail(path, `${String(v)} is out of range (0 to 2^64-1)`);
  return b;
}

/** Display name of an action value ("SCMP_ACT_ERRNO(1)"), for messages and tests. */
export function actionName(action: number): string {
  const a = action >>> 0;
  if (a === SCMP_ACT_KILL_PROCESS) return 'SCMP_ACT_KILL_PROCESS';
  if (a === SCMP_ACT_KILL_THREAD) return 'SCMP_ACT_KILL_THREAD';
  if (a === SCMP_ACT_TRAP) return 'SCMP_ACT_TRAP';
  if (a === SCMP_ACT_NOTIFY) return 'SCMP_ACT_NOTIFY';
  if (a === SCMP_ACT_LOG) return 'SCMP_ACT_LOG';
  if (a === SCMP_ACT_ALLOW) return 'SCMP_ACT_ALLOW';
  if ((a & 0xffff0000) === SCMP_ACT_ERRNO_BASE) return `SCMP_ACT_ERRNO(${a & 0xffff})`;
  if ((a & 0xffff0000) === SCMP_ACT_TRACE_BASE) return `SCMP_ACT_TRACE(${a & 0xffff})`;
  return `0x${a.toString(16)}`;
}

/** The flag names of a seccomp(2) flag word (for messages). */
export function flagNames(flags: number): string[] {
  const out = Object.entries(FLAGS)
    .filter(([, bit]) => (flags & bit) !== 0)
    .map(([name]) => name);
  if ((flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) !== 0) out.push('SECCOMP_FILTER_FLAG_NEW_LISTENER');
  return out;
}

/** Syscalls tsrun's init itself calls after loading a filter with a listener: never NOTIFY. */
const NOT_NOTIFIABLE = new Set(['sendmsg']);

/**
 * Validates linux.seccomp and computes the plan. Throws SeccompConfigError naming the field
 * (`linux.seccomp.syscalls[2].args[0].op: ...`). Returns undefined when there is no profile.
 */
export function planSeccomp(seccomp: LinuxSeccomp | undefined, options: PlanOptions = {}): SeccompPlan | undefined {
  if (!seccomp) return undefined;
  const supported = options.flagSupported ?? (() => true);
  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, '.defaultAction', 'defaultErrnoRet');
  if (defaultAction === SCMP_ACT_NOTIFY) fail('.defaultAction', 'SCMP_ACT_NOTIFY cannot be used as default action');

  const architectures: string[] = [];
  (seccomp.architectures ?? []).forEach((arch, i) => {
    const name = own(ARCHES, arch);
    if (name === undefined) fail(`.architectures[${i}]`, `unknown architecture ${JSON.stringify(arch)}`);
    if (!architectures.includes(name)) architectures.push(name);
  });

  const rules: SeccompRule[] = [];
  const names: string[] = [];
  let notify = false;
  (seccomp.syscalls ?? []).forEach((call, i) => {
    const path = `.syscalls[${i}]`;
    const action = actionValue(call.action, call.errnoRet, `${path}.action`, 'errnoRet');
    const conditions: SeccompCondition[] = [];
    const perIndex = new Array<number>(MAX_ARGS).fill(0);
    (call.args ?? []).forEach((arg, j) => {
      const apath = `${path}.args[${j}]`;
      if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index >= MAX_ARGS) {
        fail(`${apath}.index`, `${JSON.stringify(arg.index)} is out of range (a system call has arguments 0 to ${MAX_ARGS - 1})`);
      }
      const op = own(OPERATORS, arg.op);
      if (op === undefined) fail(`${apath}.op`, `unknown operator ${JSON.stringify(arg.op)} (known: ${Object.keys(OPERATORS).join(', ')})`);
      perIndex[arg.index]! += 1;
      conditions.push({ index: arg.index, op, value: argValue(arg.value, `${apath}.value`), valueTwo: argValue(arg.valueTwo ?? 0, `${apath}.valueTwo`) });
    });
    if ((call.names ?? []).length === 0) fail(`${path}.names`, 'must name at least one system call');
    // Same argument index twice: runc's "old behavior", one rule per condition.
    const split = perIndex.some((n) => n > 1);
    call.names.forEach((name, k) => {
      if (typeof name !== 'string' || name === '') fail(`${path}.names[${k}]`, 'empty string is not a valid syscall');
      if (action === SCMP_ACT_NOTIFY) {
        if (NOT_NOTIFIABLE.has(name)) {
          fail(`${path}.names[${k}]`, `SCMP_ACT_NOTIFY cannot be used for the ${name} syscall (tsrun sends the listener fd to the agent with it)`);
        }
        notify = true;
      }
      names.push(name);
      if (action === defaultAction) return; // redundant: libseccomp would refuse it
      if (split) for (const c of conditions) rules.push({ name, action, conditions: [c] });
      else rules.push({ name, action, conditions: [...conditions] });
    });
  });
  if (notify && !seccomp.listenerPath) fail('.listenerPath', 'SCMP_ACT_NOTIFY needs a listenerPath (the seccomp agent\'s socket)');

  let flags = 0;
  if (seccomp.flags === undefined) {
    // runc: no flags at all (not even an empty list) means SPEC_ALLOW where supported.
    if (supported(SECCOMP_FILTER_FLAG_SPEC_ALLOW)) flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  } else {
    seccomp.flags.forEach((flag, i) => {
      const bit = own(FLAGS, flag);
      if (bit === undefined) fail(`.flags[${i}]`, `unknown flag ${JSON.stringify(flag)} (known: ${Object.keys(FLAGS).join(', ')})`);
      if (bit === SECCOMP_FILTER_FLAG_TSYNC) return;
      if (bit === SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify) return;
      if (!supported(bit)) fail(`.flags[${i}]`, `${flag} is not supported by this kernel`);
      flags |= bit;
    });
  }
  if (notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;

  const kind = own(ACTIONS, seccomp.defaultAction);
  const permissive = kind === 'allow' || kind === 'log' || kind === 'trace';
  return {
    defaultAction,
    architectures,
    flags,
    rules,
    names,
    notify,
    listenerPath: seccomp.listenerPath,
    listenerMetadata: seccomp.listenerMetadata,
    enosysStub: !permissive && seccomp.defaultErrnoRet !== ENOSYS,
  };
}

const ENOSYS = 38;
