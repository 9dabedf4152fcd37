// Device rules: runc's emulator semantics, the v1 write sequence, and the cgroup v2 BPF
// program (run here in a small eBPF interpreter for the instructions the generator emits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeviceEmulator, DeviceRuleError, containerDeviceRules, fromOci, ruleString, type DeviceRule } from '../../src/cgroups/devices';
import { attachDeviceFilter, deviceFilterProgram, encodeProgram, BPF_PROG_ATTACH, BPF_PROG_LOAD, BPF_PROG_QUERY, BPF_PROG_TYPE_CGROUP_DEVICE, type Insn } from '../../src/cgroups/bpf';
import { FakeSyscalls } from '../../src/linux/fake';

const c = (major: number, minor: number, access: string, allow = true): DeviceRule => ({ type: 'c', major, minor, access, allow });
const DENY_ALL: DeviceRule = { type: 'a', major: -1, minor: -1, access: 'rwm', allow: false };

test('transition from a fresh v1 cgroup (allow-all): deny-all first, then the allows sorted by major/minor (runc)', () => {
  const current = DeviceEmulator.fromList('a *:* rwm\n');
  const target = DeviceEmulator.fromRules([DENY_ALL, c(5, 0, 'rwm'), c(1, 3, 'rw'), c(1, 3, 'm'), { type: 'b', major: 8, minor: -1, access: 'r', allow: true }]);
  assert.deepEqual(current.transition(target).map((r) => `${r.allow ? 'allow' : 'deny'} ${ruleString(r)}`), ['deny a *:* rwm', 'allow c 1:3 rwm', 'allow c 5:0 rwm', 'allow b 8:* r']);
  // from the target state nothing is left to write
  assert.deepEqual(target.transition(target), []);
});

test('transition between two allow-lists only writes the differences; a deny-list goes through "a"', () => {
  const from = DeviceEmulator.fromList('c 1:3 rwm\nc 1:5 rw\n');
  const to = DeviceEmulator.fromRules([c(1, 3, 'r'), c(1, 9, 'rwm')]);
  assert.deepEqual(from.transition(to).map((r) => `${r.allow ? 'allow' : 'deny'} ${ruleString(r)}`), ['deny c 1:3 wm', 'deny c 1:5 rw', 'allow c 1:9 rwm']);
  const blacklist = DeviceEmulator.fromRules([{ type: 'a', major: -1, minor: -1, access: 'rwm', allow: true }, c(1, 3, 'w', false)]);
  assert.equal(blacklist.isBlacklist, true);
  assert.deepEqual(from.transition(blacklist).map((r) => `${r.allow ? 'allow' : 'deny'} ${ruleString(r)}`), ['allow a *:* rwm', 'deny c 1:3 w']);
});

test('a rule that would punch a hole in a wildcard is refused, as by the v1 kernel', () => {
  assert.throws(() => DeviceEmulator.fromRules([DENY_ALL, c(1, -1, 'rwm'), c(1, 3, 'r', false)]), (e: Error) => e instanceof DeviceRuleError && /cannot punch a hole/.test(e.message));
});

test('OCI rules: defaults and validation; runc appends its default devices after the config\'s rules', () => {
  assert.deepEqual(fromOci({ allow: false, access: 'rwm' }, 0), { type: 'a', major: -1, minor: -1, access: 'rwm', allow: false });
  assert.throws(() => fromOci({ allow: true, type: 'c' }, 3), /devices\[3\]\.access: device access cannot be empty/);
  const rules = containerDeviceRules({ ociVersion: '1.3.0', linux: { resources: { devices: [{ allow: false, access: 'rwm' }] }, devices: [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }] } });
  assert.deepEqual(rules[0], DENY_ALL);
  assert.ok(rules.some((r) => ruleString(r) === 'c 1:9 rwm'), '/dev/urandom allowed');
  assert.ok(!rules.some((r) => ruleString(r) === 'c 1:3 rwm'), 'the default /dev/null rule is left out when linux.devices lists /dev/null');
  // The config's deny of a default device is undone by the defaults that follow (runc).
  const emu = DeviceEmulator.fromRules(containerDeviceRules({ ociVersion: '1.3.0', linux: { resources: { devices: [DENY_ALL, c(1, 8, 'rwm', false)] } } }));
  assert.equal(emu.rules.get('c 1 8')?.access, 'rwm');
});

