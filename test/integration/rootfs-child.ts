// The child side of the rootfs integration tests. The test file re-runs itself (the bundled
// build/test/integration/rootfs-*.test.js) with TSRUN_ROOTFS_CHILD=<job file>; this process
// then unshares a mount, UTS and IPC namespace, runs prepareRootfs → enterRootfs →
// applySystemSettings → finishRootfs on the job's InitConfig, runs busybox commands inside
// the new root, and prints one "RESULT <json>" line. Everything it changes dies with it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { linux } from '../../src/linux/syscalls';
import { CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWUTS, MS_PRIVATE, MS_REC, MS_SHARED } from '../../src/linux/constants';
import type { InitConfig } from '../../src/runtime/protocol';
import { enterRootfs, finishRootfs, prepareRootfs } from '../../src/init/rootfs';
import { applySystemSettings } from '../../src/init/system';

export interface ChildJob {
  config: InitConfig;
  /** name → argv run (as /bin/busybox argv) inside the container after setup. */
  probes: Record<string, string[]>;
}

export interface ProbeResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ChildResult {
  /** Which step failed, and its message ('' when all went well). */
  failedStep: string;
  error: string;
  errorCode: string | null;
  probes: Record<string, ProbeResult>;
  /** /proc/self/mountinfo read by this (Node) process inside the container. */
  mountinfo: string;
}

export function runRootfsChild(jobFile: string): void {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as ChildJob;
  const out: ChildResult = { failedStep: '', error: '', errorCode: null, probes: {}, mountinfo: '' };
  const sys = linux();
  let step = 'unshare';
  try {
    sys.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC);
    step = 'prepareRootfs';
    prepareRootfs(sys, job.config);
    step = 'enterRootfs';
    enterRootfs(sys, job.config);
    step = 'applySystemSettings';
    applySystemSettings(sys, job.config.spec);
    step = 'finishRootfs';
    finishRootfs(sys, job.config);
    step = '';
    out.mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    for (const [name, argv] of Object.entries(job.probes)) {
      const r = spawnSync('/bin/busybox', argv, { encoding: 'utf8', timeout: 10000, env: { PATH: '/bin' } });
      out.probes[name] = { status: r.status, stdout: r.stdout ?? '', stderr: r.error ? String(r.error) : (r.stderr ?? '') };
    }
  } catch (err) {
    out.failedStep = step;
    out.error = (err as Error).message;
    const code = (err as { code?: unknown }).code;
    out.errorCode = typeof code === 'string' ? code : null;
  }
  writeSync(1, `RESULT ${JSON.stringify(out)}\n`);
}

export interface SharedHostJob {
  /** The bundle dir (host); a shared tmpfs is mounted on <dir>/shared, the rootfs made in it. */
  dir: string;
  /** The job for the inner child; its config.rootfs is set to <dir>/shared/rootfs here. */
  job: ChildJob;
  /** The test file to re-run for the inner child. */
  self: string;
}

export interface SharedHostResult {
  error: string;
  inner: ChildResult | null;
  innerStderr: string;
  /** Lines of this process's mountinfo that appeared or vanished while the inner child ran. */
  added: string[];
  removed: string[];
}

/**
 * A stand-in "host" whose mounts are shared, like a systemd host's (the real test machine has
 * only private mounts, so a propagation leak could not show there): this process unshares a
 * mount namespace (made private first, so nothing reaches the real host), mounts a tmpfs with
 * MS_SHARED, builds the rootfs on it, then runs the inner child (runRootfsChild) on that
 * rootfs. The inner child's mount namespace starts as a peer of ours: any mount it lets
 * propagate appears in our mount table.
 */
export function runSharedHost(jobFile: string): void {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as SharedHostJob;
  const out: SharedHostResult = { error: '', inner: null, innerStderr: '', added: [], removed: [] };
  const sys = linux();
  try {
    sys.unshare(CLONE_NEWNS);
    sys.mount(null, '/', null, MS_REC | MS_PRIVATE, null);
    const shared = `${job.dir}/shared`;
    mkdirSync(shared, { recursive: true });
    sys.mount('tmpfs', shared, 'tmpfs', 0, 'mode=755');
    sys.mount(null, shared, null, MS_SHARED, null);
    execFileSync('bash', ['scripts/make-rootfs.sh', `${shared}/rootfs`], { stdio: ['ignore', 'ignore', 'pipe'] });
    job.job.config.rootfs = `${shared}/rootfs`;
    const innerJob = `${shared}/inner-job.json`;
    writeFileSync(innerJob, JSON.stringify(job.job));
    const before = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    const env: NodeJS.ProcessEnv = { ...process.env, TSRUN_ROOTFS_CHILD: innerJob };
    delete env.TSRUN_ROOTFS_SHARED;
    const r = spawnSync(process.execPath, [job.self], { env, encoding: 'utf8', timeout: 60000, killSignal: 'SIGKILL' });
    const after = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    out.innerStderr = `status ${r.status} ${r.signal ?? ''} ${r.stderr ?? ''}`;
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
    out.inner = line ? (JSON.parse(line.slice('RESULT '.length)) as ChildResult) : null;
    out.added = after.filter((l) => !before.includes(l));
    out.removed = before.filter((l) => !after.includes(l));
  } catch (err) {
    out.error = (err as Error).message;
  }
  writeSync(1, `RESULT ${JSON.stringify(out)}\n`);
}
