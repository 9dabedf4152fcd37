// A classic-BPF interpreter for seccomp programs (the subset the kernel's seccomp accepts), so
// that tests can run what libseccomp (plus tsrun's -ENOSYS stub) generated against a
// struct seccomp_data and check the verdict, without loading anything into a kernel.
import { decodeProgram, type Insn } from '../../src/seccomp/bpf';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const X32_BIT = 0x40000000;

export interface SeccompData {
  nr: number;
  arch?: number;
  ip?: bigint;
  args?: Array<bigint | number>;
}

/** struct seccomp_data (64 bytes, little-endian). */
function encodeData(d: SeccompData): Buffer {
  const b = Buffer.alloc(64);
  b.writeInt32LE(d.nr | 0, 0);
  b.writeUInt32LE((d.arch ?? AUDIT_ARCH_X86_64) >>> 0, 4);
  b.writeBigUInt64LE(d.ip ?? 0n, 8);
  (d.args ?? []).forEach((a, i) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(a)), 16 + i * 8));
  return b;
}

const u32 = (v: number): number => v >>> 0;

/** Runs `program` (struct sock_filter[] bytes or decoded) on `data`; returns the 32-bit verdict. */
export function runFilter(program: Buffer | Insn[], data: SeccompData): number {
  const insns = Buffer.isBuffer(program) ? decodeProgram(program) : program;
  const pkt = encodeData(data);
  const mem = new Array<number>(16).fill(0);
  let A = 0;
  let X = 0;
  let pc = 0;
  for (let steps = 0; steps < 100_000; steps++) {
    const i = insns[pc];
    if (!i) throw new Error(`BPF: fell off the program at ${pc}`);
    pc++;
    const cls = i.code & 0x07;
    const src = i.code & 0x08 ? X : i.k;
    switch (cls) {
      case 0x00: // LD
      case 0x01: {
        // LDX
        const mode = i.code & 0xe0;
        let v: number;
        if (mode === 0x20) {
          if ((i.code & 0x18) !== 0x00) throw new Error(`BPF: only word loads are valid in seccomp (code 0x${i.code.toString(16)})`);
          if (i.k % 4 !== 0 || i.k + 4 > 64) throw new Error(`BPF: bad offset ${i.k}`);
          v = pkt.readUInt32LE(i.k);
        } else if (mode === 0x00) v = i.k;
        else if (mode === 0x60) v = mem[i.k]!;
        else if (mode === 0x80) v = 64; // BPF_LEN
        else throw new Error(`BPF: unsupported load mode 0x${i.code.toString(16)}`);
        if (cls === 0x00) A = u32(v);
        else X = u32(v);
        break;
      }
      case 0x02: // ST
        mem[i.k] = A;
        break;
      case 0x03: // STX
        mem[i.k] = X;
        break;
      case 0x04: {
        // ALU
        const op = i.code & 0xf0;
        switch (op) {
          case 0x00: A = u32(A + src); break;
          case 0x10: A = u32(A - src); break;
          case 0x20: A = u32(Math.imul(A, src)); break;
          case 0x30: A = src === 0 ? 0 : u32(Math.floor(A / src)); break;
          case 0x40: A = u32(A | src); break;
          case 0x50: A = u32(A & src); break;
          case 0x60: A = u32(A << (src & 31)); break;
          case 0x70: A = u32(A >>> (src & 31)); break;
          case 0x80: A = u32(-A); break;
          case 0x90: A = src === 0 ? 0 : u32(A % src); break;
          case 0xa0: A = u32(A ^ src); break;
          default: throw new Error(`BPF: unsupported ALU op 0x${i.code.toString(16)}`);
        }
        break;
      }
      case 0x05: {
        // JMP
        const op = i.code & 0xf0;
        if (op === 0x00) {
          pc += i.k;
          break;
        }
        let cond: boolean;
        if (op === 0x10) cond = A === u32(src);
        else if (op === 0x20) cond = A > u32(src);
        else if (op === 0x30) cond = A >= u32(src);
        else if (op === 0x40) cond = (A & src) !== 0;
        else throw new Error(`BPF: unsupported jump 0x${i.code.toString(16)}`);
        pc += cond ? i.jt : i.jf;
        break;
      }
      case 0x06: // RET
        return u32((i.code & 0x18) === 0x10 ? A : i.k);
      case 0x07: // MISC
        if ((i.code & 0xf8) === 0x00) X = A; // TAX
        else A = X; // TXA
        break;
    }
  }
  throw new Error('BPF: too many steps');
}