/** Runs a CGROUP_DEVICE program on (type, major, minor, access). */
function runProgram(insns: Insn[], type: 'c' | 'b', major: number, minor: number, access: string): number {
  const acc = [...access].reduce((a, p) => a | (p === 'm' ? 1 : p === 'r' ? 2 : 4), 0);
  const ctx = [(acc << 16) | (type === 'c' ? 2 : 1), major >>> 0, minor >>> 0];
  const r = new Array<bigint>(11).fill(0n);
  const u32 = (v: bigint) => v & 0xffffffffn;
  const s64 = (imm: number) => BigInt.asUintN(64, BigInt(imm));
  for (let pc = 0, steps = 0; steps < 10_000; steps++) {
    const x = insns[pc]!;
    const off = x.off as number;
    switch (x.code) {
      case 0x61:
        r[x.dst] = BigInt(ctx[off / 4]!);
        break;
      case 0x54:
        r[x.dst] = u32(r[x.dst]!) & u32(s64(x.imm));
        break;
      case 0x74:
        r[x.dst] = u32(r[x.dst]!) >> BigInt(x.imm);
        break;
      case 0xb4:
        r[x.dst] = u32(s64(x.imm));
        break;
      case 0xbc:
        r[x.dst] = u32(r[x.src]!);
        break;
      case 0x55:
        if (r[x.dst] !== s64(x.imm)) pc += off;
        break;
      case 0x5d:
        if (r[x.dst] !== r[x.src]) pc += off;
        break;
      case 0x95:
        return Number(r[0]);
      default:
        throw new Error(`unexpected opcode ${x.code.toString(16)}`);
    }
    pc++;
  }
  throw new Error('program did not terminate');
}

test('BPF device filter: allow-list semantics match the emulator (types, wildcards, access subsets)', () => {
  const rules = [DENY_ALL, c(1, 3, 'rwm'), c(1, 9, 'r'), { type: 'b', major: 8, minor: -1, access: 'rw', allow: true } as DeviceRule, c(136, -1, 'rwm'), { type: 'c', major: -1, minor: -1, access: 'm', allow: true } as DeviceRule];
  const prog = deviceFilterProgram(rules);
  const cases: Array<[type: 'c' | 'b', number, number, string, number]> = [
    ['c', 1, 3, 'rw', 1],
    ['c', 1, 3, 'm', 1],
    ['b', 1, 3, 'r', 0], // block, not char
    ['c', 1, 9, 'r', 1],
    ['c', 1, 9, 'rw', 0], // write not in the rule
    ['b', 8, 0, 'rw', 1],
    ['b', 8, 17, 'r', 1],
    ['b', 8, 0, 'm', 0],
    ['c', 136, 4, 'rw', 1],
    ['c', 240, 0, 'r', 0], // not listed
    ['c', 240, 0, 'm', 1], // mknod of any char device
  ];
  for (const [t, ma, mi, acc, want] of cases) assert.equal(runProgram(prog, t, ma, mi, acc), want, `${t} ${ma}:${mi} ${acc}`);
  // deny-list mode: everything allowed except the exceptions
  const deny = deviceFilterProgram([{ type: 'a', major: -1, minor: -1, access: 'rwm', allow: true }, c(1, 3, 'w', false)]);
  assert.equal(runProgram(deny, 'c', 1, 3, 'w'), 0);
  assert.equal(runProgram(deny, 'c', 1, 3, 'r'), 1);
  assert.equal(runProgram(deny, 'b', 7, 0, 'rwm'), 1);
  // encoding: 8 bytes per instruction, registers packed dst | src << 4, jumps resolved
  const bytes = encodeProgram(prog);
  assert.equal(bytes.length, prog.length * 8);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
  assert.ok(prog.every((i) => typeof i.off === 'number'));
});

test('attachDeviceFilter: query, load (CGROUP_DEVICE, license, program bytes), attach with ALLOW_MULTI, close fds', () => {
  const sys = new FakeSyscalls();
  sys.stub('bpf', (cmd, attr) => {
    if (cmd !== BPF_PROG_QUERY) return 77;
    attr.writeUInt32LE(0, 24); // the kernel sets prog_cnt: no program attached yet
    return 0;
  });
  attachDeviceFilter(sys, '/sys/fs/cgroup/x', [DENY_ALL, c(1, 3, 'rwm')]);
  const calls = sys.callsTo('bpf');
  assert.deepEqual(calls.map((a) => a[0]), [BPF_PROG_QUERY, BPF_PROG_LOAD, BPF_PROG_ATTACH]);
  const load = calls[1]![1] as Buffer;
  assert.equal(load.readUInt32LE(0), BPF_PROG_TYPE_CGROUP_DEVICE);
  assert.equal(load.readUInt32LE(4), deviceFilterProgram([DENY_ALL, c(1, 3, 'rwm')]).length);
  const attach = calls[2]![1] as Buffer;
  assert.equal(attach.readUInt32LE(4), 77, 'the loaded program is attached');
  assert.equal(attach.readUInt32LE(8), 6, 'BPF_CGROUP_DEVICE');
  assert.equal(attach.readUInt32LE(12), 2, 'BPF_F_ALLOW_MULTI');
  assert.deepEqual(sys.callsTo('close').map((a) => a[0]).sort(), [77, attach.readUInt32LE(0)].sort());
});
