// Kubernetes' path to tsrun: containerd's CRI plugin, driven over containerd's socket by the CRI
// client of test/helpers/cri.ts (runtime.v1, as the kubelet speaks it). A private containerd has
// a runtime handler "tsrun" (runc v2 shim, BinaryName = bin/tsrun, its own runtime root); a pod
// with host networking (no CNI) is run with runtime_handler "tsrun", its sandbox (pause) image
// and a busybox image are built here offline and imported into the k8s.io namespace.
// Exercised: the pod sandbox, a container in it (create, start, status, list, exec, log file,
// memory limit, stop, remove), one with a pid namespace of its own, one that fails to start,
// the pod's stop and removal; tsrun's own state dir proves tsrun (not runc) ran them.
// Not exercised: a kubelet, CNI networking, the streaming calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerState, CriClient, NamespaceMode, PodSandboxState, RuntimeService as R, type ContainerConfigMessage, type PodSandboxConfigMessage } from '../helpers/cri';
import { GrpcError } from '../helpers/grpc';
import { PrivateContainerd, cgroupMounts } from '../helpers/containerd';
import { buildBusyboxImages } from '../helpers/oci-image';
import { need } from '../helpers/need';
import { TSRUN, tsrun } from '../helpers/tsrun';
import { waitFor } from '../helpers/wait';
import { detectLayout } from '../../src/cgroups/layout';

const PAUSE = 'tsrun-cri-pause';
const BUSYBOX = 'tsrun-cri-busybox';
const MEMORY_LIMIT = 32n * 1024n * 1024n;

const containerd = new PrivateContainerd({ runtimeBinary: TSRUN, sandboxImage: `docker.io/library/${PAUSE}:latest` });
let cri: CriClient | undefined;
let podId = '';
let containerId = '';
let sandboxPid = 0;

// The host's network (no CNI needed); the pod's pid (shareProcessNamespace) and ipc namespaces.
const podNamespaces = { network: NamespaceMode.NODE, pid: NamespaceMode.POD, ipc: NamespaceMode.POD };
// No hostname: a pod on the host's network has the host's UTS namespace (the kubelet sets none).
const podConfig: PodSandboxConfigMessage = {
  metadata: { name: 'tsrun-pod', uid: `uid-${process.pid}`, namespace: 'tsrun-test', attempt: 0 },
  logDirectory: join(containerd.work, 'pod-logs'),
  labels: { app: 'tsrun-cri-test' },
  linux: { cgroupParent: containerd.cgroupParent, securityContext: { namespaceOptions: podNamespaces } },
};
const containerConfig: ContainerConfigMessage = {
  metadata: { name: 'busybox', attempt: 0 },
  image: { image: `docker.io/library/${BUSYBOX}:latest` },
  command: ['sh', '-c', 'echo hello-from-cri; echo oops-from-cri >&2; exec sleep 600'],
  envs: [{ key: 'GREETING', value: 'hi-from-the-cri-config' }],
  logPath: 'busybox.log',
  linux: { resources: { memoryLimitInBytes: MEMORY_LIMIT }, securityContext: { namespaceOptions: podNamespaces } },
};

function client(): CriClient {
  assert.ok(cri, 'no CRI client: the containerd set-up failed (see the before hook)');
  return cri;
}

function needPod(): void {
  assert.ok(podId, 'no pod sandbox: an earlier step failed');
}

function needContainer(): void {
  assert.ok(containerId, 'no container: an earlier step failed');
}

/** The "info" JSON of a verbose status answer (pid, runtime options, OCI spec). */
function verboseInfo(info: Record<string, string> | undefined, what: string): Record<string, any> {
  const text = info?.info;
  assert.ok(text, `${what}: the verbose answer has no info`);
  return JSON.parse(text);
}

/** tsrun's own record of a container (state.json under the handler's runtime root). */
function tsrunRecord(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(containerd.runtimeStateDir(id), 'state.json'), 'utf8'));
}

/** Asserts that tsrun runs the container `id` with init `pid`: its state dir, `tsrun state`. */
function assertRunByTsrun(id: string, pid: number): void {
  const record = tsrunRecord(id);
  assert.equal(record.id, id);
  assert.equal(record.pid, pid, "tsrun's record names the pid containerd reports");
  assert.match(String(record.pidStartTime), /^\d+$/, "state.json has tsrun's pidStartTime (runc's has no such field)");
  const state = tsrun(['--root', join(containerd.tsrunRoot, 'k8s.io'), 'state', id]);
  assert.equal(state.code, 0, state.stderr);
  assert.deepEqual([JSON.parse(state.stdout).status, JSON.parse(state.stdout).pid], ['running', pid]);
  assert.ok(!existsSync(join('/run/containerd/runc/k8s.io', id)), 'runc (default root) has no state for it');
}

