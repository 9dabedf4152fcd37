// The D-Bus client against a real dbus-daemon (a private bus with its own configuration):
// authentication, Hello, calls to org.freedesktop.DBus, errors, a service of our own, signals.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DBusConnection, DBusConnectionError, DBusError, socketPathOf } from '../../src/dbus/connection';
import { Variant } from '../../src/dbus/marshal';
import type { DBusMessage } from '../../src/dbus/message';
import { startPrivateBus, type PrivateBus } from '../helpers/dbus-bus';
import { SystemdClient, SystemdUnreachableError } from '../../src/dbus/systemd';

let bus: PrivateBus;
const open: DBusConnection[] = [];
const connect = async () => {
  const c = await DBusConnection.connect(socketPathOf(bus.address), { bus: true, timeoutMs: 5_000 });
  open.push(c);
  return c;
};
const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };

before(async () => {
  bus = await startPrivateBus();
});
after(async () => {
  for (const c of open) c.close();
  await bus?.stop();
});

test('SASL EXTERNAL as our uid, Hello gives a unique name, org.freedesktop.DBus answers', async () => {
  assert.equal(socketPathOf(bus.address), bus.socket);
  const c = await connect();
  assert.match(c.uniqueName ?? '', /^:\d+\.\d+$/);
  const [id] = await c.call({ ...DBUS, member: 'GetId' });
  assert.match(id as string, /^[0-9a-f]{32}$/);
  const [names] = await c.call({ ...DBUS, member: 'ListNames' });
  assert.ok((names as string[]).includes('org.freedesktop.DBus'));
  assert.ok((names as string[]).includes(c.uniqueName!));
  const [uid] = await c.call({ ...DBUS, member: 'GetConnectionUnixUser', signature: 's', body: [c.uniqueName!] });
  assert.equal(uid, process.geteuid!(), 'the bus saw our uid');
  const [has] = await c.call({ ...DBUS, member: 'NameHasOwner', signature: 's', body: ['org.tsrun.Nobody'] });
  assert.equal(has, false);
});

test('error replies become DBusError with the error name; marshalling errors send nothing', async () => {
  const c = await connect();
  await assert.rejects(c.call({ destination: 'org.tsrun.Nobody', path: '/x', interface: 'org.tsrun.X', member: 'Y' }), (err: unknown) => {
    assert.ok(err instanceof DBusError);
    assert.equal(err.errorName, 'org.freedesktop.DBus.Error.ServiceUnknown');
    assert.match(err.message, /^org\.tsrun\.X\.Y on org\.tsrun\.Nobody: org\.freedesktop\.DBus\.Error\.ServiceUnknown: /);
    return true;
  });
  await assert.rejects(c.call({ ...DBUS, member: 'NameHasOwner', signature: 's', body: [5] }), /argument 0 \(s\): not a string/);
  // the connection is still usable afterwards
  const [has] = await c.call({ ...DBUS, member: 'NameHasOwner', signature: 's', body: ['org.freedesktop.DBus'] });
  assert.equal(has, true);
});

