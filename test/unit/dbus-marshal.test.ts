// The D-Bus wire format: round trips, alignment, variants, nested containers, and refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DBusMarshalError, Variant, marshal, splitSignature, unmarshal, type DBusValue } from '../../src/dbus/marshal';
import { decodeMessage, encodeMessage, METHOD_CALL, SIGNAL, ERROR } from '../../src/dbus/message';

const hex = (b: Buffer) => b.toString('hex');

test('basic types: exact little-endian bytes with natural alignment', () => {
  // y then u: 3 bytes of padding; y then t: 7; a string is length + bytes + nul.
  assert.equal(hex(marshal('yu', [1, 0x01020304])), '01000000' + '04030201');
  assert.equal(hex(marshal('yt', [0xff, 2n ** 64n - 1n])), 'ff00000000000000' + 'ffffffffffffffff');
  assert.equal(hex(marshal('yn', [1, -2])), '0100' + 'feff');
  assert.equal(hex(marshal('s', ['ab'])), '02000000' + '6162' + '00');
  assert.equal(hex(marshal('g', ['a{sv}'])), '05' + Buffer.from('a{sv}').toString('hex') + '00');
  assert.equal(hex(marshal('yb', [7, true])), '07000000' + '01000000');
  assert.equal(hex(marshal('yd', [0, 1.5])), '00'.repeat(8) + '000000000000f83f');
  assert.equal(hex(marshal('yx', [0, -1n])), '00'.repeat(8) + 'ff'.repeat(8));
});

test('arrays: the length excludes the padding before the first 8-aligned element', () => {
  // a(yy) at offset 0: length 4 at 0..3, padding 4..7, elements from 8.
  const b = marshal('a(yy)', [[[1, 2], [3, 4]]]);
  assert.equal(hex(b), '0a000000' + '00000000' + '0102' + '000000000000' + '0304');
  // empty array of 8-aligned elements still pads to the element boundary
  assert.equal(hex(marshal('at', [[]])), '00000000' + '00000000');
  assert.equal(hex(marshal('ay', [Buffer.from([9, 8])])), '02000000' + '0908');
});

test('round trips of every type, nested arrays, dicts and variants', () => {
  const cases: Array<[string, DBusValue[]]> = [
    ['ybnqiuxtd', [255, false, -32768, 65535, -2147483648, 4294967295, -(2n ** 63n), 2n ** 64n - 1n, -0.25]],
    ['sog', ['héllo wörld', '/org/freedesktop/systemd1/unit/a_2escope', 'a(sv)']],
    ['aas', [[['a', 'bb'], [], ['ccc']]]],
    ['aat', [[[1n, 2n], [], [3n]]]],
    ['a{sv}', [[['one', new Variant('u', 1)], ['two', new Variant('as', ['x', 'y'])], ['three', new Variant('v', new Variant('s', 'deep'))]]]],
    ['a(sv)', [[['PIDs', new Variant('au', [1, 2, 3])], ['Delegate', new Variant('b', true)], ['AllowedCPUs', new Variant('ay', Buffer.from([5]))]]]],
    ['ssa(sv)a(sa(sv))', ['x.scope', 'replace', [['MemoryMax', new Variant('t', 1048576n)]], [['aux', [['k', new Variant('s', 'v')]]]]]],
    ['(i(sa{ib}))', [[7, ['n', [[1, true], [2, false]]]]]],
    ['ay', [Buffer.alloc(0)]],
  ];
  for (const [sig, values] of cases) {
    const out = unmarshal(sig, marshal(sig, values));
    assert.deepEqual(out, values, sig);
  }
});

test('numbers given as safe integers are accepted for 64-bit types; ay accepts number[]', () => {
  assert.deepEqual(unmarshal('t', marshal('t', [42])), [42n]);
  assert.deepEqual(unmarshal('ay', marshal('ay', [[1, 2, 3]])), [Buffer.from([1, 2, 3])]);
});

test('signatures: split into complete types, invalid ones refused', () => {
  assert.deepEqual(splitSignature('a{sv}as(ii)v'), ['a{sv}', 'as', '(ii)', 'v']);
  for (const bad of ['a', '(i', 'a{vs}', 'a{sss}', '()', 'z', ')', '{sv}x'.slice(0, 4)]) {
    assert.throws(() => splitSignature(bad), DBusMarshalError, bad);
  }
  assert.throws(() => splitSignature('a'.repeat(33) + 'i'), /nested deeper than 32/);
});

