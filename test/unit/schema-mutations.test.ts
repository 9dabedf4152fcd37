// Mutations of a realistic runc-style config.json (and of state/features documents) run through
// tsrun's generated validators and src/spec/validate.ts: verdicts and exact error messages.
// When the official runtime-spec schemas are available (see schema-oracle.test.ts) every case is
// also run through them, and any verdict that differs must be one of the documented divergences.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import {
  SpecValidationError,
  formatValidationErrors,
  validateConfig,
  validateFeatures,
  validateState,
} from '../../src/spec';
import type { Spec } from '../../src/spec';

// ---------------------------------------------------------------------------------------------
// A realistic config: `runc spec` output plus the optional sections tsrun must understand.

function baseConfig(): Record<string, unknown> {
  return {
    ociVersion: '1.3.0',
    process: {
      terminal: false,
      consoleSize: { height: 25, width: 80 },
      user: { uid: 0, gid: 0, umask: 18, additionalGids: [5, 6] },
      args: ['sh', '-c', 'echo hello'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 },
        { type: 'RLIMIT_CORE', hard: 18446744073709551615, soft: 18446744073709551615 },
      ],
      noNewPrivileges: true,
      oomScoreAdj: -500,
      apparmorProfile: 'tsrun-default',
      selinuxLabel: 'system_u:system_r:container_t:s0:c1,c2',
      scheduler: { policy: 'SCHED_OTHER', nice: 5, flags: ['SCHED_FLAG_RESET_ON_FORK'] },
      ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      execCPUAffinity: { initial: '7', final: '0-3,7' },
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'tsrun',
    domainname: 'example.test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      {
        destination: '/data',
        type: 'none',
        source: '/srv/data',
        options: ['rbind', 'ridmap'],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      },
    ],
    hooks: {
      createRuntime: [{ path: '/usr/bin/setup-net', args: ['setup-net', 'up'], env: ['A=1'], timeout: 5 }],
      poststop: [{ path: '/usr/bin/cleanup' }],
    },
    annotations: { 'org.opencontainers.image.os': 'linux', 'com.example.note': '' },
    linux: {
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      namespaces: [
        { type: 'pid' },
        { type: 'network', path: '/var/run/netns/tsrun' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'user' },
        { type: 'cgroup' },
        { type: 'time' },
      ],
      timeOffsets: { monotonic: { secs: 172800, nanosecs: 0 }, boottime: { secs: -5, nanosecs: 999999999 } },
      devices: [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
        { path: '/dev/myfifo', type: 'p' },
      ],
      netDevices: { eth1: { name: 'ctr_eth1' }, ens5: {} },
      cgroupsPath: '/tsrun/test',
      resources: {
        devices: [
          { allow: false, access: 'rwm' },
          { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' },
        ],
        memory: { limit: 536870912, reservation: 268435456, swap: -1, swappiness: 60, disableOOMKiller: false, checkBeforeUpdate: true },
        cpu: { shares: 1024, quota: 100000, burst: 10000, period: 100000, cpus: '0-3', mems: '0', idle: 0 },
        pids: { limit: 0 },
        blockIO: {
          weight: 500,
          weightDevice: [{ major: 8, minor: 0, weight: 300 }, { major: 8, minor: 16, leafWeight: 200 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 300 }],
        },
        hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }, { pageSize: '1GB', limit: 0 }],
        network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
        rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, rxe3: { hcaObjects: 100 } },
        unified: { 'memory.high': '400000000', 'io.max': '8:0 rbps=2097152' },
      },
      intelRdt: { closID: 'guaranteed', schemata: ['L3:0=7f0;1=1f', 'MB:0=20;1=70'], memBwSchema: 'MB:0=20', enableMonitoring: true },
      memoryPolicy: { mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] },
      sysctl: { 'net.ipv4.ip_forward': '1' },
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: 1,
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
        listenerPath: '/run/seccomp-agent.sock',
        listenerMetadata: 'MKNOD=/dev/null',
        syscalls: [
          { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] },
          { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
          { names: ['mknod'], action: 'SCMP_ACT_NOTIFY' },
          { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
          { names: ['kexec_load'], action: 'SCMP_ACT_KILL_PROCESS' },
        ],
      },
      rootfsPropagation: 'private',
      maskedPaths: ['/proc/acpi', '/proc/kcore', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/sys'],
      mountLabel: 'system_u:object_r:container_file_t:s0:c1,c2',
      personality: { domain: 'LINUX' },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// JSON-pointer helpers for the case table.

type Json = Record<string, unknown> | unknown[];

function parentOf(doc: unknown, pointer: string): { parent: Json; key: string } {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const key = parts.pop();
  if (key === undefined) throw new Error(`bad pointer ${pointer}`);
  let cur: unknown = doc;
  for (const p of parts) {
    cur = (cur as Record<string, unknown>)[p];
    if (cur === null || typeof cur !== 'object') throw new Error(`pointer ${pointer} does not resolve`);
  }
  return { parent: cur as Json, key };
}

function set(doc: unknown, pointer: string, value: unknown): void {
  const { parent, key } = parentOf(doc, pointer);
  (parent as Record<string, unknown>)[key] = value;
}

function del(doc: unknown, pointer: string): void {
  const { parent, key } = parentOf(doc, pointer);
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new Error(`nothing at ${pointer}`);
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete parent[key];
}

interface Case {
  name: string;
  /** Mutation applied to a fresh baseConfig(). */
  edit: (c: Record<string, unknown>) => void;
  valid: boolean;
  /** Exact expected SpecValidationError message (one line) when invalid. */
  message?: string;
  /** Our verdict intentionally differs from the official schema's (reason). */
  divergence?: string;
}

const setCase = (name: string, pointer: string, value: unknown, valid: boolean, message?: string, divergence?: string): Case => {
  const c: Case = { name, edit: (d) => set(d, pointer, value), valid };
  if (message !== undefined) c.message = message;
  if (divergence !== undefined) c.divergence = divergence;
  return c;
};
const delCase = (name: string, pointer: string, valid: boolean, message?: string, divergence?: string): Case => {
  const c: Case = { name, edit: (d) => del(d, pointer), valid };
  if (message !== undefined) c.message = message;
  if (divergence !== undefined) c.divergence = divergence;
  return c;
};

const NS_TYPES = 'pid, network, mount, ipc, uts, user, cgroup, time';
const ACTIONS =
  'SCMP_ACT_KILL, SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_ERRNO, SCMP_ACT_TRACE, SCMP_ACT_ALLOW, SCMP_ACT_LOG, SCMP_ACT_NOTIFY';
const DIV_ROOT = 'spec: root is REQUIRED on all platforms but Windows Hyper-V; the official schema leaves it optional';
const DIV_ARGS = 'spec: process.args needs at least one entry on non-Windows platforms; official schema does not check';
const DIV_ABS = 'spec: value MUST be an absolute path; official schema does not check';
const DIV_MEM = 'spec: memory values are bytes or -1; official schema allows any int64';
const DIV_PIDS = 'spec: pids limit is a count or -1; official schema allows any int64';
const DIV_REQ = 'spec marks the field REQUIRED; official schema does not require it';
const DIV_ONE_OF = 'spec: at least one of the two fields MUST be given; official schema does not check';

const CONFIG_CASES: Case[] = [
  // --- valid edge cases
  { name: 'base config', edit: () => undefined, valid: true },
  { name: 'empty linux object', edit: (c) => (c['linux'] = {}), valid: true },
  { name: 'minimal: ociVersion + root', edit: (c) => replaceAll(c, { ociVersion: '1.3.0', root: { path: 'rootfs' } }), valid: true },
  {
    name: 'only ociVersion (root is REQUIRED off Windows)',
    edit: (c) => replaceAll(c, { ociVersion: '1.3.0' }),
    valid: false,
    message: "config.json: /: must have required property 'root'",
    divergence: DIV_ROOT,
  },
  delCase('no process (create without start)', '/process', true),
  setCase('unknown properties are ignored', '/linux/resources/memory/futureKnob', { x: 1 }, true),
  setCase('unknown top-level property', '/org.example.extension', [1, 2, 3], true),
  setCase('semver with pre-release and build', '/ociVersion', '1.3.0-rc.1+dev.2', true),
  setCase('memory limit -1 (unlimited)', '/linux/resources/memory/limit', -1, true),
  setCase('pids limit -1', '/linux/resources/pids/limit', -1, true),
  setCase('empty annotations', '/annotations', {}, true),
  setCase('empty seccomp syscall list', '/linux/seccomp/syscalls', [], true),
  setCase('uid at uint32 max', '/process/user/uid', 4294967295, true),
  setCase('timeOffsets negative secs', '/linux/timeOffsets/monotonic/secs', -86400, true),
  setCase('devices: char device with major 0', '/linux/devices/0/major', 0, true),
  setCase('device cgroup entry with only allow', '/linux/resources/devices/1', { allow: true }, true),
  setCase('personality LINUX32', '/linux/personality/domain', 'LINUX32', true),
  setCase('rootfsPropagation unbindable', '/linux/rootfsPropagation', 'unbindable', true),
  setCase('hugepage 64KB', '/linux/resources/hugepageLimits/0/pageSize', '64KB', true),
  setCase('every seccomp action', '/linux/seccomp/syscalls', ACTIONS.split(', ').map((a) => ({ names: ['getpid'], action: a })), true),
  {
    name: 'windows hyper-v container without root or args',
    edit: (c) =>
      replaceAll(c, {
        ociVersion: '1.3.0',
        process: { cwd: 'C:\\', commandLine: 'cmd.exe /c echo hi', user: { username: 'ContainerUser' } },
        windows: { layerFolders: ['C:\\layers\\base'], hyperv: {} },
      }),
    valid: true,
  },

  // --- wrong types at deep paths
  setCase('memory limit is a string', '/linux/resources/memory/limit', 'lots', false, 'config.json: /linux/resources/memory/limit: must be integer'),
  setCase('uid is fractional', '/process/user/uid', 1.5, false, 'config.json: /process/user/uid: must be integer'),
  setCase('additional gid is a string', '/process/user/additionalGids/1', '6', false, 'config.json: /process/user/additionalGids/1: must be integer'),
  setCase('terminal is a string', '/process/terminal', 'yes', false, 'config.json: /process/terminal: must be boolean'),
  setCase('args is a string', '/process/args', 'sh', false, 'config.json: /process/args: must be array'),
  setCase('env entry is a number', '/process/env/1', 42, false, 'config.json: /process/env/1: must be string'),
  setCase('mount options is a string', '/mounts/2/options', 'ro', false, 'config.json: /mounts/2/options: must be array'),
  setCase('capabilities set is a string', '/process/capabilities/bounding', 'CAP_KILL', false, 'config.json: /process/capabilities/bounding: must be array'),
  setCase('oomScoreAdj is a string', '/process/oomScoreAdj', '100', false, 'config.json: /process/oomScoreAdj: must be integer'),
  setCase('hostname is a number', '/hostname', 123, false, 'config.json: /hostname: must be string'),
  setCase('annotation value is a number', '/annotations/com.example.note', 1, false, 'config.json: /annotations/com.example.note: must be string'),
  setCase('sysctl value is a number', '/linux/sysctl/net.ipv4.ip_forward', 1, false, 'config.json: /linux/sysctl/net.ipv4.ip_forward: must be string'),
  setCase('unified value is a number', '/linux/resources/unified/memory.high', 4e8, false, 'config.json: /linux/resources/unified/memory.high: must be string'),
  setCase('netDevice name is a number', '/linux/netDevices/eth1/name', 23, false, 'config.json: /linux/netDevices/eth1/name: must be string'),
  setCase('rdma hcaHandles is a string', '/linux/resources/rdma/mlx5_1/hcaHandles', 'x', false, 'config.json: /linux/resources/rdma/mlx5_1/hcaHandles: must be integer'),
  setCase('execCPUAffinity.initial is a number', '/process/execCPUAffinity/initial', 7, false, 'config.json: /process/execCPUAffinity/initial: must be string'),
  setCase('seccomp arg value is a string', '/linux/seccomp/syscalls/1/args/0/value', '0', false, 'config.json: /linux/seccomp/syscalls/1/args/0/value: must be integer'),
  setCase('linux is an array', '/linux', [], false, 'config.json: /linux: must be object'),
  setCase('mounts is an object', '/mounts', {}, false, 'config.json: /mounts: must be array'),
  setCase('device allow is a string', '/linux/resources/devices/0/allow', 'false', false, 'config.json: /linux/resources/devices/0/allow: must be boolean'),

  // --- bad enum values
  setCase('unknown namespace type', '/linux/namespaces/0/type', 'pidns', false, `config.json: /linux/namespaces/0/type: must be equal to one of the allowed values: ${NS_TYPES}`),
  setCase('bad seccomp default action', '/linux/seccomp/defaultAction', 'SCMP_ACT_DENY', false, `config.json: /linux/seccomp/defaultAction: must be equal to one of the allowed values: ${ACTIONS}`),
  setCase('bad seccomp syscall action', '/linux/seccomp/syscalls/0/action', 'allow', false),
  setCase('bad seccomp operator', '/linux/seccomp/syscalls/1/args/0/op', 'SCMP_CMP_FOO', false),
  setCase('bad seccomp architecture', '/linux/seccomp/architectures/1', 'SCMP_ARCH_I386', false),
  setCase('bad seccomp flag', '/linux/seccomp/flags/0', 'SECCOMP_FILTER_FLAG_BOGUS', false),
  setCase('rootfsPropagation rshared (runc and containerd use it)', '/linux/rootfsPropagation', 'rshared', true, undefined, 'runc accepts the recursive forms; the official schema does not'),
  setCase(
    'rootfsPropagation bogus',
    '/linux/rootfsPropagation',
    'rbogus',
    false,
    'config.json: /linux/rootfsPropagation: must be equal to one of the allowed values: shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable',
  ),
  setCase('device type x', '/linux/devices/0/type', 'x', false, 'config.json: /linux/devices/0/type: must be equal to one of the allowed values: c, b, u, p'),
  setCase('device cgroup type u', '/linux/resources/devices/1/type', 'u', false, undefined, 'spec: device cgroup type is a, c or b; official schema also accepts u and p'),
  setCase('scheduler policy', '/process/scheduler/policy', 'SCHED_FAIR', false),
  setCase('scheduler flag', '/process/scheduler/flags/0', 'SCHED_FLAG_NONE', false),
  setCase('ioPriority class', '/process/ioPriority/class', 'IOPRIO_CLASS_NONE', false),
  setCase('personality domain', '/linux/personality/domain', 'LINUX64', false),
  setCase('memoryPolicy mode', '/linux/memoryPolicy/mode', 'MPOL_RANDOM', false),
  setCase('memoryPolicy flag', '/linux/memoryPolicy/flags/0', 'MPOL_F_FAST', false),

  // --- missing required fields
  delCase('no ociVersion', '/ociVersion', false, "config.json: /: must have required property 'ociVersion'"),
  delCase('no process.cwd', '/process/cwd', false, "config.json: /process: must have required property 'cwd'"),
  delCase('no root.path', '/root/path', false, "config.json: /root: must have required property 'path'"),
  delCase('no root', '/root', false, "config.json: /: must have required property 'root'", DIV_ROOT),
  delCase('no process.args', '/process/args', false, "config.json: /process: must have required property 'args'", DIV_ARGS),
  delCase('no user.gid', '/process/user/gid', false, "config.json: /process/user: must have required property 'gid'", DIV_REQ),
  delCase('no mount destination', '/mounts/0/destination', false, "config.json: /mounts/0: must have required property 'destination'"),
  delCase('no namespace type', '/linux/namespaces/2/type', false, "config.json: /linux/namespaces/2: must have required property 'type'"),
  delCase('no idmapping hostID', '/linux/uidMappings/0/hostID', false, "config.json: /linux/uidMappings/0: must have required property 'hostID'"),
  delCase('no rlimit hard', '/process/rlimits/0/hard', false, "config.json: /process/rlimits/0: must have required property 'hard'"),
  delCase('no hook path', '/hooks/createRuntime/0/path', false, "config.json: /hooks/createRuntime/0: must have required property 'path'"),
  delCase('no seccomp defaultAction', '/linux/seccomp/defaultAction', false, "config.json: /linux/seccomp: must have required property 'defaultAction'"),
  delCase('no syscall names', '/linux/seccomp/syscalls/0/names', false, "config.json: /linux/seccomp/syscalls/0: must have required property 'names'"),
  delCase('no seccomp arg op', '/linux/seccomp/syscalls/1/args/0/op', false),
  delCase('no char device major', '/linux/devices/0/major', false, "config.json: /linux/devices/0: must have required property 'major'", 'spec: major/minor are REQUIRED unless type is p; official schema does not require them'),
  delCase('no device cgroup allow', '/linux/resources/devices/0/allow', false),
  delCase('no hugepage pageSize', '/linux/resources/hugepageLimits/0/pageSize', false),
  delCase('no throttle rate', '/linux/resources/blockIO/throttleReadBpsDevice/0/rate', false, undefined, DIV_REQ),
  delCase('no consoleSize width', '/process/consoleSize/width', false, "config.json: /process/consoleSize: must have required property 'width'"),
  delCase('no scheduler policy', '/process/scheduler/policy', false),
  delCase('no ioPriority priority', '/process/ioPriority/priority', false, undefined, DIV_REQ),
  delCase('no memoryPolicy mode', '/linux/memoryPolicy/mode', false, undefined, DIV_REQ),
  delCase('no personality domain', '/linux/personality/domain', false, undefined, DIV_REQ),
  delCase('no interface priority name', '/linux/resources/network/priorities/0/name', false),
  setCase(
    'weight device with neither weight nor leafWeight',
    '/linux/resources/blockIO/weightDevice/0',
    { major: 8, minor: 0 },
    false,
    "config.json: /linux/resources/blockIO/weightDevice/0: must have at least one of the properties 'weight', 'leafWeight'",
    DIV_ONE_OF,
  ),
  setCase(
    'rdma entry with no limits',
    '/linux/resources/rdma/rxe3',
    {},
    false,
    "config.json: /linux/resources/rdma/rxe3: must have at least one of the properties 'hcaHandles', 'hcaObjects'",
    DIV_ONE_OF,
  ),
  delCase(
    'mount uidMappings without gidMappings',
    '/mounts/7/gidMappings',
    false,
    'config.json: /mounts/7: must have property gidMappings when property uidMappings is present',
    'spec: uidMappings and gidMappings MUST be given together; official schema does not check',
  ),
  delCase(
    'listenerMetadata without listenerPath',
    '/linux/seccomp/listenerPath',
    false,
    'config.json: /linux/seccomp: must have property listenerPath when property listenerMetadata is present',
    'spec: listenerMetadata MUST NOT be set without listenerPath; official schema does not check',
  ),

  // --- out-of-range values
  setCase('negative uid', '/process/user/uid', -1, false, 'config.json: /process/user/uid: must be >= 0'),
  setCase('negative gid', '/process/user/gid', -1000, false, 'config.json: /process/user/gid: must be >= 0'),
  setCase('uid above uint32', '/process/user/uid', 4294967296, false, 'config.json: /process/user/uid: must be <= 4294967295'),
  setCase('negative additional gid', '/process/user/additionalGids/0', -5, false),
  setCase('negative umask', '/process/user/umask', -1, false),
  setCase('idmapping size above uint32', '/linux/uidMappings/0/size', 4294967296, false, 'config.json: /linux/uidMappings/0/size: must be <= 4294967295'),
  setCase('negative rlimit', '/process/rlimits/0/soft', -1, false, 'config.json: /process/rlimits/0/soft: must be >= 0'),
  setCase('rlimit above uint64', '/process/rlimits/0/hard', 1e20, false, 'config.json: /process/rlimits/0/hard: must be <= 18446744073709552000'),
  setCase('swappiness above 100', '/linux/resources/memory/swappiness', 101, false, 'config.json: /linux/resources/memory/swappiness: must be <= 100', 'spec: swappiness is 0..100; official schema allows any uint64'),
  setCase('memory limit -2', '/linux/resources/memory/limit', -2, false, 'config.json: /linux/resources/memory/limit: must be >= -1', DIV_MEM),
  setCase('pids limit -5', '/linux/resources/pids/limit', -5, false, 'config.json: /linux/resources/pids/limit: must be >= -1', DIV_PIDS),
  setCase('blkio weight above uint16', '/linux/resources/blockIO/weight', 70000, false, 'config.json: /linux/resources/blockIO/weight: must be <= 65535'),
  setCase('cpu shares negative', '/linux/resources/cpu/shares', -1, false),
  setCase('nanosecs negative', '/linux/timeOffsets/monotonic/nanosecs', -1, false),
  setCase('scheduler nice above int32', '/process/scheduler/nice', 2147483648, false),
  setCase('device fileMode negative', '/linux/devices/0/fileMode', -1, false),
  setCase('hook timeout 0', '/hooks/createRuntime/0/timeout', 0, false, 'config.json: /hooks/createRuntime/0/timeout: must be >= 1'),
  setCase('consoleSize negative', '/process/consoleSize/height', -25, false),
  setCase('seccomp errnoRet negative', '/linux/seccomp/syscalls/4/errnoRet', -1, false),

  // --- patterns and other rules
  setCase('ociVersion not semver', '/ociVersion', '1.0', false, undefined, 'spec: ociVersion MUST be SemVer 2.0.0; official schema accepts any string'),
  setCase('hugepage size lower-case unit', '/linux/resources/hugepageLimits/0/pageSize', '2mb', false, 'config.json: /linux/resources/hugepageLimits/0/pageSize: must match pattern "^[1-9][0-9]*[KMGTPE]B$"'),
  setCase('device cgroup access rwx', '/linux/resources/devices/0/access', 'rwx', false, 'config.json: /linux/resources/devices/0/access: must match pattern "^[rwm]*$"', 'spec: access is a composition of r, w and m; official schema accepts any string'),
  setCase('empty syscall names', '/linux/seccomp/syscalls/0/names', [], false, 'config.json: /linux/seccomp/syscalls/0/names: must NOT have fewer than 1 items'),
  setCase('empty args', '/process/args', [], false, 'config.json: /process/args: must NOT have fewer than 1 items', DIV_ARGS),
  setCase('relative cwd', '/process/cwd', 'tmp', false, 'config.json: /process/cwd: must match pattern "^/"', DIV_ABS),
  setCase('relative hook path', '/hooks/poststop/0/path', 'cleanup', false, 'config.json: /hooks/poststop/0/path: must match pattern "^/"', DIV_ABS),
  setCase('relative masked path', '/linux/maskedPaths/0', 'proc/kcore', false, undefined, DIV_ABS),
  setCase('relative namespace path', '/linux/namespaces/1/path', 'netns', false, undefined, DIV_ABS),
  setCase('memBwSchema without MB:', '/linux/intelRdt/memBwSchema', 'L3:0=ff', false),
  setCase('schemata line with newline', '/linux/intelRdt/schemata/0', 'L3:0=ff\nMB:0=10', false, undefined, 'spec: schemata lines MUST NOT contain newlines; official schema does not check'),
  setCase('empty annotation key', '/annotations/', 'x', false, 'config.json: /annotations: property name "" is not allowed', 'spec: annotation keys MUST NOT be empty; official schema does not check'),
  {
    name: 'hyper-v container with root',
    edit: (c) =>
      replaceAll(c, { ociVersion: '1.3.0', root: { path: 'rootfs' }, windows: { layerFolders: ['C:\\l'], hyperv: {} } }),
    valid: false,
    message: 'config.json: /root: must not be present',
    divergence: 'spec: root MUST NOT be set for Hyper-V containers; official schema does not check',
  },
];

function replaceAll(target: Record<string, unknown>, next: Record<string, unknown>): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, next);
}

