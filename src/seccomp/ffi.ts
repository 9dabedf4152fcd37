// The seccomp FFI layer: libseccomp (libseccomp.so.2, Debian package libseccomp2) and the two
// system calls the filter needs (seccomp(2), memfd_create(2)), bound with koffi on first use.
// Nothing here runs at import time, and a process that never meets a seccomp profile never
// loads libseccomp. Like src/linux/syscalls.ts, every method either succeeds or throws an error
// naming the call (libseccomp functions return -errno: SyscallError("seccomp_rule_add_array
// mkdir: EINVAL: ...")).
//
// libseccomp is used to *compile* the profile (seccomp_init, seccomp_arch_add,
// seccomp_rule_add_array, seccomp_export_bpf): the resulting BPF program is then loaded with
// the raw seccomp(2) call, as runc's patchbpf.PatchAndLoad does. That keeps libseccomp (its
// allocations, its frees) out of the few instructions between loading the filter and execve,
// lets tsrun prepend runc's -ENOSYS stub, and makes the filter flags depend only on the kernel,
// not on the libseccomp version (2.5.4 has no WAIT_KILLABLE_RECV attribute).
import { closeSync, fstatSync, readSync } from 'node:fs';
import type * as Koffi from 'koffi';
import { SyscallError, errnoNumber } from '../linux/errors';
import { SYS } from '../linux/constants';
import { loadKoffi } from '../linux/koffi';

type Fn = Koffi.KoffiFunction;

export const LIBSECCOMP_SONAME = 'libseccomp.so.2';
/** libseccomp's "no such syscall" (__NR_SCMP_ERROR). */
export const NR_SCMP_ERROR = -1;
/** enum scmp_filter_attr */
export const SCMP_FLTATR_CTL_OPTIMIZE = 8;

const SECCOMP_SET_MODE_FILTER = 1;
const SECCOMP_GET_ACTION_AVAIL = 2;
const MFD_CLOEXEC = 1;

export class LibseccompMissingError extends Error {}

export interface LibseccompVersion {
  major: number;
  minor: number;
  micro: number;
}

/** A libseccomp filter context (scmp_filter_ctx); release() it when done. */
export interface SeccompFilterContext {
  /** seccomp_arch_add; false when the architecture was already there (EEXIST). */
  addArch(token: number, name: string): boolean;
  /** seccomp_rule_add_array. */
  addRule(action: number, syscall: number, name: string, conditions: readonly ArgCondition[]): void;
  /** seccomp_attr_set. */
  setAttr(attr: number, value: number): void;
  /** seccomp_export_bpf: the BPF program (struct sock_filter[]) in host byte order. */
  exportBpf(): Buffer;
  release(): void;
}

export interface ArgCondition {
  index: number;
  op: number;
  value: bigint;
  valueTwo: bigint;
}

/** The libseccomp functions tsrun uses. */
export interface Libseccomp {
  readonly version: LibseccompVersion;
  /** seccomp_api_get: the API level (6: notify usable, 2.5.0+ on Linux 5.7+). */
  apiLevel(): number;
  /** seccomp_arch_native: the AUDIT_ARCH_* token of this machine. */
  nativeArch(): number;
  /** seccomp_arch_resolve_name: the token of a libseccomp arch name, 0 if unknown to this libseccomp. */
  archToken(name: string): number;
  /** seccomp_syscall_resolve_name_arch: the number, NR_SCMP_ERROR if unknown, < -1 for pseudo syscalls. */
  resolveSyscall(name: string, arch?: number): number;
  /** seccomp_init(defaultAction). */
  newFilter(defaultAction: number): SeccompFilterContext;
}

/** What the kernel offers (seccomp(2)). */
export interface SeccompKernel {
  /** Whether seccomp(SECCOMP_SET_MODE_FILTER) accepts `flags` (probe: EFAULT = known flag). */
  flagsSupported(flags: number): boolean;
  /** SECCOMP_GET_ACTION_AVAIL. */
  actionAvailable(action: number): boolean;
  /**
   * seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): puts `filter` in force for the calling
   * thread. Returns the listener fd with SECCOMP_FILTER_FLAG_NEW_LISTENER, else 0. `filter`
   * must come from prepareProgram (built before, so that nothing is allocated here).
   */
  setModeFilter(flags: number, filter: PreparedProgram): number;
  /** The struct sock_fprog koffi will pass, built once (call before setModeFilter). */
  prepareProgram(program: Buffer): PreparedProgram;
}