before(async () => {
  for (const tool of ['containerd', 'ctr', 'containerd-shim-runc-v2', 'tar']) {
    need(spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0, `${tool} (Debian packages containerd, tar)`);
  }
  need(existsSync(TSRUN), `${TSRUN} (run \`make build\`)`);
  cri = await containerd.start();
  // The pause image sleeps for ever (its pid 1 holds the pod's pid and ipc namespaces).
  const images = buildBusyboxImages(join(containerd.work, 'images'), [
    { name: PAUSE, cmd: ['sleep', '2147483647'] },
    { name: BUSYBOX, cmd: ['sh'] },
  ]);
  containerd.ctr(['images', 'import', images.archive]);
  const listed = containerd.ctr(['images', 'ls', '-q']).split('\n');
  for (const ref of images.refs) assert.ok(listed.includes(ref), `${ref} imported into k8s.io (ctr images ls: ${listed.join(' ')})`);
});

after(async () => {
  await containerd.teardown();
});

test('CRI Version: containerd serves runtime.v1', async () => {
  const v = await client().call(R.Version, { version: 'v1' });
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');
});

test('RunPodSandbox with runtime_handler "tsrun": the pause container runs under tsrun, pod READY', async () => {
  const pod = await client().call(R.RunPodSandbox, { config: podConfig, runtimeHandler: 'tsrun' });
  assert.match(pod.podSandboxId ?? '', /^[0-9a-f]{64}$/);
  podId = pod.podSandboxId!;
  const st = await client().call(R.PodSandboxStatus, { podSandboxId: podId, verbose: true });
  assert.equal(st.status?.state, PodSandboxState.SANDBOX_READY);
  assert.equal(st.status?.metadata?.name, 'tsrun-pod');
  assert.equal(st.status?.runtimeHandler, 'tsrun');
  assert.deepEqual(st.status?.labels, { app: 'tsrun-cri-test' });
  const info = verboseInfo(st.info, 'PodSandboxStatus');
  assert.equal(info.runtimeHandler, 'tsrun');
  assert.deepEqual(info.runtimeOptions, { binary_name: TSRUN, root: containerd.tsrunRoot });
  assert.deepEqual(info.runtimeSpec.process.args, ['sleep', '2147483647'], 'the locally built sandbox_image');
  assert.ok(!info.runtimeSpec.linux.namespaces.some((ns: { type: string }) => ns.type === 'network'), 'host network: no network namespace');
  assertRunByTsrun(podId, info.pid);
  sandboxPid = info.pid;
});

test('CreateContainer + StartContainer: a busybox container in the pod is RUNNING under tsrun', async () => {
  needPod();
  const created = await client().call(R.CreateContainer, { podSandboxId: podId, config: containerConfig, sandboxConfig: podConfig });
  assert.match(created.containerId ?? '', /^[0-9a-f]{64}$/);
  containerId = created.containerId!;
  let st = await client().call(R.ContainerStatus, { containerId });
  assert.equal(st.status?.state, ContainerState.CONTAINER_CREATED);
  await client().call(R.StartContainer, { containerId });
  st = await client().call(R.ContainerStatus, { containerId, verbose: true });
  assert.equal(st.status?.state, ContainerState.CONTAINER_RUNNING);
  assert.equal(st.status?.metadata?.name, 'busybox');
  assert.ok((st.status?.startedAt ?? 0n) > 0n);
  const info = verboseInfo(st.info, 'ContainerStatus');
  assert.equal(info.sandboxID, podId);
  assert.deepEqual(info.runtimeOptions, { binary_name: TSRUN, root: containerd.tsrunRoot });
  assertRunByTsrun(containerId, info.pid);

  const list = await client().call(R.ListContainers, { filter: { podSandboxId: podId } });
  assert.deepEqual(
    list.containers?.map((c) => [c.id, c.state, c.metadata?.name]),
    [[containerId, ContainerState.CONTAINER_RUNNING, 'busybox']],
  );
});