// ---------------------------------------------------------------------------------------------
// Optional cross-check with the official schemas (see schema-oracle.test.ts for the strict one).

const shared = process.env['TSRUN_SHARED'] ?? path.resolve(process.cwd(), '..', 'shared');
const officialDir = path.join(shared, 'oci-runtime-spec', 'schema');

function loadOfficial(): { config: ValidateFunction; state: ValidateFunction; features: ValidateFunction } | undefined {
  if (!fs.existsSync(officialDir)) return undefined;
  const base = 'file:///oci-runtime-spec/schema/';
  const ajv = new Ajv({ strict: false, validateSchema: false });
  for (const name of fs.readdirSync(officialDir).filter((n) => n.endsWith('.json')).sort()) {
    let text = fs.readFileSync(path.join(officialDir, name), 'utf8');
    if (name === 'defs.json') text = text.replace(/"#definitions\//g, '"#/definitions/');
    const schema = JSON.parse(text) as Record<string, unknown>;
    delete schema['$schema'];
    schema['$id'] = base + name;
    ajv.addSchema(schema);
  }
  const get = (n: string): ValidateFunction => {
    const v = ajv.getSchema(base + n);
    if (!v) throw new Error(`official ${n} missing`);
    return v;
  };
  return { config: get('config-schema.json'), state: get('state-schema.json'), features: get('features-schema.json') };
}
const official = loadOfficial();

function errorOf(fn: () => unknown): SpecValidationError | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof SpecValidationError) return e;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------