test('values that do not fit their type are refused with the place and the value', () => {
  assert.throws(() => marshal('u', [-1]), /argument 0 \(u\): out of range 0\.\.4294967295: -1/);
  assert.throws(() => marshal('y', [256]), /out of range/);
  assert.throws(() => marshal('i', [1.5]), /not an integer/);
  assert.throws(() => marshal('t', [-1n]), /out of range/);
  assert.throws(() => marshal('x', [2 ** 60]), /not a 64-bit integer/);
  assert.throws(() => marshal('o', ['not/a/path']), /not a valid object path/);
  assert.throws(() => marshal('o', ['/trailing/']), /not a valid object path/);
  assert.throws(() => marshal('s', ['a\0b']), /nul character/);
  assert.throws(() => marshal('as', [['a', 1 as unknown as string]]), /argument 0\[1\] \(s\): not a string/);
  assert.throws(() => marshal('(is)', [[1]]), /not an array of 2 fields/);
  assert.throws(() => marshal('v', ['plain']), /not a Variant/);
  assert.throws(() => marshal('v', [new Variant('ss', 'x')]), /exactly one complete type/);
  assert.throws(() => marshal('ss', ['one']), /2 types but 1 values/);
});

test('malformed input is refused: truncation, bad padding, bad booleans, overrun, leftovers', () => {
  const good = marshal('yu', [1, 2]);
  assert.throws(() => unmarshal('yu', good.subarray(0, 6)), /truncated/);
  const badPad = Buffer.from(good);
  badPad[2] = 1;
  assert.throws(() => unmarshal('yu', badPad), /non-zero padding/);
  assert.throws(() => unmarshal('b', Buffer.from('02000000', 'hex')), /neither 0 nor 1/);
  assert.throws(() => unmarshal('s', Buffer.from('0200000061620a', 'hex')), /not nul-terminated/);
  // array claiming 3 bytes of u32 elements: the element read overruns it
  assert.throws(() => unmarshal('au', Buffer.from('03000000' + '01000000', 'hex')), /overrun|truncated/);
  assert.throws(() => unmarshal('y', Buffer.from('0102', 'hex')), /1 bytes left/);
  assert.throws(() => unmarshal('v', Buffer.from('02' + Buffer.from('ii').toString('hex') + '00', 'hex')), /not one complete type/);
});

test('big-endian bodies are read too', () => {
  assert.deepEqual(unmarshal('yus', Buffer.from('01000000' + '00000102' + '00000001' + '6100', 'hex'), false), [1, 258, 'a']);
});

test('messages: header fields, body, decoding from a stream in pieces', () => {
  const call = encodeMessage({ type: METHOD_CALL, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'StopUnit', destination: 'org.freedesktop.systemd1', signature: 'ss', body: ['x.scope', 'replace'] }, 7);
  assert.equal(call[0], 0x6c);
  assert.equal(decodeMessage(call.subarray(0, 15)), null, 'fixed header incomplete');
  assert.equal(decodeMessage(call.subarray(0, call.length - 1)), null, 'body incomplete');
  const two = Buffer.concat([call, encodeMessage({ type: SIGNAL, path: '/a', interface: 'a.b', member: 'C', signature: 'uos', body: [1, '/j/1', 'done'] }, 8)]);
  const first = decodeMessage(two)!;
  assert.equal(first.length, call.length);
  assert.deepEqual(first.message, {
    type: METHOD_CALL, flags: 0, serial: 7, path: '/org/freedesktop/systemd1', interface: 'org.freedesktop.systemd1.Manager', member: 'StopUnit',
    destination: 'org.freedesktop.systemd1', signature: 'ss', body: ['x.scope', 'replace'],
  });
  const second = decodeMessage(two.subarray(first.length))!;
  assert.equal(second.message.member, 'C');
  assert.deepEqual(second.message.body, [1, '/j/1', 'done']);
  assert.throws(() => encodeMessage({ type: ERROR, errorName: 'x.y' }, 1), /reply serial/);
  assert.throws(() => encodeMessage({ type: METHOD_CALL, member: 'X' }, 1), /path and a member/);
  const corrupt = Buffer.from(call);
  corrupt[0] = 0x78;
  assert.throws(() => decodeMessage(corrupt), /endianness/);
});
