// System settings of the container that are not mounts: hostname, domain name and the
// linux.sysctl values (written under the container's /proc/sys, after pivot_root).
import { closeSync, constants as fsConstants, openSync, writeSync } from 'node:fs';
import type { Spec } from '../spec';
import type { Syscalls } from '../linux/syscalls';
import { RootfsError, attempt } from './rootfs/errors';

/** Writes one sysctl file; replaceable in tests. */
export type SysctlWriter = (path: string, value: string) => void;

/** Opens the existing file (no create, no symlink) and writes the value. */
export const writeProcFile: SysctlWriter = (path, value) => {
  const fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
};

/**
 * The /proc/sys file of a sysctl key: "net.ipv4.ip_forward" → /proc/sys/net/ipv4/ip_forward.
 * A key with a "/" is taken as already slash-separated (sysctl(8)'s form for names holding
 * dots: "net/ipv4/conf/eth0.100/forwarding"). Throws for keys that are empty or have an
 * empty, "." or ".." component, so no key can name a file outside /proc/sys.
 */
export function sysctlPath(key: string): string {
  const bad = (why: string): never => {
    throw new RootfsError(`sysctl ${JSON.stringify(key)}: invalid key: ${why}`);
  };
  if (key === '') bad('empty');
  if (key.includes('\0')) bad('contains a NUL byte');
  const parts = key.includes('/') ? key.split('/') : key.split('.');
  for (const p of parts) {
    if (p === '') bad('empty component');
    if (p === '.' || p === '..') bad(`"${p}" component`);
  }
  return '/proc/sys/' + parts.join('/');
}

/** Validates every key first (nothing is written if one is bad), then writes them in order. */
export function applySysctl(sysctl: Readonly<Record<string, string>> | undefined, write: SysctlWriter = writeProcFile): void {
  const entries = Object.entries(sysctl ?? {}).map(([key, value]) => ({ key, value, path: sysctlPath(key) }));
  for (const { key, value, path } of entries) {
    attempt(`sysctl ${key}=${value}`, `write ${path}`, () => write(path, value));
  }
}

/** True when the spec gives the container its own namespace of this type (new or joined). */
function hasNamespace(spec: Spec, type: string): boolean {
  return (spec.linux?.namespaces ?? []).some((ns) => ns.type === type);
}

/**
 * hostname, domainname (each only with a UTS namespace of the container's own: never change
 * the host's) and linux.sysctl.
 */
export function applySystemSettings(sys: Syscalls, spec: Spec, write: SysctlWriter = writeProcFile): void {
  for (const [field, value] of [
    ['hostname', spec.hostname],
    ['domainname', spec.domainname],
  ] as const) {
    if (value === undefined || value === '') continue;
    if (!hasNamespace(spec, 'uts')) {
      throw new RootfsError(`${field} ${JSON.stringify(value)}: setting it needs a UTS namespace (linux.namespaces has no "uts")`);
    }
    attempt(`set ${field} ${JSON.stringify(value)}`, undefined, () =>
      field === 'hostname' ? sys.sethostname(value) : sys.setdomainname(value),
    );
  }
  applySysctl(spec.linux?.sysctl, write);
}