test('config mutations: verdicts and messages', () => {
  const problems: string[] = [];
  const divergences: string[] = [];
  for (const c of CONFIG_CASES) {
    const doc = baseConfig();
    c.edit(doc);
    const err = errorOf(() => validateConfig(doc));
    if (c.valid && err) problems.push(`${c.name}: expected valid, got ${err.message}`);
    if (!c.valid && !err) problems.push(`${c.name}: expected invalid, but it validated`);
    if (err && c.message !== undefined && err.message !== c.message) {
      problems.push(`${c.name}: message\n    got      ${err.message}\n    expected ${c.message}`);
    }
    if (official) {
      const theirs = official.config(doc) as boolean;
      const agrees = theirs === c.valid;
      if (!agrees && c.divergence === undefined) problems.push(`${c.name}: official schema says ${theirs ? 'valid' : 'invalid'} (undocumented divergence)`);
      if (agrees && c.divergence !== undefined) problems.push(`${c.name}: documented divergence no longer diverges`);
      if (!agrees) divergences.push(`${c.name} (${c.divergence ?? '?'})`);
    }
  }
  console.log(
    `config mutations: ${CONFIG_CASES.length} cases; ` +
      (official ? `${divergences.length} intentional divergences from the official schema` : 'official schemas not found, cross-check skipped'),
  );
  for (const d of divergences) console.log(`  divergence: ${d}`);
  assert.deepEqual(problems, []);
});

