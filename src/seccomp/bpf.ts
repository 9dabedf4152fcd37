// Classic BPF as seccomp uses it: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; } in host
// byte order (little-endian on x86_64 and arm64, the architectures tsrun targets), a tiny
// assembler with labels, and runc's -ENOSYS stub (libcontainer/seccomp/patchbpf).
//
// The stub: a profile written for an older kernel does not list the system calls added since,
// so they get the default action, typically EPERM. Programs (glibc above all) try a new call
// (clone3, faccessat2, ...) and fall back to the old one only on ENOSYS. runc therefore puts in
// front of libseccomp's program, per architecture of the filter: "system call number above the
// largest one the profile names → ENOSYS". As runc, only when the default action is not
// permissive (ALLOW, LOG, TRACE). x32 system calls (bit 30 set) on x86_64 are compared with the
// x32 maximum, or left to the filter when the profile has no x32.
import { SCMP_ACT_ERRNO } from './profile';

export const BPF_LD_W_ABS = 0x20;
export const BPF_JMP_JA = 0x05;
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGT_K = 0x25;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_JMP_JSET_K = 0x45;
export const BPF_RET_K = 0x06;
/** The kernel's limit on one filter (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_S390 = 0x00000016;
export const AUDIT_ARCH_S390X = 0x80000016;
/** libseccomp's SCMP_ARCH_X32 token (EM_X86_64 | __AUDIT_ARCH_LE): x86_64 system calls with bit 30. */
export const SCMP_ARCH_X32 = 0x4000003e;
export const X32_SYSCALL_BIT = 0x40000000;

/** offsetof(struct seccomp_data, nr) and (..., arch). */
const DATA_NR = 0;
const DATA_ARCH = 4;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export function encodeProgram(insns: readonly Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    b.writeUInt16LE(i.code, n * 8);
    b.writeUInt8(i.jt, n * 8 + 2);
    b.writeUInt8(i.jf, n * 8 + 3);
    b.writeUInt32LE(i.k >>> 0, n * 8 + 4);
  });
  return b;
}

export function decodeProgram(b: Buffer): Insn[] {
  if (b.length % 8 !== 0) throw new Error(`BPF program of ${b.length} bytes is not a whole number of instructions`);
  const out: Insn[] = [];
  for (let off = 0; off < b.length; off += 8) {
    out.push({ code: b.readUInt16LE(off), jt: b.readUInt8(off + 2), jf: b.readUInt8(off + 3), k: b.readUInt32LE(off + 4) });
  }
  return out;
}

type Target = string | undefined; // a label, or undefined: the next instruction

interface Item {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  /** ja: absolute label. */
  ja?: string;
  label?: string;
}

/** A forward-only assembler: jumps name labels; conditional jumps must stay within 255. */
export class Assembler {
  private items: Item[] = [];
  private pending: string[] = [];

  label(name: string): this {
    this.pending.push(name);
    return this;
  }
  private push(item: Item): this {
    for (const l of this.pending.splice(0)) this.items.push({ code: -1, k: 0, label: l });
    this.items.push(item);
    return this;
  }
  ldAbs(offset: number): this {
    return this.push({ code: BPF_LD_W_ABS, k: offset });
  }
  jump(code: number, k: number, jt: Target, jf: Target): this {
    return this.push({ code, k, jt, jf });
  }
  ja(label: string): this {
    return this.push({ code: BPF_JMP_JA, k: 0, ja: label });
  }
  ret(k: number): this {
    return this.push({ code: BPF_RET_K, k });
  }
  /** Resolves labels; `end` labels still pending refer to the first instruction after the stub. */
  assemble(): Insn[] {
    const where = new Map<string, number>();
    const real: Item[] = [];
    for (const it of this.items) {
      if (it.label !== undefined) where.set(it.label, real.length);
      else real.push(it);
    }
    for (const l of this.pending) where.set(l, real.length);
    const at = (label: string): number => {
      const pc = where.get(label);
      if (pc === undefined) throw new Error(`BPF assembler: no label ${label}`);
      return pc;
    };
    return real.map((it, pc) => {
      if (it.ja !== undefined) {
        const off = at(it.ja) - (pc + 1);
        if (off < 0) throw new Error(`BPF assembler: backward jump to ${it.ja}`);
        return { code: it.code, jt: 0, jf: 0, k: off };
      }
      const rel = (t: Target): number => {
        if (t === undefined) return 0;
        const off = at(t) - (pc + 1);
        if (off < 0 || off > 255) throw new Error(`BPF assembler: conditional jump to ${t} out of range (${off})`);
        return off;
      };
      return { code: it.code, jt: rel(it.jt), jf: rel(it.jf), k: it.k >>> 0 };
    });
  }
}

/** Largest system call number the profile names, per architecture token of the filter. */
export type LastSyscalls = Map<number, number>;

/** The audit architecture a libseccomp token stands for (x32 shares x86_64's). */
export function auditArch(token: number): number {
  return token >>> 0 === SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token >>> 0;
}

/**
 * runc's -ENOSYS stub for `last` (token → largest system call number named). Jumps to the
 * instruction after the stub (the libseccomp program) unless the call is above the maximum.
 * Empty when `last` is.
 */
export function enosysStub(last: LastSyscalls): Insn[] {
  // Group the tokens by audit architecture (x86_64 and x32 share one).
  const byAudit = new Map<number, Map<number, number>>();
  for (const [token, max] of last) {
    const a = auditArch(token);
    if (!byAudit.has(a)) byAudit.set(a, new Map());
    byAudit.get(a)!.set(token >>> 0, max);
  }
  if (byAudit.size === 0) return [];
  const enosys = SCMP_ACT_ERRNO(38);
  const asm = new Assembler();
  asm.ldAbs(DATA_ARCH);
  const arches = [...byAudit.keys()];
  arches.forEach((a, i) => asm.jump(BPF_JMP_JEQ_K, a, `arch${i}`, undefined));
  asm.ja('filter');
  arches.forEach((a, i) => {
    const maxes = byAudit.get(a)!;
    asm.label(`arch${i}`).ldAbs(DATA_NR);
    if (a === AUDIT_ARCH_S390 || a === AUDIT_ARCH_S390X) {
      // Unknown calls reach s390 as the multiplexer setup(2) = 0: ENOSYS for it (runc).
      asm.jump(BPF_JMP_JEQ_K, 0, 'enosys', undefined);
    }
    if (a === AUDIT_ARCH_X86_64) {
      const x64 = maxes.get(AUDIT_ARCH_X86_64);
      const x32 = maxes.get(SCMP_ARCH_X32);
      asm.jump(BPF_JMP_JSET_K, X32_SYSCALL_BIT, x32 !== undefined ? `x32_${i}` : 'filter', undefined);
      if (x64 !== undefined) asm.jump(BPF_JMP_JGT_K, x64, 'enosys', undefined);
      asm.ja('filter');
      if (x32 !== undefined) {
        asm.label(`x32_${i}`).jump(BPF_JMP_JGT_K, x32, 'enosys', undefined);
        asm.ja('filter');
      }
    } else {
      asm.jump(BPF_JMP_JGT_K, [...maxes.values()][0]!, 'enosys', undefined);
      asm.ja('filter');
    }
  });
  asm.label('enosys').ret(enosys);
  asm.label('filter');
  return asm.assemble();
}
