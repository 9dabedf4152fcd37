// cgroup v2 device control: cgroup2 has no devices.allow; the kernel instead runs a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup on every device open/mknod.
// This generates that program from the clean rule list of the devices emulator (the same
// instruction sequence as runc's devicefilter, itself from crun's ebpf.c) and loads and
// attaches it with bpf(2) through the Syscalls layer.
//
// The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; } in R1:
// access_type = (access << 16) | type. It returns 1 to allow, 0 to deny.
import type { Syscalls } from '../linux/syscalls';
import { isErrno } from '../linux/errors';
import { O_CLOEXEC, O_DIRECTORY, O_RDONLY } from '../linux/constants';
import { DeviceEmulator, ruleString, type DeviceRule } from './devices';

// bpf(2) commands, program/attach types and flags (include/uapi/linux/bpf.h).
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_DETACH = 9;
export const BPF_PROG_GET_FD_BY_ID = 13;
export const BPF_PROG_QUERY = 16;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;

const BPF_DEVCG_ACC_MKNOD = 1;
const BPF_DEVCG_ACC_READ = 2;
const BPF_DEVCG_ACC_WRITE = 4;
const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;

// Opcodes (class | op | source).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

export const LICENSE = 'Apache';

/** One instruction; `next` marks a jump to the first instruction of the next rule's block. */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number | 'next';
  imm: number;
}

const insn = (code: number, dst: number, src: number, off: number | 'next', imm: number): Insn => ({ code, dst, src, off, imm });

export class DeviceFilterError extends Error {}