test('the memory limit example from the brief', () => {
  const doc = baseConfig();
  set(doc, '/linux/resources/memory/limit', 'lots');
  assert.throws(() => validateConfig(doc), (e: unknown) => {
    assert.ok(e instanceof SpecValidationError);
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'SpecValidationError');
    assert.equal(e.message, 'config.json: /linux/resources/memory/limit: must be integer');
    assert.equal(e.file, 'config.json');
    assert.deepEqual(e.details, ['config.json: /linux/resources/memory/limit: must be integer']);
    assert.ok(e.errors.length >= 1);
    return true;
  });
});

test('validateConfig returns the same object, typed', () => {
  const doc = baseConfig();
  const spec: Spec = validateConfig(doc);
  assert.equal(spec, doc);
  assert.equal(spec.linux?.resources?.memory?.limit, 536870912);
  assert.equal(spec.process?.user?.uid, 0);
});

test('custom file name in messages', () => {
  const err = errorOf(() => validateConfig({ ociVersion: 5, root: { path: 'rootfs' } }, '/run/bundle/config.json'));
  assert.equal(err?.message, '/run/bundle/config.json: /ociVersion: must be string');
});

test('non-object documents', () => {
  assert.equal(errorOf(() => validateConfig(null))?.message, 'config.json: /: must be object');
  assert.equal(errorOf(() => validateConfig([]))?.message, 'config.json: /: must be object');
  assert.equal(errorOf(() => validateState('running'))?.message, 'state.json: /: must be object');
});

