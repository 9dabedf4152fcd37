// The few calls of systemd's manager (org.freedesktop.systemd1.Manager) the cgroup driver
// needs, with the wait for a job's JobRemoved signal. Where systemd is reached, as go-systemd
// does it for runc: $DBUS_SYSTEM_BUS_ADDRESS when set, else systemd's private socket
// /run/systemd/private for root (no bus daemon needed), else the system bus socket.
import { DBusConnection, DBusConnectionError, DBusError, socketPathOf } from './connection';
import { Variant, type DBusValue } from './marshal';
import type { DBusMessage } from './message';

export const SYSTEMD_PRIVATE_SOCKET = '/run/systemd/private';
export const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';

const DEST = 'org.freedesktop.systemd1';
const PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

/** A unit property as StartTransientUnit and SetUnitProperties take it: (sv). */
export type UnitProperty = [string, Variant];

export function prop(name: string, signature: string, value: DBusValue): UnitProperty {
  return [name, new Variant(signature, value)];
}

/** systemd could not be reached at all (no socket, connection refused...). */
export class SystemdUnreachableError extends Error {}

export interface SystemdTarget {
  /** The unix socket path. */
  path: string;
  /** A message bus (Hello, AddMatch) rather than systemd's own private socket. */
  bus: boolean;
}

export function systemdTarget(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): SystemdTarget {
  const address = env.DBUS_SYSTEM_BUS_ADDRESS;
  if (address !== undefined && address !== '') {
    try {
      return { path: socketPathOf(address), bus: true };
    } catch (err) {
      throw new SystemdUnreachableError(`DBUS_SYSTEM_BUS_ADDRESS: ${(err as Error).message}`);
    }
  }
  if (euid === 0) return { path: SYSTEMD_PRIVATE_SOCKET, bus: false };
  return { path: SYSTEM_BUS_SOCKET, bus: true };
}

export class SystemdClient {
  /** JobRemoved results not yet waited for, by job object path. */
  private readonly removed = new Map<string, string>();
  private readonly waiters = new Map<string, (result: string) => void>();
  private version: number | undefined;

  private constructor(readonly conn: DBusConnection) {
    conn.onSignal((m: DBusMessage) => {
      if (m.interface !== MANAGER || m.member !== 'JobRemoved') return;
      const [, job, , result] = m.body as [number, string, string, string];
      const w = this.waiters.get(job);
      if (w) {
        this.waiters.delete(job);
        w(result);
      } else this.removed.set(job, result);
    });
  }

  static async connect(target: SystemdTarget = systemdTarget(), timeoutMs = 30_000): Promise<SystemdClient> {
    const shown = target.path.startsWith('\0') ? '@' + target.path.slice(1) : target.path;
    let conn: DBusConnection;
    try {
      conn = await DBusConnection.connect(target.path, { bus: target.bus, timeoutMs });
    } catch (err) {
      throw new SystemdUnreachableError(
        `--systemd-cgroup: systemd is not reachable at ${shown} (${(err as Error).message}); the systemd cgroup driver needs a running systemd (or DBUS_SYSTEM_BUS_ADDRESS naming a bus where org.freedesktop.systemd1 answers)`,
      );
    }
    const client = new SystemdClient(conn);
    try {
      // JobRemoved is only sent to subscribed clients; on a bus it must also be routed to us.
      if (target.bus) await conn.addMatch(`type='signal',sender='${DEST}',interface='${MANAGER}',member='JobRemoved'`);
      await client.manager('Subscribe');
    } catch (err) {
      conn.close();
      if (err instanceof DBusError && /ServiceUnknown|NameHasNoOwner/.test(err.errorName)) {
        throw new SystemdUnreachableError(`--systemd-cgroup: systemd is not reachable: no ${DEST} on the bus at ${shown} (${err.message})`);
      }
      throw err;
    }
    return client;
  }

  private manager(member: string, signature = '', body: DBusValue[] = []): Promise<DBusValue[]> {
    return this.conn.call({ destination: DEST, path: PATH, interface: MANAGER, member, signature, body });
  }

  /** Waits for the JobRemoved of `job`; resolves with its result ("done", "failed", "canceled"...). */
  private waitJob(job: string, unit: string, timeoutMs: number): Promise<string> {
    const early = this.removed.get(job);
    if (early !== undefined) {
      this.removed.delete(job);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(job);
        reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for systemd's job ${job} on ${unit}`));
      }, timeoutMs);
      this.waiters.set(job, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** StartTransientUnit, then its job's result. */
  async startTransientUnit(unit: string, properties: UnitProperty[], timeoutMs = 30_000): Promise<string> {
    const [job] = await this.manager('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', properties, []]);
    return this.waitJob(job as string, unit, timeoutMs);
  }

  /** StopUnit, then its job's result. */
  async stopUnit(unit: string, timeoutMs = 30_000): Promise<string> {
    const [job] = await this.manager('StopUnit', 'ss', [unit, 'replace']);
    return this.waitJob(job as string, unit, timeoutMs);
  }

  async resetFailedUnit(unit: string): Promise<void> {
    await this.manager('ResetFailedUnit', 's', [unit]);
  }

  async setUnitProperties(unit: string, properties: UnitProperty[]): Promise<void> {
    await this.manager('SetUnitProperties', 'sba(sv)', [unit, true, properties]);
  }

  /** A property of a unit's type interface ("Scope", "Slice"): e.g. ControlGroup. */
  async unitProperty(unit: string, unitType: string, name: string): Promise<DBusValue> {
    const [path] = await this.manager('GetUnit', 's', [unit]);
    const [v] = await this.conn.call({ destination: DEST, path: path as string, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [`org.freedesktop.systemd1.${unitType}`, name] });
    return (v as Variant).value;
  }

  /** systemd's version number (252 from "252.19-1~deb12u1"); -1 if unknown. */
  async systemdVersion(): Promise<number> {
    if (this.version !== undefined) return this.version;
    try {
      const [v] = await this.conn.call({ destination: DEST, path: PATH, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [MANAGER, 'Version'] });
      const m = /^"?v?(\d+)/.exec(String((v as Variant).value));
      this.version = m ? Number(m[1]) : -1;
    } catch {
      this.version = -1;
    }
    return this.version;
  }

  close(): void {
    this.conn.close();
  }
}

export function isDBusError(err: unknown, name: string): boolean {
  return err instanceof DBusError && err.errorName === name;
}

export { DBusConnectionError, DBusError };
