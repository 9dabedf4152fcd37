// A private containerd for tests, with its CRI plugin and a runtime handler "tsrun": its own
// config, root, state, socket and runtime root under one temp dir, so it never meets the host's
// containerd. teardown() removes everything it may have left (shims, container processes,
// mounts, the cgroup parent, the temp dir) and is safe to call more than once, after a failure
// at any point.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectLayout } from '../../src/cgroups/layout';
import { CriClient, RuntimeService } from './cri';

export interface CriSetup {
  /** Absolute path of the runtime binary the handler runs (BinaryName). */
  runtimeBinary: string;
  /** Image containerd runs as every pod's sandbox container (sandbox_image). */
  sandboxImage: string;
}

/**
 * The config.toml of the private containerd: CRI enabled (it is not in disabled_plugins), the
 * default handler runc and a handler "tsrun" that runs the runtimeBinary through the runc v2
 * shim with a runtime root of its own (the shim passes --root ROOT/k8s.io).
 */
export function criConfig(work: string, setup: CriSetup, tsrunRoot: string): string {
  return `version = 2
root = "${work}/root"
state = "${work}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${work}/containerd.sock"
[ttrpc]
  address = "${work}/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${work}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${setup.sandboxImage}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Caps the pods' oom_score_adj at containerd's own: a host (or a CI container) without
  # CAP_SYS_RESOURCE cannot lower it to the -998 containerd gives sandboxes.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${work}/cni/bin"
    conf_dir = "${work}/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tsrun]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.tsrun.options]
      BinaryName = "${setup.runtimeBinary}"
      Root = "${tsrunRoot}"
`;
}

/** Every cgroup hierarchy's mount point (v1 controllers and cgroup2), once each. */
export function cgroupMounts(): string[] {
  const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const mounts = layout.v1.map((h) => h.mountPoint);
  if (layout.unified) mounts.push(layout.unified.mountPoint);
  return [...new Set(mounts)];
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined && (mp === dir || mp.startsWith(`${dir}/`)))
    .map((mp) => mp.replace(/\\040/g, ' '))
    .sort()
    .reverse();
}

/** Pids of the processes whose command line mentions `text`. */
export function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function cgroupDirsDeepestFirst(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const child = join(dir, name);
    if (statSync(child).isDirectory()) out.push(...cgroupDirsDeepestFirst(child));
  }
  out.push(dir);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PrivateContainerd {
  readonly work = mkdtempSync(join(tmpdir(), 'tsrun-test-cri-'));
  readonly socket = join(this.work, 'containerd.sock');
  readonly tsrunRoot = join(this.work, 'tsrun-root');
  readonly logFile = join(this.work, 'containerd.log');
  /** The pods' cgroup parent (cgroupfs driver): containers go to PARENT/<container id>. */
  readonly cgroupParent = `/tsrun-test-cri-${process.pid}`;
  private daemon: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private client: CriClient | undefined;
  private tornDown = false;

  constructor(readonly setup: CriSetup) {}

  /** Starts containerd and returns a CRI client once the CRI plugin answers Version. */
  async start(timeoutMs = 30_000): Promise<CriClient> {
    mkdirSync(this.tsrunRoot);
    const configPath = join(this.work, 'config.toml');
    writeFileSync(configPath, criConfig(this.work, this.setup, this.tsrunRoot));
    const log = openSync(this.logFile, 'w');
    try {
      this.daemon = spawn('containerd', ['--config', configPath], { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const daemon = this.daemon;
    this.exited = new Promise((resolve) => daemon.once('exit', () => resolve()));
    daemon.once('error', () => undefined); // a spawn failure shows as the exit below
    const deadline = Date.now() + timeoutMs;
    let last = 'containerd did not create its socket';
    while (Date.now() < deadline) {
      if (daemon.exitCode !== null || daemon.signalCode !== null) throw new Error(`containerd exited during start-up\n${this.logTail()}`);
      if (existsSync(this.socket)) {
        try {
          this.client ??= await CriClient.connect(this.socket);
          await this.client.call(RuntimeService.Version, { version: 'v1' }, 5_000);
          return this.client;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(100);
    }
    throw new Error(`CRI runtime.v1 did not answer within ${timeoutMs} ms (last: ${last})\n${this.logTail()}`);
  }

  /** The end of containerd's log, for failure messages. */
  logTail(lines = 30): string {
    try {
      const text = readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => !l.includes('loading plugin'));
      return `--- ${this.logFile} (last ${lines} lines) ---\n${text.slice(-lines).join('\n')}`;
    } catch {
      return `(no ${this.logFile})`;
    }
  }

  /** Runs ctr against this containerd in the CRI namespace k8s.io. */
  ctr(args: string[]): string {
    const r = spawnSync('ctr', ['--address', this.socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw new Error(`ctr ${args.join(' ')}: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`ctr ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** The runtime state directory tsrun keeps for a container of this containerd. */
  runtimeStateDir(id: string): string {
    return join(this.tsrunRoot, 'k8s.io', id);
  }

  /**
   * Stops and removes everything: the client, containerd (SIGTERM, then SIGKILL), processes left
   * in our cgroup tree, shims still alive (any process whose command line names our temp dir:
   * they outlive containerd by design), their sockets, mounts under the temp dir, the cgroup
   * parent, the temp dir. Best effort at each step; what is left is what the caller checks.
   */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    this.client?.close();
    const tasks = join(this.work, 'state', 'io.containerd.runtime.v2.task', 'k8s.io');
    const shimSockets: string[] = [];
    for (const id of existsSync(tasks) ? readdirSync(tasks) : []) {
      try {
        shimSockets.push(readFileSync(join(tasks, id, 'address'), 'utf8').trim().replace(/^unix:\/\//, ''));
      } catch {
        // no address file: no shim was started for it
      }
    }
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 15_000)))]);
      clearTimeout(timer);
      if (!stopped) {
        daemon.kill('SIGKILL');
        await this.exited;
      }
    }
    const kill = (pid: number) => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    };
    for (const mount of cgroupMounts()) {
      for (const dir of cgroupDirsDeepestFirst(join(mount, this.cgroupParent))) {
        try {
          readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).forEach(kill);
        } catch {
          // no cgroup.procs
        }
      }
    }
    processesMentioning(this.work).forEach(kill);
    for (const socket of shimSockets) rmSync(socket, { force: true });
    await sleep(200);
    for (const mp of mountsUnder(this.work)) spawnSync('umount', ['-l', mp]);
    for (const mount of cgroupMounts()) {
      for (const dir of cgroupDirsDeepestFirst(join(mount, this.cgroupParent))) {
        try {
          rmdirSync(dir);
        } catch {
          // still busy: reported by the caller's check
        }
      }
    }
    rmSync(this.work, { recursive: true, force: true });
  }

  /** What teardown() left behind; empty when the host is clean. */
  leftovers(): string[] {
    const left: string[] = [];
    if (this.daemon && this.daemon.exitCode === null && this.daemon.signalCode === null) left.push(`containerd (pid ${this.daemon.pid})`);
    const procs = processesMentioning(this.work);
    if (procs.length) left.push(`processes naming ${this.work}: ${procs.join(' ')}`);
    const mounts = mountsUnder(this.work);
    if (mounts.length) left.push(`mounts: ${mounts.join(' ')}`);
    const cgroups = cgroupMounts()
      .map((m) => join(m, this.cgroupParent))
      .filter((d) => existsSync(d));
    if (cgroups.length) left.push(`cgroups: ${cgroups.join(' ')}`);
    if (existsSync(this.work)) left.push(`temp dir ${this.work}`);
    return left;
  }
}
