// set_mempolicy(2) and sched_setaffinity(2): the two per-thread settings the init applies to
// its main thread (the one that execs the user's program; both survive execve). Raw system
// calls through libc's syscall(); errors are SyscallErrors naming the call.
import { errnoError } from './errors';
import { libc } from './libc';

const NUMBERS: Record<string, { setMempolicy: number; getMempolicy: number; schedSetaffinity: number; schedGetaffinity: number }> = {
  x64: { setMempolicy: 238, getMempolicy: 239, schedSetaffinity: 203, schedGetaffinity: 204 },
  arm64: { setMempolicy: 237, getMempolicy: 236, schedSetaffinity: 122, schedGetaffinity: 123 },
};

function nr(): (typeof NUMBERS)['x64'] {
  const n = NUMBERS[process.arch];
  if (!n) throw new Error(`NUMA and CPU affinity calls are not wired for architecture ${process.arch}`);
  return n;
}

/** Bits in the masks passed to the kernel (CONFIG_NODES_SHIFT / NR_CPUS are at most this). */
export const MASK_BITS = 8192;

/** A little-endian bit mask of `bits` bits (unsigned long words) with the given bits set. */
export function bitmask(set: readonly number[], bits = MASK_BITS): Buffer {
  const b = Buffer.alloc(bits / 8);
  for (const i of set) {
    if (i < 0 || i >= bits) throw new RangeError(`bit ${i} is outside a ${bits}-bit mask`);
    b[i >> 3] = (b[i >> 3] as number) | (1 << (i & 7));
  }
  return b;
}

/** The bits set in a mask. */
export function bitsOf(mask: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < mask.length * 8; i++) if (((mask[i >> 3] as number) >> (i & 7)) & 1) out.push(i);
  return out;
}

/** set_mempolicy(mode | flags, nodemask, maxnode): nodes empty means a NULL mask. */
export function setMempolicy(modeAndFlags: number, nodes: readonly number[], what: string): void {
  const mask = nodes.length > 0 ? bitmask(nodes) : null;
  // The kernel reads maxnode - 1 bits (a historical off-by-one every caller follows).
  const r = Number(libc().syscall(nr().setMempolicy, 'int', modeAndFlags, 'void *', mask, 'unsigned long', mask ? MASK_BITS + 1 : 0));
  if (r < 0) throw errnoError('set_mempolicy', what);
}

/** get_mempolicy(&mode, nodemask, maxnode, NULL, 0): the calling thread's policy. */
export function getMempolicy(): { mode: number; nodes: number[] } {
  const mode = Buffer.alloc(4);
  const mask = Buffer.alloc(MASK_BITS / 8);
  const r = Number(libc().syscall(nr().getMempolicy, 'void *', mode, 'void *', mask, 'unsigned long', MASK_BITS + 1, 'void *', null, 'unsigned long', 0));
  if (r < 0) throw errnoError('get_mempolicy');
  return { mode: mode.readInt32LE(0), nodes: bitsOf(mask) };
}

/** sched_setaffinity(pid, mask) (pid 0 = the calling thread). */
export function schedSetaffinity(pid: number, cpus: readonly number[], what: string): void {
  const mask = bitmask(cpus);
  const r = Number(libc().syscall(nr().schedSetaffinity, 'int', pid, 'size_t', mask.length, 'void *', mask));
  if (r < 0) throw errnoError('sched_setaffinity', what);
}

/** sched_getaffinity(pid): the CPUs the thread may run on. */
export function schedGetaffinity(pid: number): number[] {
  const mask = Buffer.alloc(MASK_BITS / 8);
  const r = Number(libc().syscall(nr().schedGetaffinity, 'int', pid, 'size_t', mask.length, 'void *', mask));
  if (r < 0) throw errnoError('sched_getaffinity', String(pid));
  return bitsOf(mask);
}
