// AppArmor and SELinux settings: on a host without the LSM (like this one) create fails with a
// clear error and leaves nothing; with the LSM enabled tsrun still refuses (labels are not
// applied yet), so a profile is never silently ignored.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tsrun, uniqueId } from '../helpers/tsrun';
import { baseConfig, makeBundle, stateRoot } from '../helpers/bundle';

const root = stateRoot('lsm');
after(() => assert.deepEqual(readdirSync(root), [], 'state directories left behind'));

function apparmorEnabled(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}
const selinuxEnabled = existsSync('/sys/fs/selinux/enforce');

test('process.apparmorProfile is refused with the reason', () => {
  const config = baseConfig(['true']);
  config.process.apparmorProfile = 'docker-default';
  const r = tsrun(['--root', root, 'run', '--bundle', makeBundle(config), uniqueId('apparmor')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, apparmorEnabled() ? /AppArmor profiles are not supported yet/ : /process\.apparmorProfile: AppArmor is not enabled on this host/);
});

test('process.selinuxLabel and linux.mountLabel are refused with the reason', () => {
  for (const [where, set] of [
    ['process.selinuxLabel', (c: ReturnType<typeof baseConfig>) => { c.process.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2'; }],
    ['linux.mountLabel', (c: ReturnType<typeof baseConfig>) => { c.linux.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2'; }],
  ] as const) {
    const config = baseConfig(['true']);
    set(config);
    const r = tsrun(['--root', root, 'run', '--bundle', makeBundle(config), uniqueId('selinux')]);
    assert.equal(r.code, 1, where);
    assert.match(r.stderr, selinuxEnabled ? /SELinux labels are not supported yet/ : new RegExp(`${where.replace('.', '\\.')}: SELinux is not enabled on this host`), where);
  }
});