export interface PreparedProgram {
  readonly len: number;
  readonly filter: Buffer;
}

interface RawSeccomp {
  koffi: typeof Koffi;
  version: Fn;
  apiGet: Fn;
  archNative: Fn;
  archResolveName: Fn;
  resolveNameArch: Fn;
  init: Fn;
  release: Fn;
  archAdd: Fn;
  ruleAddArray: Fn;
  attrSet: Fn;
  exportBpf: Fn;
}

interface RawKernel {
  koffi: typeof Koffi;
  seccompFilter: Fn;
  seccompAction: Fn;
  memfdCreate: Fn;
}

let rawLib: RawSeccomp | undefined;
let rawKernel: RawKernel | undefined;

function requireKoffi(): typeof Koffi {
  return loadKoffi();
}

/** True once libseccomp has been loaded in this process (tests check laziness). */
export function libseccompLoaded(): boolean {
  return rawLib !== undefined;
}

function kernelRaw(): RawKernel {
  if (rawKernel) return rawKernel;
  const koffi = requireKoffi();
  const libc = koffi.load('libc.so.6');
  if (!typeSeen('tsrun_sock_fprog')) koffi.struct('tsrun_sock_fprog', { len: 'uint16_t', filter: 'void *' });
  // syscall(2) declared with fixed parameters (the integer registers are the same as for the
  // variadic call on x86_64/arm64; glibc's syscall() only moves registers).
  rawKernel = {
    koffi,
    seccompFilter: libc.func('long syscall(long nr, unsigned long op, unsigned long flags, const tsrun_sock_fprog *prog)'),
    seccompAction: libc.func('long syscall(long nr, unsigned long op, unsigned long flags, _Inout_ uint32_t *action)'),
    memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  };
  return rawKernel;
}

const declared = new Set<string>();
function typeSeen(name: string): boolean {
  const seen = declared.has(name);
  declared.add(name);
  return seen;
}

/**
 * libseccomp.so.2, bound on first use. Throws LibseccompMissingError ("libseccomp is not
 * installed ...") when the library cannot be loaded. `soname` exists for tests.
 */
export function libseccomp(soname: string = LIBSECCOMP_SONAME): Libseccomp {
  const raw = soname === LIBSECCOMP_SONAME && rawLib ? rawLib : bind(soname);
  if (soname === LIBSECCOMP_SONAME) rawLib = raw;
  return wrap(raw);
}

function bind(soname: string): RawSeccomp {
  const koffi = requireKoffi();
  let lib: Koffi.IKoffiLib;
  try {
    lib = koffi.load(soname);
  } catch (err) {
    throw new LibseccompMissingError(
      `libseccomp is not installed: cannot load ${soname} (Debian package libseccomp2), needed for linux.seccomp: ${(err as Error).message}`,
    );
  }
  if (!typeSeen('tsrun_scmp_version')) koffi.struct('tsrun_scmp_version', { major: 'uint', minor: 'uint', micro: 'uint' });
  const f = (decl: string): Fn => lib.func(decl);
  return {
    koffi,
    version: f('const tsrun_scmp_version *seccomp_version(void)'),
    apiGet: f('unsigned int seccomp_api_get(void)'),
    archNative: f('uint32_t seccomp_arch_native(void)'),
    archResolveName: f('uint32_t seccomp_arch_resolve_name(const char *name)'),
    resolveNameArch: f('int seccomp_syscall_resolve_name_arch(uint32_t arch, const char *name)'),
    init: f('void *seccomp_init(uint32_t def_action)'),
    release: f('void seccomp_release(void *ctx)'),
    archAdd: f('int seccomp_arch_add(void *ctx, uint32_t arch)'),
    ruleAddArray: f('int seccomp_rule_add_array(void *ctx, uint32_t action, int syscall, unsigned int count, const void *args)'),
    attrSet: f('int seccomp_attr_set(void *ctx, int attr, uint32_t value)'),
    exportBpf: f('int seccomp_export_bpf(void *ctx, int fd)'),
  };
}

/** libseccomp returns -errno. */
function check(rc: number, call: string, subject?: string): number {
  if (rc < 0) throw new SyscallError(call, -rc, subject);
  return rc;
}

/** struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a, datum_b; } */
function encodeConditions(conditions: readonly ArgCondition[]): Buffer | null {
  if (conditions.length === 0) return null;
  const b = Buffer.alloc(24 * conditions.length);
  conditions.forEach((c, i) => {
    b.writeUInt32LE(c.index >>> 0, i * 24);
    b.writeUInt32LE(c.op >>> 0, i * 24 + 4);
    b.writeBigUInt64LE(c.value, i * 24 + 8);
    b.writeBigUInt64LE(c.valueTwo, i * 24 + 16);
  });
  return b;
}

function wrap(raw: RawSeccomp): Libseccomp {
  const v = raw.koffi.decode(raw.version(), 'tsrun_scmp_version') as LibseccompVersion;
  return {
    version: { major: v.major, minor: v.minor, micro: v.micro },
    apiLevel: () => raw.apiGet() as number,
    nativeArch: () => raw.archNative() as number,
    archToken: (name) => raw.archResolveName(name) as number,
    resolveSyscall: (name, arch = 0) => raw.resolveNameArch(arch, name) as number,
    newFilter(defaultAction: number): SeccompFilterContext {
      const ctx = raw.init(defaultAction >>> 0);
      if (ctx === null) throw new Error(`seccomp_init: libseccomp refused the default action 0x${(defaultAction >>> 0).toString(16)}`);
      let released = false;
      return {
        addArch(token, name) {
          const rc = raw.archAdd(ctx, token >>> 0) as number;
          if (rc === -(errnoNumber('EEXIST') as number)) return false;
          check(rc, 'seccomp_arch_add', name);
          return true;
        },
        addRule(action, syscall, name, conditions) {
          check(raw.ruleAddArray(ctx, action >>> 0, syscall, conditions.length, encodeConditions(conditions)) as number, 'seccomp_rule_add_array', name);
        },
        setAttr(attr, value) {
          check(raw.attrSet(ctx, attr, value >>> 0) as number, 'seccomp_attr_set', String(attr));
        },
        exportBpf(): Buffer {
          const k = kernelRaw();
          const fd = k.memfdCreate('tsrun-seccomp-bpf', MFD_CLOEXEC) as number;
          if (fd < 0) throw new SyscallError('memfd_create', k.koffi.errno(), 'tsrun-seccomp-bpf');
          try {
            check(raw.exportBpf(ctx, fd) as number, 'seccomp_export_bpf');
            const size = Number(fstatSync(fd).size);
            const out = Buffer.alloc(size);
            let off = 0;
            while (off < size) {
              const n = readSync(fd, out, off, size - off, off);
              if (n === 0) break;
              off += n;
            }
            return out.subarray(0, off);
          } finally {
            closeSync(fd);
          }
        },
        release() {
          if (released) return;
          released = true;
          raw.release(ctx);
        },
      };
    },
  };
}

const EFAULT = 14;

/** seccomp(2) itself; needs no libseccomp. */
export function seccompKernel(): SeccompKernel {
  return {
    flagsSupported(flags: number): boolean {
      const k = kernelRaw();
      // A NULL program: EFAULT when the flags are known, EINVAL when not (libseccomp's probe).
      const r = Number(k.seccompFilter(SYS.seccomp, SECCOMP_SET_MODE_FILTER, flags >>> 0, null));
      return r < 0 && k.koffi.errno() === EFAULT;
    },
    actionAvailable(action: number): boolean {
      const k = kernelRaw();
      const a = new Uint32Array([action >>> 0]);
      return Number(k.seccompAction(SYS.seccomp, SECCOMP_GET_ACTION_AVAIL, 0, a)) === 0;
    },
    prepareProgram(program: Buffer): PreparedProgram {
      kernelRaw();
      if (program.length === 0 || program.length % 8 !== 0) throw new Error(`seccomp: invalid BPF program of ${program.length} bytes`);
      return { len: program.length / 8, filter: program };
    },
    setModeFilter(flags: number, prog: PreparedProgram): number {
      const k = kernelRaw();
      const r = Number(k.seccompFilter(SYS.seccomp, SECCOMP_SET_MODE_FILTER, flags >>> 0, prog));
      if (r < 0) throw new SyscallError('seccomp', k.koffi.errno(), 'SECCOMP_SET_MODE_FILTER');
      return r;
    },
  };
}