/** The device filter for a rule list (resolved through the emulator first, as runc does). */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Insn[] {
  const emu = DeviceEmulator.fromRules(rules);
  const clean = emu.cleanRules();
  const defaultAllow = emu.isBlacklist;
  const out: Insn[] = [
    insn(LDX_MEM_W, 2, 1, 0, 0), // R2 <- access_type
    insn(ALU_AND_K, 2, 0, 0, 0xffff), // R2 <- type
    insn(LDX_MEM_W, 3, 1, 0, 0), // R3 <- access_type
    insn(ALU_RSH_K, 3, 0, 0, 16), // R3 <- access
    insn(LDX_MEM_W, 4, 1, 4, 0), // R4 <- major
    insn(LDX_MEM_W, 5, 1, 8, 0), // R5 <- minor
  ];
  clean.forEach((rule, idx) => {
    if (rule.type === 'a') {
      // Only the leading "a" entry that selects allow-list/deny-list mode may appear.
      if (idx !== 0 || rule.allow !== defaultAllow) throw new DeviceFilterError(`internal error: wildcard rule ${ruleString(rule)} at position ${idx}`);
      return;
    }
    if (rule.allow === defaultAllow) throw new DeviceFilterError(`internal error: no-op rule ${ruleString(rule)}`);
    const block: Insn[] = [insn(JMP_JNE_K, 2, 0, 'next', rule.type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK)];
    let access = 0;
    for (const p of rule.access) access |= p === 'r' ? BPF_DEVCG_ACC_READ : p === 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    if (access !== (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      // if ((R3 & access) != R3) goto next: every requested access must be in the rule
      block.push(insn(ALU_MOV_X, 1, 3, 0, 0), insn(ALU_AND_K, 1, 0, 0, access), insn(JMP_JNE_X, 1, 3, 'next', 0));
    }
    if (rule.major >= 0) block.push(insn(JMP_JNE_K, 4, 0, 'next', rule.major | 0));
    if (rule.minor >= 0) block.push(insn(JMP_JNE_K, 5, 0, 'next', rule.minor | 0));
    block.push(insn(ALU_MOV_K, 0, 0, 0, rule.allow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
    // Resolve "next" to the instruction after this block.
    const blockEnd = out.length + block.length;
    block.forEach((b, i) => {
      if (b.off === 'next') b.off = blockEnd - (out.length + i + 1);
    });
    out.push(...block);
  });
  out.push(insn(ALU_MOV_K, 0, 0, 0, defaultAllow ? 1 : 0), insn(JMP_EXIT, 0, 0, 0, 0));
  return out;
}

/** struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; } (little-endian layout). */
export function encodeProgram(insns: readonly Insn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((x, i) => {
    if (x.off === 'next') throw new DeviceFilterError('internal error: unresolved jump');
    b.writeUInt8(x.code, i * 8);
    b.writeUInt8(((x.src & 0xf) << 4) | (x.dst & 0xf), i * 8 + 1);
    b.writeInt16LE(x.off, i * 8 + 2);
    b.writeInt32LE(x.imm | 0, i * 8 + 4);
  });
  return b;
}

/** Loads a CGROUP_DEVICE program; returns its fd. Verifier messages go into the error. */
export function loadDeviceProgram(sys: Syscalls, insns: readonly Insn[]): number {
  const code = encodeProgram(insns);
  const license = Buffer.from(LICENSE + '\0');
  const log = Buffer.alloc(16384);
  const name = Buffer.from('tsrun_devices');
  const attr = Buffer.alloc(72);
  attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
  attr.writeUInt32LE(insns.length, 4);
  attr.writeBigUInt64LE(sys.bufferAddress(code), 8);
  attr.writeBigUInt64LE(sys.bufferAddress(license), 16);
  attr.writeUInt32LE(1, 24); // log_level
  attr.writeUInt32LE(log.length, 28);
  attr.writeBigUInt64LE(sys.bufferAddress(log), 32);
  name.copy(attr, 48, 0, 15);
  try {
    return sys.bpf(BPF_PROG_LOAD, attr, 'BPF_PROG_LOAD (cgroup device filter)');
  } catch (err) {
    const text = log.toString('utf8').replace(/\0[\s\S]*$/, '').trim();
    if (text !== '') (err as Error).message += `; verifier: ${text.split('\n').slice(-3).join(' | ')}`;
    throw err;
  } finally {
    // keep the buffers alive until the call has returned
    void code.length;
    void license.length;
  }
}

function attachAttr(targetFd: number, progFd: number, flags: number): Buffer {
  const a = Buffer.alloc(20);
  a.writeUInt32LE(targetFd, 0);
  a.writeUInt32LE(progFd, 4);
  a.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
  a.writeUInt32LE(flags, 12);
  return a;
}

/** Ids of the CGROUP_DEVICE programs attached to a cgroup directory fd. */
export function queryDevicePrograms(sys: Syscalls, cgroupFd: number): number[] {
  let size = 64;
  for (let tries = 0; tries < 10; tries++) {
    const ids = Buffer.alloc(size * 4);
    const a = Buffer.alloc(32);
    a.writeUInt32LE(cgroupFd, 0);
    a.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
    a.writeBigUInt64LE(sys.bufferAddress(ids), 16);
    a.writeUInt32LE(size, 24);
    try {
      sys.bpf(BPF_PROG_QUERY, a, 'BPF_PROG_QUERY (BPF_CGROUP_DEVICE)');
    } catch (err) {
      if (isErrno(err, 'ENOSPC')) {
        size = a.readUInt32LE(24);
        continue;
      }
      throw err;
    }
    const count = a.readUInt32LE(24);
    const out: number[] = [];
    for (let i = 0; i < count && i < size; i++) out.push(ids.readUInt32LE(i * 4));
    return out;
  }
  throw new DeviceFilterError('could not get the list of CGROUP_DEVICE programs');
}

/**
 * Loads the device filter for `rules` and attaches it to the cgroup directory `dir`
 * (BPF_F_ALLOW_MULTI). Programs attached before (an earlier filter of ours) are detached
 * afterwards, so the cgroup ends with exactly the new filter (as runc without BPF_F_REPLACE).
 */
export function attachDeviceFilter(sys: Syscalls, dir: string, rules: readonly DeviceRule[]): void {
  const program = deviceFilterProgram(rules);
  const dirFd = sys.open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  try {
    const old = queryDevicePrograms(sys, dirFd);
    const progFd = loadDeviceProgram(sys, program);
    try {
      sys.bpf(BPF_PROG_ATTACH, attachAttr(dirFd, progFd, BPF_F_ALLOW_MULTI), `BPF_PROG_ATTACH (BPF_CGROUP_DEVICE) to ${dir}`);
    } finally {
      sys.close(progFd);
    }
    for (const id of old) {
      const idAttr = Buffer.alloc(12);
      idAttr.writeUInt32LE(id, 0);
      const oldFd = sys.bpf(BPF_PROG_GET_FD_BY_ID, idAttr, `BPF_PROG_GET_FD_BY_ID ${id}`);
      try {
        sys.bpf(BPF_PROG_DETACH, attachAttr(dirFd, oldFd, 0), `BPF_PROG_DETACH of the old device filter ${id} from ${dir}`);
      } finally {
        sys.close(oldFd);
      }
    }
  } finally {
    sys.close(dirFd);
  }
}