test('formatValidationErrors: ranking, merging and limits', () => {
  assert.deepEqual(formatValidationErrors('config.json', null), []);
  assert.deepEqual(formatValidationErrors('config.json', []), []);
  const errors = [
    { instancePath: '/a', schemaPath: '#/anyOf', keyword: 'anyOf', params: {}, message: 'must match a schema in anyOf' },
    { instancePath: '/a/b/c', schemaPath: '#/x/type', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
    { instancePath: '/a/b', schemaPath: '#/y/pattern', keyword: 'pattern', params: { pattern: '^/' }, message: 'must match pattern "^/"' },
    { instancePath: '/a/b/c', schemaPath: '#/z/maximum', keyword: 'maximum', params: { limit: 1 }, message: 'must be <= 1' },
    { instancePath: '', schemaPath: '#/required', keyword: 'required', params: { missingProperty: 'q' }, message: "must have required property 'q'" },
  ];
  assert.deepEqual(formatValidationErrors('f.json', errors), [
    'f.json: /a/b/c: must be integer',
    'f.json: /a/b/c: must be <= 1',
    'f.json: /a/b: must match pattern "^/"',
  ]);
  assert.deepEqual(formatValidationErrors('f.json', errors, 1), ['f.json: /a/b/c: must be integer']);
  // Only summaries: still report something.
  assert.deepEqual(formatValidationErrors('f.json', [errors[0]!]), ['f.json: /a: must match a schema in anyOf']);
});

test('state documents', () => {
  const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 4422, bundle: '/run/bundles/c1', annotations: { a: 'b' } };
  assert.equal(validateState(state), state);
  assert.doesNotThrow(() => validateState({ ociVersion: '1.3.0', id: 'c1', status: 'stopped', bundle: '/b' }));
  assert.doesNotThrow(() => validateState({ ociVersion: '1.3.0', id: 'c1', status: 'paused', pid: 1, bundle: '/b' }), 'runtimes may add states');
  assert.doesNotThrow(() => validateState({ ...state, extra: true }));
  assert.equal(
    errorOf(() => validateState({ ociVersion: '1.3.0', id: 'c1', status: 'created', bundle: '/b' }))?.message,
    "state.json: /: must have required property 'pid'",
  );
  assert.equal(errorOf(() => validateState({ ...state, status: 3 }))?.message, 'state.json: /status: must be string');
  assert.equal(errorOf(() => validateState({ ...state, pid: '1' }))?.message, 'state.json: /pid: must be integer');
  const { id: _id, ...noId } = state;
  assert.equal(errorOf(() => validateState(noId))?.message, "state.json: /: must have required property 'id'");
  if (official) {
    assert.equal(official.state(state), true);
    assert.equal(official.state(noId), false);
  }
});