test('ExecSync: stdout, stderr and exit code of a command; the pod shares the pause pid namespace', async () => {
  needContainer();
  const r = await client().call(R.ExecSync, { containerId, cmd: ['sh', '-c', 'echo "out:$GREETING"; echo err-from-exec >&2; exit 3'], timeout: 30n });
  assert.equal(r.stdout?.toString(), 'out:hi-from-the-cri-config\n');
  assert.equal(r.stderr?.toString(), 'err-from-exec\n');
  assert.equal(r.exitCode, 3);
  // pid 1 of the container's pid namespace is the sandbox's sleep: tsrun joined the pod's namespace.
  const init = await client().call(R.ExecSync, { containerId, cmd: ['cat', '/proc/1/cmdline'], timeout: 30n });
  assert.equal(init.exitCode, 0, init.stderr?.toString());
  assert.equal(init.stdout?.toString(), 'sleep\x002147483647\x00');
});

test("the container's log file holds its stdout and stderr in the CRI log format", async () => {
  needContainer();
  const file = join(podConfig.logDirectory!, 'busybox.log');
  const st = await client().call(R.ContainerStatus, { containerId });
  assert.equal(st.status?.logPath, file);
  const want = [/^\S+Z stdout F hello-from-cri$/m, /^\S+Z stderr F oops-from-cri$/m];
  await waitFor(() => want.every((re) => re.test(readFileSync(file, 'utf8'))), `both lines in ${file}`);
});

