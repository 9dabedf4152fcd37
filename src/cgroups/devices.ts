// Device access rules (linux.resources.devices), for both cgroup versions. A port of runc's
// devices emulator (libcontainer/cgroups/devices/devices_emulator.go): it models what the v1
// devices controller does with a sequence of allow/deny writes, so that
//   - v1: the minimal sequence of devices.allow/devices.deny writes taking the cgroup from its
//     current devices.list to the requested state is computed and written, in runc's order;
//   - v2: the same clean rule list becomes the BPF_PROG_TYPE_CGROUP_DEVICE program (bpf.ts),
//     so a config means the same thing on both versions (including v1's refusal to punch a
//     hole in a wildcard rule).
import type { LinuxDeviceCgroup, Spec } from '../spec';

export type DeviceType = 'a' | 'c' | 'b';

/** One rule; major/minor -1 is the wildcard "*". */
export interface DeviceRule {
  type: DeviceType;
  major: number;
  minor: number;
  /** Some of "rwm", in that order. */
  access: string;
  allow: boolean;
}

export class DeviceRuleError extends Error {}

const WILDCARD = -1;

function normAccess(access: string): string {
  let out = '';
  for (const p of 'rwm') if (access.includes(p)) out += p;
  return out;
}

function union(a: string, b: string): string {
  return normAccess(a + b);
}
function difference(a: string, b: string): string {
  return normAccess([...a].filter((p) => !b.includes(p)).join(''));
}
function intersection(a: string, b: string): string {
  return normAccess([...a].filter((p) => b.includes(p)).join(''));
}

