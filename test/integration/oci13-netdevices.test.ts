// linux.netDevices: a veth end moved into the container (renamed, addresses kept, up), traffic
// across it to a bridge, and the kernel cleaning up when the container's namespace dies. All of
// it inside a network namespace this test creates (iproute2 sets up the fixture only: tsrun
// itself uses rtnetlink) and tsrun runs in it, so the host's interfaces are never touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tsrun, uniqueId, TSRUN, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';

const root = stateRoot('oci13-netdevices');
const ns = `tsrun-nd-${process.pid}`;

function ip(...args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

/** tsrun in the test's network namespace (nsenter: `ip netns exec` would remount /sys, hiding the cgroups). */
function rtIn(args: string[]): Result {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, TSRUN, '--root', root, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

before(() => {
  execFileSync('ip', ['netns', 'add', ns]);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'br-t', 'type', 'bridge');
  ip('addr', 'add', '10.199.0.1/24', 'dev', 'br-t');
  ip('link', 'set', 'br-t', 'up');
  ip('link', 'add', 'veth-h', 'type', 'veth', 'peer', 'name', 'veth-c');
  ip('link', 'set', 'veth-h', 'master', 'br-t');
  ip('link', 'set', 'veth-h', 'up');
  ip('addr', 'add', '10.199.0.2/24', 'dev', 'veth-c');
  ip('addr', 'add', 'fd99::2/64', 'dev', 'veth-c', 'nodad');
  ip('addr', 'add', '127.0.0.33/8', 'dev', 'veth-c', 'scope', 'host');
  ip('link', 'set', 'veth-c', 'up');
});

after(() => {
  for (const id of readdirSync(root)) rtIn(['delete', '--force', id]);
  execFileSync('ip', ['netns', 'del', ns]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
});

test('netDevices: the veth end is in the container, renamed, with its addresses, and reaches the bridge', () => {
  const config = baseConfig(['sh', '-c', [
    'echo "net=$(ls /sys/class/net | tr "\\n" " ")"',
    'ip -o addr show dev ctr0 | sed -n "s/.* \\(inet6\\{0,1\\}\\) \\([^ ]*\\).*/\\1 \\2/p" | grep -v fe80',
    'cat /sys/class/net/ctr0/operstate',
    'ping -c 1 -W 3 10.199.0.1 >/dev/null && echo ping-ok',
  ].join('; ')]);
  config.linux.netDevices = { 'veth-c': { name: 'ctr0' } };
  const caps = config.process.capabilities as Record<string, string[]>;
  for (const set of ['bounding', 'effective', 'permitted']) caps[set] = [...(caps[set] ?? []), 'CAP_NET_RAW'];
  const r = rtIn(['run', '--bundle', makeBundle(config), uniqueId('nd')]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines[0]?.split('=')[1]?.trim().split(' ').sort(), ['ctr0', 'lo']);
  assert.ok(lines.includes('inet 10.199.0.2/24'), r.stdout);
  assert.ok(lines.includes('inet6 fd99::2/64'), r.stdout);
  assert.ok(!r.stdout.includes('127.0.0.33'), 'an address without global scope is not carried over (as runc)');
  assert.ok(lines.includes('up'), r.stdout);
  assert.ok(lines.includes('ping-ok'), r.stdout);
  // The container's namespace is gone: the kernel destroys the veth (and its peer with it), from
  // its own work queue, so a little after the container's end.
  let links = ip('-o', 'link');
  for (let i = 0; i < 100 && /veth-h/.test(links); i++) {
    execFileSync('sleep', ['0.1']);
    links = ip('-o', 'link');
  }
  assert.doesNotMatch(links, /veth-c|ctr0|veth-h/);
});

test('netDevices: into a network namespace joined by path, renamed; it stays there after the container', () => {
  const ns2 = `${ns}-b`;
  execFileSync('ip', ['netns', 'add', ns2]);
  try {
    ip('link', 'add', 'dummy-t', 'type', 'veth', 'peer', 'name', 'dummy-p'); // no dummy driver on this kernel
    ip('link', 'set', 'dummy-t', 'mtu', '1789');
    ip('addr', 'add', '169.254.169.77/32', 'dev', 'dummy-t');
    const config = baseConfig(['sh', '-c', 'ip -o link show ctr_dummy0 | grep -o "mtu [0-9]*"; ip -o addr show ctr_dummy0 | grep -o "inet [^ ]*"']);
    config.linux.namespaces = (config.linux.namespaces as Array<{ type: string }>).map((n) => (n.type === 'network' ? { type: 'network', path: `/run/netns/${ns2}` } : n));
    config.linux.netDevices = { 'dummy-t': { name: 'ctr_dummy0' } };
    const r = rtIn(['run', '--bundle', makeBundle(config), uniqueId('nd-path')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['mtu 1789', 'inet 169.254.169.77/32']);
    const there = execFileSync('ip', ['-n', ns2, '-o', 'addr', 'show', 'dev', 'ctr_dummy0'], { encoding: 'utf8' });
    assert.match(there, /169\.254\.169\.77\/32/);
    assert.doesNotMatch(ip('-o', 'link'), /dummy-t/);
  } finally {
    execFileSync('ip', ['netns', 'del', ns2]);
  }
});

test('netDevices: a missing interface fails create, naming it, and moves nothing', () => {
  ip('link', 'add', 'keep-a', 'type', 'veth', 'peer', 'name', 'keep-b');
  try {
    const config = baseConfig(['true']);
    config.linux.netDevices = { 'keep-a': {}, 'no-such0': { name: 'eth9' } };
    const r = rtIn(['run', '--bundle', makeBundle(config), uniqueId('nd-missing')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /linux\.netDevices: no-such0: no such network interface/);
    assert.match(ip('-o', 'link'), /keep-a/);
    const noNs = baseConfig(['true']);
    noNs.linux.namespaces = (noNs.linux.namespaces as Array<{ type: string }>).filter((n) => n.type !== 'network');
    noNs.linux.netDevices = { 'keep-a': {} };
    const h = rtIn(['run', '--bundle', makeBundle(noNs), uniqueId('nd-nons')]);
    assert.notEqual(h.code, 0);
    assert.match(h.stderr, /linux\.netDevices: the container has no network namespace of its own/);
    assert.match(ip('-o', 'link'), /keep-a/);
  } finally {
    ip('link', 'del', 'keep-a');
  }
});

test('netDevices: features reports it', () => {
  const f = JSON.parse(tsrun(['features']).stdout);
  assert.deepEqual(f.linux.netDevices, { enabled: true });
});
