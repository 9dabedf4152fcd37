// A minimal CRI client for tests: the runtime.v1 RuntimeService calls the CRI test makes, over
// containerd's gRPC socket. Field numbers are those of k8s.io/cri-api pkg/apis/runtime/v1
// api.proto (stable across releases); each schema names only the fields the tests use.
import { GrpcChannel } from './grpc';
import { decodeMessage, encodeMessage, type Message, type Schema } from './protobuf';

export const NamespaceMode = { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 } as const;
export const PodSandboxState = { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 } as const;
export const ContainerState = { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 } as const;

const Empty = {} as const;

const VersionRequest = { version: [1, 'string'] } as const;
const VersionResponse = {
  version: [1, 'string'],
  runtimeName: [2, 'string'],
  runtimeVersion: [3, 'string'],
  runtimeApiVersion: [4, 'string'],
} as const;

const NamespaceOption = { network: [1, 'enum'], pid: [2, 'enum'], ipc: [3, 'enum'] } as const;
const LinuxSandboxSecurityContext = { namespaceOptions: [1, NamespaceOption] } as const;
const LinuxContainerResources = {
  cpuPeriod: [1, 'int64'],
  cpuQuota: [2, 'int64'],
  cpuShares: [3, 'int64'],
  memoryLimitInBytes: [4, 'int64'],
  oomScoreAdj: [5, 'int64'],
} as const;
const LinuxPodSandboxConfig = {
  cgroupParent: [1, 'string'],
  securityContext: [2, LinuxSandboxSecurityContext],
  sysctls: [3, 'string', 'map'],
} as const;
const PodSandboxMetadata = { name: [1, 'string'], uid: [2, 'string'], namespace: [3, 'string'], attempt: [4, 'uint32'] } as const;
const PodSandboxConfig = {
  metadata: [1, PodSandboxMetadata],
  hostname: [2, 'string'],
  logDirectory: [3, 'string'],
  labels: [6, 'string', 'map'],
  annotations: [7, 'string', 'map'],
  linux: [8, LinuxPodSandboxConfig],
} as const;
const PodSandboxIdRequest = { podSandboxId: [1, 'string'] } as const;
const RunPodSandboxRequest = { config: [1, PodSandboxConfig], runtimeHandler: [2, 'string'] } as const;
const PodSandboxStatusRequest = { podSandboxId: [1, 'string'], verbose: [2, 'bool'] } as const;
const PodSandboxStatus = {
  id: [1, 'string'],
  metadata: [2, PodSandboxMetadata],
  state: [3, 'enum'],
  createdAt: [4, 'int64'],
  labels: [7, 'string', 'map'],
  annotations: [8, 'string', 'map'],
  runtimeHandler: [9, 'string'],
} as const;
const PodSandboxStatusResponse = { status: [1, PodSandboxStatus], info: [2, 'string', 'map'] } as const;

