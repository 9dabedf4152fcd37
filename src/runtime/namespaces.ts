// Which namespaces a container gets, decided from linux.namespaces: the stage clones the new
// ones and joins the ones given by path, except mount (the init joins it itself, because it
// must load Node from the host's filesystem first) and cgroup (created by the init after it
// was placed in its cgroup, so that the cgroup is the namespace's root).
import type { LinuxNamespace, Spec } from '../spec';

export type NamespaceType = LinuxNamespace['type'];

/** OCI namespace type → the stage's name for it (and /proc/PID/ns/<name>). */
export const STAGE_NAMES: Record<NamespaceType, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

export interface NamespacePlan {
  /** Stage names of the namespaces cloned new by the stage. */
  clone: string[];
  /** Namespaces the stage joins by path (`user:/proc/1/ns/user`). */
  join: Array<{ type: NamespaceType; path: string }>;
  /** Mount namespace to join by path in the init (otherwise a new one is cloned). */
  mountPath?: string;
  /** The init unshares a new cgroup namespace once it is in its cgroup. */
  newCgroup: boolean;
  newUser: boolean;
  /** Any user namespace (new or joined): ids inside differ from the host's. */
  inUserNamespace: boolean;
}

export class NamespaceConfigError extends Error {}

export function planNamespaces(spec: Spec): NamespacePlan {
  const list = spec.linux?.namespaces ?? [];
  const seen = new Set<NamespaceType>();
  const plan: NamespacePlan = { clone: [], join: [], newCgroup: false, newUser: false, inUserNamespace: false };
  for (const ns of list) {
    if (seen.has(ns.type)) throw new NamespaceConfigError(`linux.namespaces: duplicate namespace type "${ns.type}"`);
    seen.add(ns.type);
    if (ns.path) {
      if (ns.type === 'mount') plan.mountPath = ns.path;
      else plan.join.push({ type: ns.type, path: ns.path });
    } else if (ns.type === 'cgroup') {
      plan.newCgroup = true;
    } else {
      plan.clone.push(STAGE_NAMES[ns.type]);
    }
    if (ns.type === 'user') {
      plan.inUserNamespace = true;
      plan.newUser = !ns.path;
    }
  }
  if (!seen.has('mount')) throw new NamespaceConfigError('linux.namespaces: a mount namespace is required');
  const linux = spec.linux ?? {};
  const hasMappings = (linux.uidMappings?.length ?? 0) > 0 || (linux.gidMappings?.length ?? 0) > 0;
  if (plan.newUser && !hasMappings) {
    throw new NamespaceConfigError('linux.uidMappings/gidMappings: a new user namespace needs uid and gid mappings');
  }
  if (hasMappings && !plan.newUser) {
    throw new NamespaceConfigError('linux.uidMappings/gidMappings: mappings are only allowed with a new user namespace');
  }
  if (Object.keys(linux.timeOffsets ?? {}).length > 0 && !plan.clone.includes('time')) {
    throw new NamespaceConfigError('linux.timeOffsets: time offsets need a new time namespace');
  }
  // As runc: a joined UTS namespace is allowed (Kubernetes pods share the sandbox's).
  if (spec.hostname !== undefined && spec.hostname !== '' && !seen.has('uts')) {
    throw new NamespaceConfigError('hostname: setting the hostname needs a private UTS namespace');
  }
  if (spec.domainname !== undefined && spec.domainname !== '' && !seen.has('uts')) {
    throw new NamespaceConfigError('domainname: setting the domainname needs a private UTS namespace');
  }
  return plan;
}

/** The stage's arguments for this plan. */
export function stageNamespaceArgs(plan: NamespacePlan, spec: Spec): string[] {
  const args: string[] = [];
  for (const j of plan.join) args.push('--join', `${STAGE_NAMES[j.type]}:${j.path}`);
  if (plan.clone.length > 0) args.push('--clone', plan.clone.join(','));
  for (const [clock, offset] of Object.entries(spec.linux?.timeOffsets ?? {})) {
    args.push('--timens-offset', `${clock} ${offset.secs ?? 0} ${offset.nanosecs ?? 0}`);
  }
  if (plan.inUserNamespace) args.push('--root-ids');
  return args;
}
