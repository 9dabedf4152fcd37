// A test that needs something absent fails loudly (CI must not pass by skipping).
export function need(condition: unknown, what: string): void {
  if (!condition) throw new Error(`requirement missing: ${what}`);
}

/**
 * The SigIgn mask without signals 32 and 33: glibc reserves them (libc cannot reset them) and
 * some parents (make) leave them ignored, so their bits depend on who started the tests.
 */
export function sigIgnWithoutGlibcReserved(hex: string | undefined): bigint {
  return BigInt('0x' + (hex ?? '').trim()) & ~0x180000000n;
}