/** "c 1:3 rwm" (the v1 devices.allow / devices.list syntax). */
export function ruleString(r: DeviceRule): string {
  const n = (v: number) => (v === WILDCARD ? '*' : String(v));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/** An OCI rule (type defaults to "a", major/minor to the wildcard; access is required, as runc). */
export function fromOci(d: LinuxDeviceCgroup, index: number): DeviceRule {
  const type = d.type ?? 'a';
  if (type !== 'a' && type !== 'b' && type !== 'c') throw new DeviceRuleError(`linux.resources.devices[${index}].type: invalid device type ${JSON.stringify(type)}`);
  const access = d.access ?? '';
  if (access === '') throw new DeviceRuleError(`linux.resources.devices[${index}].access: device access cannot be empty`);
  if (!/^[rwm]+$/.test(access)) throw new DeviceRuleError(`linux.resources.devices[${index}].access: invalid access ${JSON.stringify(access)} (any of r, w, m)`);
  return { type, major: d.major ?? WILDCARD, minor: d.minor ?? WILDCARD, access: normAccess(access), allow: d.allow };
}

/**
 * runc's AllowedDevices: appended after the config's own rules, so these always stay usable
 * (mknod of anything, /dev/null, random, full, tty, zero, urandom, /dev/pts/*, ptmx, tun).
 * A default whose path the config lists in linux.devices is left out (the config's wins).
 */
const DEFAULT_ALLOWED: Array<{ path?: string; rule: DeviceRule }> = [
  { rule: { type: 'c', major: WILDCARD, minor: WILDCARD, access: 'm', allow: true } },
  { rule: { type: 'b', major: WILDCARD, minor: WILDCARD, access: 'm', allow: true } },
  { path: '/dev/null', rule: { type: 'c', major: 1, minor: 3, access: 'rwm', allow: true } },
  { path: '/dev/random', rule: { type: 'c', major: 1, minor: 8, access: 'rwm', allow: true } },
  { path: '/dev/full', rule: { type: 'c', major: 1, minor: 7, access: 'rwm', allow: true } },
  { path: '/dev/tty', rule: { type: 'c', major: 5, minor: 0, access: 'rwm', allow: true } },
  { path: '/dev/zero', rule: { type: 'c', major: 1, minor: 5, access: 'rwm', allow: true } },
  { path: '/dev/urandom', rule: { type: 'c', major: 1, minor: 9, access: 'rwm', allow: true } },
  { rule: { type: 'c', major: 136, minor: WILDCARD, access: 'rwm', allow: true } },
  { rule: { type: 'c', major: 5, minor: 2, access: 'rwm', allow: true } },
  { rule: { type: 'c', major: 10, minor: 200, access: 'rwm', allow: true } },
];

/** The rules a container gets: the config's linux.resources.devices, then the defaults. */
export function containerDeviceRules(spec: Spec): DeviceRule[] {
  const rules = (spec.linux?.resources?.devices ?? []).map(fromOci);
  const specPaths = new Set((spec.linux?.devices ?? []).map((d) => d.path));
  for (const d of DEFAULT_ALLOWED) {
    if (d.path && specPaths.has(d.path)) continue;
    rules.push({ ...d.rule });
  }
  return rules;
}

interface Meta {
  type: 'b' | 'c';
  major: number;
  minor: number;
}
const key = (m: Meta) => `${m.type} ${m.major} ${m.minor}`;

/** runc's orderedEntries: by major, minor, then type. */
function sortEntries(rules: Map<string, { meta: Meta; access: string }>): Array<{ meta: Meta; access: string }> {
  return [...rules.values()].sort((a, b) => a.meta.major - b.meta.major || a.meta.minor - b.meta.minor || (a.meta.type < b.meta.type ? -1 : a.meta.type > b.meta.type ? 1 : 0));
}

/** The state of a v1 devices cgroup: a default (allow or deny) plus exceptions. */
export class DeviceEmulator {
  defaultAllow = false;
  rules = new Map<string, { meta: Meta; access: string }>();

  static fromRules(rules: readonly DeviceRule[]): DeviceEmulator {
    const e = new DeviceEmulator(); // starts as deny-all, like runc's target emulator
    for (const r of rules) e.apply(r);
    return e;
  }

  /** devices.list: "a *:* rwm" means allow-all; otherwise every line is an allowed entry. */
  static fromList(list: string): DeviceEmulator {
    const e = new DeviceEmulator();
    for (const line of list.split('\n')) {
      if (line.trim() === '') continue;
      const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
      if (!m) throw new DeviceRuleError(`malformed devices.list line ${JSON.stringify(line)}`);
      const rule: DeviceRule = {
        type: m[1] as DeviceType,
        major: m[2] === '*' ? WILDCARD : Number(m[2]),
        minor: m[3] === '*' ? WILDCARD : Number(m[3]),
        access: normAccess(m[4]!),
        allow: true,
      };
      e.apply(rule);
    }
    return e;
  }

  get isBlacklist(): boolean {
    return this.defaultAllow;
  }

  apply(rule: DeviceRule): void {
    if (rule.type === 'a') {
      this.defaultAllow = rule.allow;
      this.rules.clear();
      return;
    }
    const meta: Meta = { type: rule.type, major: rule.major, minor: rule.minor };
    // allow in allow-all mode / deny in deny-all mode removes an exception; otherwise adds one.
    if (rule.allow === this.defaultAllow) this.remove(meta, rule.access, rule.allow);
    else this.add(meta, rule.access);
  }

  private add(meta: Meta, access: string): void {
    const k = key(meta);
    const old = this.rules.get(k)?.access ?? '';
    this.rules.set(k, { meta, access: union(old, access) });
  }

  private remove(meta: Meta, access: string, allow: boolean): void {
    for (const partial of [
      { type: meta.type, major: WILDCARD, minor: meta.minor },
      { type: meta.type, major: meta.major, minor: WILDCARD },
      { type: meta.type, major: WILDCARD, minor: WILDCARD },
    ]) {
      if (key(partial) === key(meta)) continue;
      const p = this.rules.get(key(partial));
      if (p && intersection(p.access, access) !== '') {
        const what = allow ? "remove 'deny' exception" : "remove 'allow' exception";
        throw new DeviceRuleError(
          `unable to ${what}: rule ${ruleString({ ...meta, access, allow })} is not supported by the devices cgroup (cannot punch a hole in the wildcard rule ${ruleString({ ...partial, access: p.access, allow: !allow })})`,
        );
      }
    }
    const k = key(meta);
    const left = difference(this.rules.get(k)?.access ?? '', access);
    if (left === '') this.rules.delete(k);
    else this.rules.set(k, { meta, access: left });
  }

  private ordered(): Array<{ meta: Meta; access: string }> {
    return sortEntries(this.rules);
  }

  /** The writes that take a cgroup in this state to `target` (runc's Transition). */
  transition(target: DeviceEmulator): DeviceRule[] {
    const out: DeviceRule[] = [];
    let old = this.rules;
    if (this.isBlacklist || this.defaultAllow !== target.defaultAllow) {
      out.push({ type: 'a', major: WILDCARD, minor: WILDCARD, access: 'rwm', allow: target.defaultAllow });
      old = new Map();
    }
    for (const { meta, access } of sortEntries(old)) {
      const dropped = difference(access, target.rules.get(key(meta))?.access ?? '');
      if (dropped !== '') out.push({ ...meta, access: dropped, allow: target.defaultAllow });
    }
    for (const { meta, access } of target.ordered()) {
      const gained = difference(access, old.get(key(meta))?.access ?? '');
      if (gained !== '') out.push({ ...meta, access: gained, allow: !target.defaultAllow });
    }
    return out;
  }

  /** The clean, minimal rule list (from a deny-all cgroup): what the BPF program encodes. */
  cleanRules(): DeviceRule[] {
    return new DeviceEmulator().transition(this);
  }

  equals(other: DeviceEmulator): boolean {
    if (this.defaultAllow !== other.defaultAllow || this.rules.size !== other.rules.size) return false;
    for (const [k, v] of this.rules) if (other.rules.get(k)?.access !== v.access) return false;
    return true;
  }
}
