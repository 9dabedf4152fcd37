// A SeccompPlan → the BPF program the kernel will run, through libseccomp (as runc's InitSeccomp
// builds its filter with libseccomp-golang), followed by runc's -ENOSYS stub in front.
//
// As runc: extra architectures are added (the native one, already present, is no error);
// syscall names libseccomp does not know are skipped (runc logs them at debug level and goes
// on: a profile may name calls of newer kernels); above 32 names the filter is compiled as a
// binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2) where libseccomp can; SCMP_ACT_NOTIFY needs API
// level 6 (libseccomp >= 2.5.0 on Linux >= 5.7).
import { BPF_MAXINSNS, encodeProgram, enosysStub, type LastSyscalls } from './bpf';
import { NR_SCMP_ERROR, SCMP_FLTATR_CTL_OPTIMIZE, type Libseccomp } from './ffi';
import { ARCHES, actionName, type SeccompPlan } from './profile';

export interface CompiledFilter {
  /** struct sock_filter[] in host byte order, the -ENOSYS stub included. */
  program: Buffer;
  /** Syscall names libseccomp could not resolve (skipped, as runc does). */
  skipped: string[];
  /** Instructions of the -ENOSYS stub at the start of `program` (0: none). */
  stubLength: number;
}

function archDisplay(name: string): string {
  return Object.keys(ARCHES).find((k) => ARCHES[k as keyof typeof ARCHES] === name) ?? name;
}

/** Largest syscall number the profile names, for the native and each extra architecture. */
export function lastSyscalls(plan: SeccompPlan, lib: Libseccomp): LastSyscalls {
  const tokens = new Set<number>([lib.nativeArch() >>> 0]);
  for (const a of plan.architectures) {
    const t = lib.archToken(a);
    if (t !== 0) tokens.add(t >>> 0);
  }
  const out: LastSyscalls = new Map();
  for (const token of tokens) {
    let max = 0;
    for (const name of plan.names) {
      const nr = lib.resolveSyscall(name, token);
      if (nr > max) max = nr;
    }
    if (max > 0) out.set(token, max);
  }
  return out;
}

export function compileFilter(plan: SeccompPlan, lib: Libseccomp): CompiledFilter {
  const v = lib.version;
  const libVersion = `libseccomp ${v.major}.${v.minor}.${v.micro}`;
  if (plan.notify && lib.apiLevel() < 6) {
    throw new Error(`seccomp notify unsupported: API level: got ${lib.apiLevel()}, want at least 6 (${libVersion}; libseccomp >= 2.5.0 and Linux >= 5.7 are needed)`);
  }
  const filter = lib.newFilter(plan.defaultAction);
  const skipped: string[] = [];
  let program: Buffer;
  try {
    for (const name of plan.architectures) {
      const token = lib.archToken(name);
      if (token === 0) throw new Error(`linux.seccomp.architectures: ${archDisplay(name)} is not supported by ${libVersion}`);
      filter.addArch(token, archDisplay(name));
    }
    if (plan.names.length > 32) {
      try {
        filter.setAttr(SCMP_FLTATR_CTL_OPTIMIZE, 2);
      } catch {
        // an older libseccomp: the filter is only longer
      }
    }
    for (const rule of plan.rules) {
      const nr = lib.resolveSyscall(rule.name);
      if (nr === NR_SCMP_ERROR) {
        if (!skipped.includes(rule.name)) skipped.push(rule.name);
        continue;
      }
      try {
        filter.addRule(rule.action, nr, rule.name, rule.conditions);
      } catch (err) {
        throw new Error(`error adding seccomp rule for syscall ${rule.name} (${actionName(rule.action)}): ${(err as Error).message}`, { cause: err });
      }
    }
    program = filter.exportBpf();
  } finally {
    filter.release();
  }
  const stub = plan.enosysStub ? enosysStub(lastSyscalls(plan, lib)) : [];
  if (stub.length > 0) program = Buffer.concat([encodeProgram(stub), program]);
  const insns = program.length / 8;
  if (insns > BPF_MAXINSNS) throw new Error(`seccomp filter too large: ${insns} BPF instructions (the kernel accepts at most ${BPF_MAXINSNS})`);
  if (insns === 0) throw new Error('seccomp: libseccomp exported an empty filter');
  return { program, skipped, stubLength: stub.length };
}
