// linux.netDevices (OCI 1.3): the named interfaces of the runtime's network namespace are moved
// into the container's, during create, once the init (and so its network namespace) exists:
// rtnetlink RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME (moved and renamed in one step).
// Moving a link flushes its addresses, so its global-scope ones are read before and added again
// inside, as runc does (host- and link-scope ones are not: the kernel makes link-local IPv6
// addresses itself), and a link that was up is set up again. Nothing moves them back, as with
// runc: when the container's own network namespace dies the kernel returns physical devices to
// the initial namespace and destroys virtual ones (a veth end takes its peer with it); in a
// namespace joined by path they stay, and that namespace's owner decides.
import type { Spec } from '../spec';
import { linux } from '../linux/syscalls';
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from '../linux/constants';
import { formatAddress, IFF_UP, Netlink, type Address, type Link } from '../linux/netlink';

/** Validates linux.netDevices against the rest of the config (no system calls). */
export function checkNetDevices(spec: Spec): void {
  const devices = Object.entries(spec.linux?.netDevices ?? {});
  if (devices.length === 0) return;
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === 'network')) {
    throw new Error('linux.netDevices: the container has no network namespace of its own (add a "network" namespace)');
  }
  const names = new Map<string, string>();
  for (const [hostName, dev] of devices) {
    const name = dev?.name || hostName;
    for (const [what, n] of [['host interface', hostName], ['name', name]] as const) {
      if (n.length === 0 || n.length > 15 || /[\s/:]/.test(n) || n === '.' || n === '..') {
        throw new Error(`linux.netDevices.${hostName}: invalid ${what} ${JSON.stringify(n)} (1 to 15 characters, no '/', ':' or whitespace)`);
      }
    }
    const other = names.get(name);
    if (other !== undefined) throw new Error(`linux.netDevices: ${other} and ${hostName} would both be named ${name} in the container`);
    names.set(name, hostName);
  }
}

/** RT_SCOPE_UNIVERSE: the only addresses carried over (runc skips host and link scopes). */
const RT_SCOPE_UNIVERSE = 0;

interface Planned {
  hostName: string;
  name: string;
  link: Link;
  addresses: Address[];
}

/** Moves the devices into the network namespace of `initPid` and restores their addresses. */
export function moveNetDevices(spec: Spec, initPid: number): void {
  const devices = Object.entries(spec.linux?.netDevices ?? {});
  if (devices.length === 0) return;
  checkNetDevices(spec);
  const sys = linux();
  const host = Netlink.open();
  let target: number | undefined;
  let self: number | undefined;
  let inside: Netlink | undefined;
  try {
    // Every device is looked up before any moves: a missing one changes nothing.
    const plan: Planned[] = devices.map(([hostName, dev]) => {
      const link = host.link(hostName);
      if (!link) throw new Error(`linux.netDevices: ${hostName}: no such network interface in the runtime's network namespace`);
      return { hostName, name: dev?.name || hostName, link, addresses: host.addresses(link.index).filter((a) => a.scope === RT_SCOPE_UNIVERSE) };
    });
    target = sys.open(`/proc/${initPid}/ns/net`, O_RDONLY | O_CLOEXEC);
    self = sys.open('/proc/thread-self/ns/net', O_RDONLY | O_CLOEXEC);
    // A socket made in the container's namespace stays there: enter, open, come back at once.
    sys.setns(target, CLONE_NEWNET);
    try {
      inside = Netlink.open();
    } finally {
      sys.setns(self, CLONE_NEWNET);
    }
    for (const p of plan) {
      try {
        host.moveToNamespace(p.link.index, target, p.name);
      } catch (err) {
        throw new Error(`linux.netDevices: moving ${p.hostName} into the container as ${p.name}: ${(err as Error).message}`, { cause: err });
      }
      const moved = inside.link(p.name);
      if (!moved) throw new Error(`linux.netDevices: ${p.name} is not in the container's network namespace after the move`);
      for (const a of p.addresses) {
        try {
          inside.addAddress(moved.index, a);
        } catch (err) {
          throw new Error(`linux.netDevices: ${p.name}: adding address ${formatAddress(a)}: ${(err as Error).message}`, { cause: err });
        }
      }
      if (p.link.flags & IFF_UP) inside.setUp(moved.index);
    }
  } finally {
    inside?.close();
    host.close();
    if (target !== undefined) sys.close(target);
    if (self !== undefined) sys.close(self);
  }
}