const ImageSpec = { image: [1, 'string'] } as const;
// KeyValue.value is `string` in the cri-api of containerd 1.6 and `bytes` in later releases: the same wire type.
const KeyValue = { key: [1, 'string'], value: [2, 'string'] } as const;
const LinuxContainerSecurityContext = { namespaceOptions: [3, NamespaceOption] } as const;
const LinuxContainerConfig = { resources: [1, LinuxContainerResources], securityContext: [2, LinuxContainerSecurityContext] } as const;
const ContainerMetadata = { name: [1, 'string'], attempt: [2, 'uint32'] } as const;
const ContainerConfig = {
  metadata: [1, ContainerMetadata],
  image: [2, ImageSpec],
  command: [3, 'string', 'repeated'],
  args: [4, 'string', 'repeated'],
  workingDir: [5, 'string'],
  envs: [6, KeyValue, 'repeated'],
  labels: [9, 'string', 'map'],
  annotations: [10, 'string', 'map'],
  logPath: [11, 'string'],
  linux: [15, LinuxContainerConfig],
} as const;
const CreateContainerRequest = { podSandboxId: [1, 'string'], config: [2, ContainerConfig], sandboxConfig: [3, PodSandboxConfig] } as const;
const ContainerIdRequest = { containerId: [1, 'string'] } as const;
const StopContainerRequest = { containerId: [1, 'string'], timeout: [2, 'int64'] } as const;
const ContainerFilter = {
  id: [1, 'string'],
  state: [2, { state: [1, 'enum'] }],
  podSandboxId: [3, 'string'],
  labelSelector: [4, 'string', 'map'],
} as const;
const Container = {
  id: [1, 'string'],
  podSandboxId: [2, 'string'],
  metadata: [3, ContainerMetadata],
  image: [4, ImageSpec],
  state: [6, 'enum'],
  labels: [8, 'string', 'map'],
} as const;
const ContainerStatusRequest = { containerId: [1, 'string'], verbose: [2, 'bool'] } as const;
const ContainerStatus = {
  id: [1, 'string'],
  metadata: [2, ContainerMetadata],
  state: [3, 'enum'],
  createdAt: [4, 'int64'],
  startedAt: [5, 'int64'],
  finishedAt: [6, 'int64'],
  exitCode: [7, 'int32'],
  image: [8, ImageSpec],
  reason: [10, 'string'],
  message: [11, 'string'],
  logPath: [15, 'string'],
} as const;
const ExecSyncRequest = { containerId: [1, 'string'], cmd: [2, 'string', 'repeated'], timeout: [3, 'int64'] } as const;
const ExecSyncResponse = { stdout: [1, 'bytes'], stderr: [2, 'bytes'], exitCode: [3, 'int32'] } as const;

interface Rpc<Q extends Schema, R extends Schema> {
  path: string;
  request: Q;
  response: R;
}
const runtime = <Q extends Schema, R extends Schema>(method: string, request: Q, response: R): Rpc<Q, R> => ({
  path: `/runtime.v1.RuntimeService/${method}`,
  request,
  response,
});

/** The runtime.v1 RuntimeService calls this client knows. */
export const RuntimeService = {
  Version: runtime('Version', VersionRequest, VersionResponse),
  RunPodSandbox: runtime('RunPodSandbox', RunPodSandboxRequest, { podSandboxId: [1, 'string'] } as const),
  PodSandboxStatus: runtime('PodSandboxStatus', PodSandboxStatusRequest, PodSandboxStatusResponse),
  StopPodSandbox: runtime('StopPodSandbox', PodSandboxIdRequest, Empty),
  RemovePodSandbox: runtime('RemovePodSandbox', PodSandboxIdRequest, Empty),
  CreateContainer: runtime('CreateContainer', CreateContainerRequest, { containerId: [1, 'string'] } as const),
  StartContainer: runtime('StartContainer', ContainerIdRequest, Empty),
  ContainerStatus: runtime('ContainerStatus', ContainerStatusRequest, { status: [1, ContainerStatus], info: [2, 'string', 'map'] } as const),
  ExecSync: runtime('ExecSync', ExecSyncRequest, ExecSyncResponse),
  StopContainer: runtime('StopContainer', StopContainerRequest, Empty),
  RemoveContainer: runtime('RemoveContainer', ContainerIdRequest, Empty),
  ListContainers: runtime('ListContainers', { filter: [1, ContainerFilter] } as const, { containers: [1, Container, 'repeated'] } as const),
};

export type PodSandboxConfigMessage = Message<typeof PodSandboxConfig>;
export type ContainerConfigMessage = Message<typeof ContainerConfig>;

export class CriClient {
  private constructor(private readonly channel: GrpcChannel) {}

  /** Connects to a CRI endpoint (containerd's gRPC socket serves the CRI plugin too). */
  static async connect(socketPath: string): Promise<CriClient> {
    return new CriClient(await GrpcChannel.connect(socketPath));
  }

  /** One call: errors are GrpcErrors naming the method, the status and containerd's message. */
  async call<Q extends Schema, R extends Schema>(rpc: Rpc<Q, R>, request: Message<Q>, timeoutMs = 60_000): Promise<Message<R>> {
    const answer = await this.channel.unary(rpc.path, encodeMessage(rpc.request, request, rpc.path), timeoutMs);
    return decodeMessage(rpc.response, answer, rpc.path);
  }

  close(): void {
    this.channel.close();
  }
}