test('features documents', () => {
  const minimal = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0' };
  assert.doesNotThrow(() => validateFeatures(minimal));
  const full = {
    ...minimal,
    hooks: ['prestart', 'createRuntime', 'poststop'],
    mountOptions: ['ro', 'rbind', 'idmap'],
    potentiallyUnsafeConfigAnnotations: ['org.systemd.property.'],
    annotations: { 'org.example.version': '0.1.0' },
    linux: {
      namespaces: ['pid', 'time'],
      capabilities: ['CAP_KILL'],
      cgroup: { v1: false, v2: true, systemd: true, systemdUser: true, rdma: true },
      seccomp: { enabled: true, actions: ['SCMP_ACT_ALLOW'], operators: ['SCMP_CMP_EQ'], archs: ['SCMP_ARCH_X86_64'], knownFlags: [], supportedFlags: [] },
      apparmor: { enabled: true },
      selinux: { enabled: false },
      intelRdt: { enabled: true, schemata: true, monitoring: false },
      mountExtensions: { idmap: { enabled: true } },
      netDevices: { enabled: true },
      memoryPolicy: { modes: ['MPOL_BIND'], flags: ['MPOL_F_STATIC_NODES'] },
    },
  };
  assert.doesNotThrow(() => validateFeatures(full));
  const nulls = { ...minimal, hooks: null, mountOptions: null, annotations: null, linux: { namespaces: null, cgroup: null, seccomp: { enabled: null }, mountExtensions: { idmap: null } } };
  assert.doesNotThrow(() => validateFeatures(nulls), 'null is allowed for every optional property');
  assert.equal(errorOf(() => validateFeatures({ ociVersionMin: '1.0.0' }))?.message, "features.json: /: must have required property 'ociVersionMax'");
  assert.equal(errorOf(() => validateFeatures({ ...minimal, ociVersionMax: null }))?.message, 'features.json: /ociVersionMax: must be string');
  assert.equal(
    errorOf(() => validateFeatures({ ...minimal, linux: { cgroup: { v2: 'yes' } } }))?.message,
    'features.json: /linux/cgroup/v2: must be boolean or null',
  );
  assert.equal(errorOf(() => validateFeatures({ ...minimal, hooks: 'prestart' }))?.message, 'features.json: /hooks: must be array or null');
  assert.equal(errorOf(() => validateFeatures({ ...minimal, linux: 'yes' }))?.message, 'features.json: /linux: must be object or null');
  assert.equal(
    errorOf(() => validateFeatures({ ...minimal, linux: { mountExtensions: { idmap: { enabled: 1 } } } }))?.message,
    'features.json: /linux/mountExtensions/idmap/enabled: must be boolean or null',
  );
  if (official) {
    for (const doc of [minimal, full]) assert.equal(official.features(doc), true, JSON.stringify(official.features.errors));
    // Documented divergence: features.md allows null for every optional property; the official schema does not.
    assert.equal(official.features(nulls), false, 'divergence on null features properties no longer diverges');
  }
});
