// The CRI test client's codec (test/helpers/protobuf.ts, grpc.ts): byte-exact encodings from the
// protobuf encoding guide, negative and 64-bit integers, maps, nested and repeated messages,
// unknown fields skipped, gRPC framing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, ProtobufError } from '../helpers/protobuf';
import { frame, unframe, GrpcError } from '../helpers/grpc';
import { RuntimeService } from '../helpers/cri';

const hex = (b: Buffer) => b.toString('hex');

test('varint and string fields encode as in the protobuf encoding guide', () => {
  assert.equal(hex(encodeMessage({ a: [1, 'int32'] } as const, { a: 150 })), '089601');
  assert.equal(hex(encodeMessage({ b: [2, 'string'] } as const, { b: 'testing' })), '120774657374696e67');
  assert.equal(hex(encodeMessage({ t: [1, 'bool'] } as const, { t: true })), '0801');
});

test('negative int32 and int64 take ten bytes and decode back; int64 keeps 64 bits', () => {
  const schema = { small: [1, 'int32'], big: [2, 'int64'] } as const;
  const bytes = encodeMessage(schema, { small: -1, big: -2n });
  assert.equal(hex(bytes), '08ffffffffffffffffff01' + '10feffffffffffffffff01');
  assert.deepEqual(decodeMessage(schema, bytes), { small: -1, big: -2n });
  const ns = 1795398304972483858n;
  assert.equal(decodeMessage(schema, encodeMessage(schema, { big: ns })).big, ns);
});

test('nested messages, repeated strings and messages, and maps round-trip', () => {
  const Inner = { name: [1, 'string'], n: [2, 'uint32'] } as const;
  const Outer = {
    inner: [1, Inner],
    list: [2, 'string', 'repeated'],
    items: [3, Inner, 'repeated'],
    labels: [4, 'string', 'map'],
    data: [5, 'bytes'],
  } as const;
  const value = {
    inner: { name: 'x', n: 7 },
    list: ['sh', '-c', ''],
    items: [{ name: 'a', n: 0 }, { name: 'b', n: 4294967295 }],
    labels: { app: 'tsrun', empty: '' },
    data: Buffer.from([0, 1, 2]),
  };
  assert.deepEqual(decodeMessage(Outer, encodeMessage(Outer, value)), value);
});

test('decoding fills proto3 defaults and skips fields the schema does not name', () => {
  const wide = { a: [1, 'string'], skipVarint: [2, 'int64'], skipBytes: [3, 'string'], c: [4, 'int32'] } as const;
  const narrow = { a: [1, 'string'], c: [4, 'int32'], absent: [5, 'string'], list: [6, 'string', 'repeated'], m: [7, 'string', 'map'] } as const;
  const bytes = encodeMessage(wide, { a: 'kept', skipVarint: 123456789n, skipBytes: 'ignored', c: 9 });
  // fixed64 (wire type 1) and fixed32 (wire type 5) fields are skipped too
  const withFixed = Buffer.concat([bytes, Buffer.from('4901020304050607085d01020304', 'hex')]);
  assert.deepEqual(decodeMessage(narrow, withFixed), { a: 'kept', c: 9, absent: '', list: [], m: {} });
});

test('encoding errors name the field path; malformed input is refused', () => {
  const schema = { outer: [1, { inner: [1, 'uint32'] }] } as const;
  assert.throws(() => encodeMessage(schema, { outer: { inner: -1 } }, 'Req'), (e: Error) => e instanceof ProtobufError && e.message === 'Req.outer.inner: -1 is not a valid uint32');
  assert.throws(() => encodeMessage(schema, { outr: {} } as never, 'Req'), /: Req\.outr: no such field in the schema$/);
  assert.throws(() => decodeMessage({ s: [1, 'string'] } as const, Buffer.from('0a05ab', 'hex')), /runs past the end/);
  assert.throws(() => decodeMessage({ s: [1, 'string'] } as const, Buffer.from('0801', 'hex')), /message\.s: wrong wire type for a string/);
});

test('the CRI schemas encode a RunPodSandbox request with the api.proto field numbers', () => {
  const rpc = RuntimeService.RunPodSandbox;
  assert.equal(rpc.path, '/runtime.v1.RuntimeService/RunPodSandbox');
  // config (1) { metadata (1) { name (1) "p" } linux (8) { security_context (2) { namespace_options (1) { network (1) NODE=2 } } } }, runtime_handler (2) "tsrun"
  const bytes = encodeMessage(rpc.request, { config: { metadata: { name: 'p' }, linux: { securityContext: { namespaceOptions: { network: 2 } } } }, runtimeHandler: 'tsrun' });
  assert.equal(hex(bytes), '0a0d' + '0a030a0170' + '4206' + '1204' + '0a02' + '0802' + '1205' + Buffer.from('tsrun').toString('hex'));
});

test('gRPC framing: 5-byte header, several messages, truncation and compression refused', () => {
  const a = frame(Buffer.from('ab'));
  assert.equal(hex(a), '00000000026162');
  assert.deepEqual(unframe(Buffer.concat([a, frame(Buffer.alloc(0))]), 'M'), [Buffer.from('ab'), Buffer.alloc(0)]);
  assert.throws(() => unframe(a.subarray(0, 6), 'M'), (e: Error) => e instanceof GrpcError && /M: transport: frame of 2 bytes truncated to 1/.test(e.message));
  assert.throws(() => unframe(Buffer.from('0100000000', 'hex'), 'M'), /compressed frame/);
});
