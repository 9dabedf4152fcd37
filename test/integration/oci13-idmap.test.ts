// Idmapped bind mounts (mount uidMappings/gidMappings, the idmap and ridmap options): file
// ownership seen through the mount from inside real containers.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsrun, tempDir, uniqueId, type Result } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';

const root = stateRoot('oci13-idmap');
const rt = (args: string[]): Result => tsrun(['--root', root, ...args]);
const tmp = tempDir('idmap');
const data = join(tmp.path, 'data');

before(() => {
  chmodSync(tmp.path, 0o755); // the user namespace's root (host 100000) must reach it
  mkdirSync(data, { mode: 0o755 });
  for (const [name, id] of [['f0', 0], ['f1000', 1000], ['f1001', 1001]] as const) {
    writeFileSync(join(data, name), name);
    chownSync(join(data, name), id, id);
  }
});

after(() => {
  for (const id of readdirSync(root)) rt(['delete', '--force', id]);
  assert.deepEqual(readdirSync(root), [], 'state directories left behind');
  // Only this test's mounts are checked: other users of this machine may mount things meanwhile.
  const leaked = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(tmp.path));
  assert.deepEqual(leaked, [], 'an idmapped mount reached the host');
  tmp.cleanup();
});

const STAT = 'for f in f0 f1000 f1001; do stat -c "%n %u:%g" /data/$f; done';

function run(mutate: (c: ReturnType<typeof baseConfig>) => void, script = STAT): Result {
  const config = baseConfig(['sh', '-c', script]);
  mutate(config);
  return rt(['run', '--bundle', makeBundle(config), uniqueId('idmap')]);
}

const mounts = (c: ReturnType<typeof baseConfig>) => c.mounts as Array<Record<string, unknown>>;

test('idmap: explicit mappings shift ownership through the mount (no user namespace)', () => {
  const r = run((c) => {
    mounts(c).push({
      destination: '/data', source: data, type: 'bind', options: ['bind'],
      uidMappings: [{ containerID: 1000, hostID: 0, size: 2 }],
      gidMappings: [{ containerID: 1000, hostID: 50, size: 2 }],
    });
  });
  assert.equal(r.code, 0, r.stderr);
  // On disk 1000 → 0 (root), 1001 → 1; gid 1000 → 50, 1001 → 51; 0 is not mapped (overflow id).
  assert.deepEqual(r.stdout.trim().split('\n'), ['/data/f0 65534:65534', '/data/f1000 0:50', '/data/f1001 1:51']);
});

test('idmap: the option alone uses the container\'s user namespace mappings', () => {
  const userns = (c: ReturnType<typeof baseConfig>) => {
    (c.linux.namespaces as Array<{ type: string }>).push({ type: 'user' });
    c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  };
  const plain = run((c) => {
    userns(c);
    mounts(c).push({ destination: '/data', source: data, type: 'bind', options: ['bind'] });
  });
  assert.equal(plain.code, 0, plain.stderr);
  assert.deepEqual(plain.stdout.trim().split('\n'), ['/data/f0 65534:65534', '/data/f1000 65534:65534', '/data/f1001 65534:65534'], 'without idmap the host ids are unmapped');
  for (const option of ['idmap', 'ridmap']) {
    const r = run((c) => {
      userns(c);
      mounts(c).push({ destination: '/data', source: data, type: 'bind', options: ['rbind', option] });
    }, `${STAT}; touch /data/new-${option} && stat -c "%u:%g" /data/new-${option}`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['/data/f0 0:0', '/data/f1000 1000:1000', '/data/f1001 1001:1001', '0:0'], option);
    // written by the container's root (host 100000) through the mount: owned by 0 on disk
    const st = statSync(join(data, `new-${option}`));
    assert.deepEqual([st.uid, st.gid], [0, 0]);
  }
});

test('idmap: clear errors for what cannot be done', () => {
  const noUserns = run((c) => mounts(c).push({ destination: '/data', source: data, type: 'bind', options: ['bind', 'idmap'] }), 'true');
  assert.notEqual(noUserns.code, 0);
  assert.match(noUserns.stderr, /mounts\[\d+\] \(\/data\): the idmap option without uidMappings\/gidMappings needs the container's user namespace mappings/);
  const notBind = run((c) => mounts(c).push({ destination: '/data', source: 'tmpfs', type: 'tmpfs', options: ['idmap'], uidMappings: [{ containerID: 0, hostID: 0, size: 1 }], gidMappings: [{ containerID: 0, hostID: 0, size: 1 }] }), 'true');
  assert.notEqual(notBind.code, 0);
  assert.match(notBind.stderr, /idmapped mounts are supported for bind mounts only/);
  const half = run((c) => mounts(c).push({ destination: '/data', source: data, type: 'bind', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 0, size: 1 }] }), 'true');
  assert.match(half.stderr, /must have property gidMappings when property uidMappings is present/);
});

test('idmap: features reports idmapped mounts', () => {
  const f = JSON.parse(tsrun(['features']).stdout);
  assert.deepEqual(f.linux.mountExtensions, { idmap: { enabled: true } });
  assert.ok(f.mountOptions.includes('idmap') && f.mountOptions.includes('ridmap'));
});
