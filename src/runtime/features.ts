// What this build of tsrun really implements, reported by `tsrun features`. The lists come from
// the tables the implementation itself uses (namespace plan, mount option parser, capability
// and hook handling), so they cannot claim more than exists; a feature not implemented yet is
// reported as disabled (and a config that asks for it is refused, see unsupported.ts).
import type { Features } from '../spec';
import { CAPABILITIES } from '../linux/constants';
import { knownMountOptions } from './mount-options';
import { STAGE_NAMES } from './namespaces';
import { HOOK_PHASES } from './hooks';
import { seccompFeatures } from '../seccomp';
import { MEMORY_POLICY_FLAGS, MEMORY_POLICY_MODES } from '../init/memory-policy';
import { COMMIT, SPEC_VERSION, VERSION } from '../version';

export function features(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: SPEC_VERSION,
    hooks: [...HOOK_PHASES],
    mountOptions: [...knownMountOptions(), 'idmap', 'ridmap'].sort(),
    linux: {
      namespaces: Object.keys(STAGE_NAMES).sort(),
      capabilities: [...CAPABILITIES],
      cgroup: { v1: true, v2: true, systemd: true, systemdUser: false, rdma: true },
      seccomp: seccompFeatures(),
      apparmor: { enabled: false },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
      memoryPolicy: { modes: Object.keys(MEMORY_POLICY_MODES), flags: Object.keys(MEMORY_POLICY_FLAGS) },
    },
    annotations: {
      'org.opencontainers.runtime.name': 'tsrun',
      'org.opencontainers.runtime.version': VERSION,
      'org.opencontainers.runtime.commit': COMMIT,
    },
  };
}