test('the memory limit of the CRI container config is in the cgroup tsrun put the container in', async () => {
  needContainer();
  const info = verboseInfo((await client().call(R.ContainerStatus, { containerId, verbose: true })).info, 'ContainerStatus');
  const cgroupsPath: string = info.runtimeSpec.linux.cgroupsPath;
  assert.equal(cgroupsPath, `${containerd.cgroupParent}/${containerId}`);
  assert.equal(BigInt(info.runtimeSpec.linux.resources.memory.limit), MEMORY_LIMIT);
  const layout = detectLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  const v1 = layout.v1.find((h) => h.controllers.includes('memory'));
  const limitFile = v1 ? join(v1.mountPoint, cgroupsPath, 'memory.limit_in_bytes') : join(layout.unified!.mountPoint, cgroupsPath, 'memory.max');
  assert.equal(readFileSync(limitFile, 'utf8').trim(), String(MEMORY_LIMIT), limitFile);
  const memoryLine = readFileSync(`/proc/${info.pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => (v1 ? /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l) : l.startsWith('0::')));
  assert.equal(memoryLine?.replace(/^[^:]*:[^:]*:/, ''), cgroupsPath, "the container's init is in that cgroup");
});

test("a container whose command does not exist: StartContainer fails with tsrun's error naming it, nothing left", async () => {
  needPod();
  const bad = await client().call(R.CreateContainer, {
    podSandboxId: podId,
    sandboxConfig: podConfig,
    config: { ...containerConfig, metadata: { name: 'no-such-binary', attempt: 0 }, command: ['/no/such/binary'], logPath: 'bad.log' },
  });
  const id = bad.containerId!;
  await assert.rejects(client().call(R.StartContainer, { containerId: id }), (err: GrpcError) => {
    assert.ok(err instanceof GrpcError, String(err));
    assert.match(err.message, /^\/runtime\.v1\.RuntimeService\/StartContainer: UNKNOWN \(grpc-status 2\): .*\/no\/such\/binary/);
    return true;
  });
  const st = await client().call(R.ContainerStatus, { containerId: id });
  assert.equal(st.status?.state, ContainerState.CONTAINER_EXITED);
  assert.ok(!existsSync(containerd.runtimeStateDir(id)), 'no tsrun state for the failed container');
  assert.deepEqual(cgroupMounts().filter((m) => existsSync(join(m, containerd.cgroupParent, id))), [], 'no cgroup for the failed container');
  await client().call(R.RemoveContainer, { containerId: id });
});

test("a container with its own pid namespace (the kubelet's default) joins the pod's ipc namespace, not its pid one", async () => {
  needPod();
  const own = await client().call(R.CreateContainer, {
    podSandboxId: podId,
    sandboxConfig: podConfig,
    config: {
      ...containerConfig,
      metadata: { name: 'own-pid', attempt: 0 },
      command: ['sleep', '600'],
      logPath: 'own-pid.log',
      linux: { securityContext: { namespaceOptions: { ...podNamespaces, pid: NamespaceMode.CONTAINER } } },
    },
  });
  const id = own.containerId!;
  // On a failure below, the teardown removes it with everything else.
  await client().call(R.StartContainer, { containerId: id });
  const init = await client().call(R.ExecSync, { containerId: id, cmd: ['cat', '/proc/1/cmdline'], timeout: 30n });
  assert.equal(init.stdout?.toString(), 'sleep\x00600\x00', 'pid 1 is its own process');
  const pid = verboseInfo((await client().call(R.ContainerStatus, { containerId: id, verbose: true })).info, 'ContainerStatus').pid;
  assertRunByTsrun(id, pid);
  const ns = (p: number, type: string) => readlinkSync(`/proc/${p}/ns/${type}`);
  assert.equal(ns(pid, 'ipc'), ns(sandboxPid, 'ipc'), "the pod's ipc namespace");
  assert.notEqual(ns(pid, 'pid'), ns(sandboxPid, 'pid'), 'a pid namespace of its own');
  assert.equal(ns(pid, 'net'), ns(process.pid, 'net'), "the host's network namespace");
  // timeout 0: SIGKILL at once (a pid 1 without a handler ignores SIGTERM)
  await client().call(R.StopContainer, { containerId: id, timeout: 0n });
  const st = await client().call(R.ContainerStatus, { containerId: id });
  assert.deepEqual([st.status?.state, st.status?.exitCode], [ContainerState.CONTAINER_EXITED, 137]);
  await client().call(R.RemoveContainer, { containerId: id });
  assert.ok(!existsSync(containerd.runtimeStateDir(id)), 'no tsrun state left');
});

test('StopContainer ends it with SIGTERM (143) before the timeout; RemoveContainer leaves no state or cgroup', async () => {
  needContainer();
  const t0 = Date.now();
  await client().call(R.StopContainer, { containerId, timeout: 30n });
  assert.ok(Date.now() - t0 < 20_000, `StopContainer took ${Date.now() - t0} ms: SIGTERM did not stop it`);
  const st = await client().call(R.ContainerStatus, { containerId });
  assert.equal(st.status?.state, ContainerState.CONTAINER_EXITED);
  assert.equal(st.status?.exitCode, 143);
  // The init shared the pod's pid namespace: on its exit the shim ran `kill --all` on the stopped
  // container to kill what it may have left, which must succeed (as with runc).
  const killAllError = readFileSync(containerd.logFile, 'utf8')
    .split('\n')
    .find((l) => l.includes("failed to kill init's children"));
  assert.equal(killAllError, undefined);
  assert.ok(!existsSync(containerd.runtimeStateDir(containerId)), 'tsrun deleted its state when the task was deleted');
  await client().call(R.RemoveContainer, { containerId });
  const list = await client().call(R.ListContainers, { filter: { podSandboxId: podId } });
  assert.deepEqual(list.containers, []);
  const cgroups = cgroupMounts()
    .map((m) => join(m, containerd.cgroupParent, containerId))
    .filter((d) => existsSync(d));
  assert.deepEqual(cgroups, [], "the container's cgroup is removed");
  await assert.rejects(client().call(R.ContainerStatus, { containerId }), (err: GrpcError) => err instanceof GrpcError && err.code === 5);
});

test('StopPodSandbox makes the pod NOTREADY; RemovePodSandbox removes it (then NOT_FOUND)', async () => {
  needPod();
  await client().call(R.StopPodSandbox, { podSandboxId: podId });
  const st = await client().call(R.PodSandboxStatus, { podSandboxId: podId });
  assert.equal(st.status?.state, PodSandboxState.SANDBOX_NOTREADY);
  assert.ok(!existsSync(containerd.runtimeStateDir(podId)), 'tsrun deleted the sandbox state');
  await client().call(R.RemovePodSandbox, { podSandboxId: podId });
  await assert.rejects(client().call(R.PodSandboxStatus, { podSandboxId: podId }), (err: GrpcError) => {
    assert.ok(err instanceof GrpcError, String(err));
    assert.equal(err.code, 5, err.message);
    assert.match(err.message, /^\/runtime\.v1\.RuntimeService\/PodSandboxStatus: NOT_FOUND \(grpc-status 5\): .*not found/);
    return true;
  });
  const cgroups = cgroupMounts()
    .map((m) => join(m, containerd.cgroupParent))
    .filter((d) => existsSync(d) && readFileSync(join(d, 'cgroup.procs'), 'utf8') !== '');
  assert.deepEqual(cgroups, [], 'no process left in the pods cgroup parent');
});

test('teardown: containerd, shims, mounts, cgroups and the temp dir are gone', async () => {
  await containerd.teardown();
  assert.deepEqual(containerd.leftovers(), []);
});
