// What this build of tsrun really implements, reported by `tsrun features`. Every list here
// is taken from the table the implementation itself uses, so it cannot claim more than exists.
// Sections appear as their capability lands; an absent section means "not supported".
import type { Features } from '../spec';
import { SPEC_VERSION } from '../version';

export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [],
    mountOptions: [],
    linux: {
      namespaces: [],
      capabilities: [],
    },
  };
}
