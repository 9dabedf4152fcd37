// linux.personality → personality(2): the execution domain (LINUX, LINUX32) or'ed with the
// flags of <linux/personality.h>. The runtime spec defines no flag values yet and runc ignores
// `flags`; tsrun applies the kernel's flag names and rejects anything else.
import type { LinuxPersonality } from '../../spec';
import { PERSONALITY_DOMAINS } from '../../linux/constants';
import type { Syscalls } from '../../linux/syscalls';
import { step } from './errors';

/** Personality flags from <linux/personality.h>. */
export const PERSONALITY_FLAGS: Readonly<Record<string, number>> = {
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
};

function own(table: Readonly<Record<string, number>>, key: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** The persona number for a spec personality; throws on unknown domain or flag names. */
export function planPersonality(p: LinuxPersonality | undefined): number | undefined {
  if (!p) return undefined;
  const domain = own(PERSONALITY_DOMAINS, p.domain);
  if (domain === undefined) throw new Error(`invalid personality domain ${JSON.stringify(p.domain)}`);
  let persona = domain;
  for (const f of p.flags ?? []) {
    const bit = own(PERSONALITY_FLAGS, f);
    if (bit === undefined) throw new Error(`invalid personality flag ${JSON.stringify(f)}`);
    persona |= bit;
  }
  return persona;
}

export function applyPersonality(sys: Syscalls, persona: number | undefined): void {
  if (persona !== undefined) step('setting personality', () => sys.personality(persona));
}
