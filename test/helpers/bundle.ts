// Test bundles: one busybox rootfs per test process (built offline from /bin/busybox), shared
// read-only by bundles whose config.json each test writes.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './tsrun';

let rootfs: string | undefined;
let workDir: string | undefined;

function work(): string {
  if (!workDir) {
    workDir = mkdtempSync(join(tmpdir(), `tsrun-test-${process.pid}-`));
    // Containers with a user namespace run as an unprivileged host uid that must reach the rootfs.
    chmodSync(workDir, 0o755);
    process.on('exit', () => rmSync(workDir as string, { recursive: true, force: true }));
  }
  return workDir;
}

/** The shared busybox root filesystem, built on first use. */
export function busyboxRootfs(): string {
  if (!rootfs) {
    rootfs = join(work(), 'rootfs');
    execFileSync(join(REPO, 'scripts', 'make-rootfs.sh'), [rootfs], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return rootfs;
}

/** A fresh state root for this test file. */
export function stateRoot(name: string): string {
  const dir = join(work(), `root-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The runc-style default container config, running `args`. */
export function baseConfig(args: string[]): Record<string, unknown> & { process: Record<string, unknown>; linux: Record<string, unknown> } {
  const config = JSON.parse(readFileSync(join(REPO, 'bundles', 'busybox', 'config.json'), 'utf8'));
  config.process.args = args;
  config.root = { path: busyboxRootfs(), readonly: true };
  return config;
}

let bundleCount = 0;
/** Writes config.json into a new bundle directory and returns the directory. */
export function makeBundle(config: object): string {
  const dir = join(work(), `bundle-${++bundleCount}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}

export function hostMountCount(): number {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
}

export { existsSync };
