// D-Bus messages: the fixed header (endianness, type, flags, version, body length, serial),
// the header fields array a(yv), padding to 8, then the body.
import { DBusMarshalError, Reader, Variant, Writer, splitSignature, unmarshal, type DBusValue } from './marshal';

export const METHOD_CALL = 1;
export const METHOD_RETURN = 2;
export const ERROR = 3;
export const SIGNAL = 4;

/** Flag: the sender does not want a reply. */
export const NO_REPLY_EXPECTED = 0x1;

export interface DBusMessage {
  type: number;
  flags?: number;
  serial?: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: DBusValue[];
}

// Header field codes and the type of their value.
const FIELDS: Array<[keyof DBusMessage, number, string]> = [
  ['path', 1, 'o'],
  ['interface', 2, 's'],
  ['member', 3, 's'],
  ['errorName', 4, 's'],
  ['replySerial', 5, 'u'],
  ['destination', 6, 's'],
  ['sender', 7, 's'],
  ['signature', 8, 'g'],
];

/** Largest message the specification allows (128 MiB). */
const MAX_MESSAGE = 128 * 1024 * 1024;

export function encodeMessage(m: DBusMessage, serial: number): Buffer {
  if (m.type === METHOD_CALL && (!m.path || !m.member)) throw new DBusMarshalError('a method call needs a path and a member');
  if (m.type === SIGNAL && (!m.path || !m.interface || !m.member)) throw new DBusMarshalError('a signal needs a path, an interface and a member');
  if (m.type === ERROR && (!m.errorName || m.replySerial === undefined)) throw new DBusMarshalError('an error needs an error name and a reply serial');
  if (m.type === METHOD_RETURN && m.replySerial === undefined) throw new DBusMarshalError('a method return needs a reply serial');
  const signature = m.signature ?? '';
  const body = new Writer();
  body.writeAll(signature, m.body ?? []);
  const bodyBytes = body.result();

  const w = new Writer();
  w.bytes(Buffer.from([0x6c /* 'l' */, m.type, m.flags ?? 0, 1]));
  w.write('u', bodyBytes.length);
  w.write('u', serial);
  const fields: DBusValue[] = [];
  for (const [key, code, type] of FIELDS) {
    const v = key === 'signature' ? (signature === '' ? undefined : signature) : m[key];
    if (v !== undefined) fields.push([code, new Variant(type, v as DBusValue)]);
  }
  w.write('a(yv)', fields, 'header fields');
  w.align(8);
  w.bytes(bodyBytes);
  return Buffer.from(w.result());
}

/**
 * Reads one message from the start of `buf`: null when more bytes are needed, else the
 * message and its length.
 */
export function decodeMessage(buf: Buffer): { message: DBusMessage; length: number } | null {
  if (buf.length < 16) return null;
  const endian = buf[0];
  if (endian !== 0x6c && endian !== 0x42) throw new DBusMarshalError(`invalid endianness byte 0x${(endian ?? 0).toString(16)}`);
  const le = endian === 0x6c;
  if (buf[3] !== 1) throw new DBusMarshalError(`unsupported protocol version ${buf[3]}`);
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerEnd = 16 + fieldsLength;
  const total = headerEnd + ((8 - (headerEnd % 8)) % 8) + bodyLength;
  if (total > MAX_MESSAGE) throw new DBusMarshalError(`message of ${total} bytes is larger than 128 MiB`);
  if (buf.length < total) return null;
  const r = new Reader(buf.subarray(0, total), 0, le);
  r.read('y');
  const type = r.read('y') as number;
  const flags = r.read('y') as number;
  r.read('y');
  r.read('u');
  const serial = r.read('u') as number;
  const fields = r.read('a(yv)') as Array<[number, Variant]>;
  r.align(8);
  const m: DBusMessage = { type, flags, serial };
  for (const [code, v] of fields) {
    const f = FIELDS.find((x) => x[1] === code);
    if (!f) continue; // unknown fields are ignored, as the specification says
    if (v.signature !== f[2]) throw new DBusMarshalError(`header field ${f[0]} has type ${v.signature}, not ${f[2]}`);
    (m as unknown as Record<string, unknown>)[f[0]] = v.value;
  }
  const body = buf.subarray(r.offset, total);
  const signature = m.signature ?? '';
  if (signature === '' && body.length > 0) throw new DBusMarshalError('message has a body but no signature');
  splitSignature(signature);
  m.body = signature === '' ? [] : unmarshal(signature, Buffer.from(body), le);
  return { message: m, length: total };
}
