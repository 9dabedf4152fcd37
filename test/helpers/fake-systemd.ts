// A FAKE systemd for tests: a peer on a private dbus-daemon that owns org.freedesktop.systemd1
// and implements the manager calls the cgroup driver makes (Subscribe, StartTransientUnit,
// StopUnit, ResetFailedUnit, SetUnitProperties, GetUnit, the Version and ControlGroup
// properties), answering jobs with JobRemoved as systemd does. Like systemd it makes the unit's
// cgroup for real, but only in some hierarchies (name=systemd, memory, pids and cgroup2: what
// systemd realizes with accounting on), moves PIDs= into it, and removes it at StopUnit; the
// other hierarchies are left to tsrun's file driver. It is NOT systemd: the unit properties are
// only recorded for the test to check, never applied.
import { mkdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DBusConnection, socketPathOf } from '../../src/dbus/connection';
import { Variant, type DBusValue } from '../../src/dbus/marshal';
import type { DBusMessage } from '../../src/dbus/message';
import { detectLayout } from '../../src/cgroups/layout';
import { expandSlice } from '../../src/cgroups/systemd';

const PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

export interface FakeCall {
  member: string;
  body: DBusValue[];
}

export interface FakeUnit {
  name: string;
  controlGroup: string;
  dirs: string[];
  properties: Map<string, Variant>;
}

export interface FakeSystemd {
  calls: FakeCall[];
  units: Map<string, FakeUnit>;
  /** The next StartTransientUnit job ends with this result (then back to "done"). */
  failNextStart(result: string): void;
  stop(): void;
}

/** The hierarchies the fake realizes a unit in: mount points. */
function realizedMounts(): string[] {
  const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const out: string[] = [];
  for (const h of layout.v1) if (h.controllers.some((c) => c === 'name=systemd' || c === 'memory' || c === 'pids')) out.push(h.mountPoint);
  if (layout.unified) out.push(layout.unified.mountPoint);
  return out;
}

export async function startFakeSystemd(address: string): Promise<FakeSystemd> {
  const conn = await DBusConnection.connect(socketPathOf(address), { bus: true, timeoutMs: 5_000 });
  const [owned] = await conn.call({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'RequestName', signature: 'su', body: ['org.freedesktop.systemd1', 4] });
  if (owned !== 1) throw new Error(`fake systemd: could not own org.freedesktop.systemd1 (${owned})`);
  const calls: FakeCall[] = [];
  const units = new Map<string, FakeUnit>();
  let jobs = 0;
  let nextStartResult = 'done';
  const unitPath = (name: string) => `${PATH}/unit/${name.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`;
  const job = (m: DBusMessage, unit: string, result: string) => {
    const id = ++jobs;
    const path = `${PATH}/job/${id}`;
    conn.reply(m, 'o', [path]);
    // as systemd: the signal follows the reply (a client must be ready for either order)
    setImmediate(() => conn.emitSignal(PATH, MANAGER, 'JobRemoved', 'uoss', [id, path, unit, result]));
  };
  const noUnit = (m: DBusMessage, name: string) => conn.replyError(m, 'org.freedesktop.systemd1.NoSuchUnit', `Unit ${name} not loaded.`);

  conn.onMethodCall((m) => {
    calls.push({ member: m.member ?? '', body: m.body ?? [] });
    try {
      if (m.interface === 'org.freedesktop.DBus.Properties' && m.member === 'Get') {
        const [iface, name] = m.body as [string, string];
        if (m.path === PATH && iface === MANAGER && name === 'Version') return conn.reply(m, 'v', [new Variant('s', '252.19-1~deb12u1')]);
        const unit = [...units.values()].find((u) => unitPath(u.name) === m.path);
        if (unit && name === 'ControlGroup') return conn.reply(m, 'v', [new Variant('s', unit.controlGroup)]);
        return conn.replyError(m, 'org.freedesktop.DBus.Error.UnknownProperty', `${iface}.${name}`);
      }
      if (m.path !== PATH || m.interface !== MANAGER) return conn.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `${m.interface}.${m.member}`);
      switch (m.member) {
        case 'Subscribe':
          return conn.reply(m);
        case 'StartTransientUnit': {
          const [name, , props] = m.body as [string, string, Array<[string, Variant]>];
          if (units.has(name)) return conn.replyError(m, 'org.freedesktop.systemd1.UnitExists', `Unit ${name} was already loaded or has a fragment file.`);
          const properties = new Map(props);
          const result = nextStartResult;
          nextStartResult = 'done';
          if (result !== 'done') return job(m, name, result);
          const slice = name.endsWith('.slice') ? undefined : ((properties.get('Slice')?.value as string | undefined) ?? 'system.slice');
          const controlGroup = slice === undefined ? expandSlice(name) : `${expandSlice(slice)}/${name}`.replace(/^\/\//, '/');
          const dirs: string[] = [];
          for (const mount of realizedMounts()) {
            let d = mount;
            for (const part of controlGroup.split('/').filter((p) => p !== '')) {
              d = join(d, part);
              if (!existsSync(d)) {
                mkdirSync(d);
                dirs.push(d);
              }
            }
            for (const pid of (properties.get('PIDs')?.value as number[] | undefined) ?? []) writeFileSync(join(d, 'cgroup.procs'), String(pid));
          }
          units.set(name, { name, controlGroup, dirs, properties });
          return job(m, name, 'done');
        }
        case 'StopUnit': {
          const [name] = m.body as [string];
          const unit = units.get(name);
          if (!unit) return noUnit(m, name);
          units.delete(name);
          for (const d of [...unit.dirs].reverse()) {
            try {
              rmdirSync(d);
            } catch {
              // tsrun removed it first, or (a slice) it still has other children
            }
          }
          return job(m, name, 'done');
        }
        case 'ResetFailedUnit':
          return conn.reply(m);
        case 'SetUnitProperties': {
          const [name, , props] = m.body as [string, boolean, Array<[string, Variant]>];
          const unit = units.get(name);
          if (!unit) return noUnit(m, name);
          for (const [k, v] of props) unit.properties.set(k, v);
          return conn.reply(m);
        }
        case 'GetUnit': {
          const [name] = m.body as [string];
          if (!units.has(name)) return noUnit(m, name);
          return conn.reply(m, 'o', [unitPath(name)]);
        }
        default:
          return conn.replyError(m, 'org.freedesktop.DBus.Error.UnknownMethod', `${m.member}`);
      }
    } catch (err) {
      conn.replyError(m, 'org.freedesktop.DBus.Error.Failed', (err as Error).message);
    }
  });
  return {
    calls,
    units,
    failNextStart: (r) => {
      nextStartResult = r;
    },
    stop: () => conn.close(),
  };
}