test('a service of our own: method calls with variants both ways, an error reply, a signal through AddMatch', async () => {
  const service = await connect();
  const client = await connect();
  const [owned] = await service.call({ ...DBUS, member: 'RequestName', signature: 'su', body: ['org.tsrun.Echo', 4] });
  assert.equal(owned, 1, 'primary owner');
  service.onMethodCall((m: DBusMessage) => {
    if (m.member === 'Echo') service.reply(m, 'a{sv}', [[['got', new Variant(m.signature ?? '', m.body![0]!)], ['from', new Variant('s', m.sender!)]]]);
    else service.replyError(m, 'org.tsrun.Error.Nope', `no ${m.member}`);
  });
  const [dict] = await client.call({ destination: 'org.tsrun.Echo', path: '/org/tsrun/Echo', interface: 'org.tsrun.Echo', member: 'Echo', signature: 'a(sv)', body: [[['PIDs', new Variant('au', [1, 2])]]] });
  assert.deepEqual(dict, [
    ['got', new Variant('a(sv)', [['PIDs', new Variant('au', [1, 2])]])],
    ['from', new Variant('s', client.uniqueName!)],
  ]);
  await assert.rejects(client.call({ destination: 'org.tsrun.Echo', path: '/org/tsrun/Echo', interface: 'org.tsrun.Echo', member: 'Other' }), (err: unknown) => err instanceof DBusError && err.errorName === 'org.tsrun.Error.Nope' && err.detail === 'no Other');

  // Signals reach a client only through a match rule.
  await client.addMatch("type='signal',sender='org.tsrun.Echo',interface='org.tsrun.Echo',member='JobRemoved'");
  const received = new Promise<DBusMessage>((resolve) => {
    const stop = client.onSignal((m) => {
      if (m.member === 'JobRemoved') {
        stop();
        resolve(m);
      }
    });
  });
  service.emitSignal('/org/tsrun/Echo', 'org.tsrun.Echo', 'JobRemoved', 'uoss', [7, '/org/tsrun/job/7', 'x.scope', 'done']);
  const sig = await received;
  assert.deepEqual(sig.body, [7, '/org/tsrun/job/7', 'x.scope', 'done']);
  assert.equal(sig.sender, service.uniqueName);
});

test('an unreachable socket is named in the error; a closed peer fails pending calls', async () => {
  await assert.rejects(DBusConnection.connect(join(bus.dir, 'no-such-socket'), { bus: true, timeoutMs: 2_000 }), (err: unknown) => {
    assert.ok(err instanceof DBusConnectionError);
    assert.match(err.message, /connect .*no-such-socket: ENOENT/);
    return true;
  });
  const service = await connect();
  const client = await connect();
  await service.call({ ...DBUS, member: 'RequestName', signature: 'su', body: ['org.tsrun.Silent', 4] });
  service.onMethodCall(() => undefined); // never answers
  await assert.rejects(client.call({ destination: 'org.tsrun.Silent', path: '/x', member: 'Wait', timeoutMs: 300 }), /no reply within 300 ms/);
  const pending = client.call({ destination: 'org.tsrun.Silent', path: '/x', member: 'Wait', timeoutMs: 5_000 });
  client.close();
  await assert.rejects(pending, /connection closed/);
});

test('the systemd client: JobRemoved before or after the reply, job results, no systemd on the bus', async () => {
  const target = { path: socketPathOf(bus.address), bus: true };
  // No org.freedesktop.systemd1 on this bus yet.
  await assert.rejects(SystemdClient.connect(target, 5_000), (err: unknown) => err instanceof SystemdUnreachableError && /no org\.freedesktop\.systemd1 on the bus/.test(err.message));

  const peer = await connect();
  await peer.call({ ...DBUS, member: 'RequestName', signature: 'su', body: ['org.freedesktop.systemd1', 4] });
  let job = 0;
  peer.onMethodCall((m) => {
    const path = `/org/freedesktop/systemd1/job/${++job}`;
    const removed = (result: string) => peer.emitSignal('/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'JobRemoved', 'uoss', [job, path, m.body![0] as string, result]);
    if (m.member === 'Subscribe') return peer.reply(m);
    if (m.member === 'StartTransientUnit') {
      // the signal overtakes the reply: the client must keep it until it knows the job's path
      removed('done');
      return peer.reply(m, 'o', [path]);
    }
    if (m.member === 'StopUnit') {
      peer.reply(m, 'o', [path]);
      setTimeout(() => removed('canceled'), 50);
      return;
    }
    return peer.replyError(m, 'org.freedesktop.systemd1.NoSuchUnit', 'nope');
  });
  const client = await SystemdClient.connect(target, 5_000);
  try {
    assert.equal(await client.startTransientUnit('x.scope', []), 'done');
    assert.equal(await client.stopUnit('x.scope'), 'canceled');
    await assert.rejects(client.resetFailedUnit('x.scope'), /ResetFailedUnit on org\.freedesktop\.systemd1: org\.freedesktop\.systemd1\.NoSuchUnit: nope/);
    assert.equal(await client.systemdVersion(), -1, 'no Version property: unknown');
  } finally {
    client.close();
  }
});
