// The migration warm-up of create: which cgroup.procs it writes, and that each tick writes the
// runtime's own pid there until stopped (the kernel-side effect is measured by `make bench`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectLayout } from '../../src/cgroups/layout';
import { MigrationWarmup, ownProcsFile } from '../../src/cgroups/migration-warmup';

const HYBRID = detectLayout([
  '32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
  '35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
].join('\n'));

test('ownProcsFile: the first hierarchy of /proc/self/cgroup that is mounted, at our own cgroup', () => {
  assert.equal(ownProcsFile(HYBRID, '9:name=systemd:/user.slice/x\n4:memory:/m\n0::/\n'), '/sys/fs/cgroup/systemd/user.slice/x/cgroup.procs');
  // blkio is not mounted: skipped
  assert.equal(ownProcsFile(HYBRID, '7:blkio:/b\n1:cpu:/shim/c1\n'), '/sys/fs/cgroup/cpu/shim/c1/cgroup.procs');
  assert.equal(ownProcsFile(HYBRID, '0::/\n'), '/sys/fs/cgroup/unified/cgroup.procs');
});

test('ownProcsFile: a v2 host, a namespaced mount root, and nothing usable', () => {
  const v2 = detectLayout('30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw');
  assert.equal(ownProcsFile(v2, '0::/system.slice/containerd.service\n'), '/sys/fs/cgroup/system.slice/containerd.service/cgroup.procs');
  const nested = detectLayout('35 31 0:32 /docker/c1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory');
  assert.equal(ownProcsFile(nested, '4:memory:/docker/c1/app\n'), '/sys/fs/cgroup/memory/app/cgroup.procs');
  // our cgroup is outside the mounted subtree: unusable
  assert.equal(ownProcsFile(nested, '4:memory:/elsewhere\n'), undefined);
  assert.equal(ownProcsFile(v2, ''), undefined);
});

test('MigrationWarmup: each tick writes our pid; begin() writes on a worker thread; after stop() nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-warmup-'));
  try {
    writeFileSync(join(dir, 'cgroup.procs'), '');
    const layout = detectLayout(`41 31 0:38 / ${dir} rw - cgroup2 cgroup2 rw`);
    const warmup = MigrationWarmup.open(layout, '0::/\n');
    assert.ok(warmup);
    assert.ok(warmup.everyMs > 0 && warmup.everyMs < 8, 'ticks must come well within a grace period');
    const pid = String(process.pid);
    warmup.tick();
    warmup.tick();
    assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), pid + pid);
    warmup.stop();
    warmup.tick();
    assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), pid + pid, 'no write after stop()');
    assert.equal(MigrationWarmup.open(detectLayout(`41 31 0:38 / ${dir}/missing rw - cgroup2 cgroup2 rw`), '0::/\n'), undefined);
    // begin(): written on a worker thread; stop() meanwhile keeps the fd until the write is done
    writeFileSync(join(dir, 'cgroup.procs'), '');
    const second = MigrationWarmup.open(layout, '0::/\n');
    assert.ok(second);
    second.begin();
    second.stop();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), pid);
    second.tick();
    assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), pid, 'no tick after stop()');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
