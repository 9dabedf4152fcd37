// A small proto3 codec for tests. A message is described by a schema of only the fields a test
// uses, each `[field number, type, label?]`; maps are string to string (repeated entries of
// key = 1, value = 2). Decoding skips fields the schema does not name and fills proto3 defaults
// for the scalars it does name. Packed repeated numbers and groups are not supported.
export type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64' | 'uint32' | 'enum';
export type Field = readonly [no: number, type: Scalar | Schema, label?: 'repeated' | 'map'];
export interface Schema {
  readonly [name: string]: Field;
}

type Value<T> = T extends 'string'
  ? string
  : T extends 'bytes'
    ? Buffer
    : T extends 'bool'
      ? boolean
      : T extends 'int64'
        ? bigint
        : T extends 'int32' | 'uint32' | 'enum'
          ? number
          : T extends Schema
            ? Message<T>
            : never;

/** The JavaScript form of a message of schema S: every field optional, as in proto3. */
export type Message<S extends Schema> = {
  -readonly [K in keyof S]?: S[K][2] extends 'repeated' ? Value<S[K][1]>[] : S[K][2] extends 'map' ? Record<string, string> : Value<S[K][1]>;
};

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

export class ProtobufError extends Error {}

// ---- encoding ------------------------------------------------------------------------------

function varint(value: bigint): Buffer {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

const tag = (no: number, wireType: number): Buffer => varint(BigInt((no << 3) | wireType));

function lengthDelimited(no: number, payload: Buffer): Buffer {
  return Buffer.concat([tag(no, LENGTH_DELIMITED), varint(BigInt(payload.length)), payload]);
}

function integer(value: unknown, type: Scalar, path: string): bigint {
  const ranges: Partial<Record<Scalar, [bigint, bigint]>> = {
    int32: [-(2n ** 31n), 2n ** 31n - 1n],
    enum: [-(2n ** 31n), 2n ** 31n - 1n],
    uint32: [0n, 2n ** 32n - 1n],
    int64: [-(2n ** 63n), 2n ** 63n - 1n],
  };
  const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isInteger(value) ? BigInt(value) : undefined;
  const [min, max] = ranges[type]!;
  if (n === undefined || n < min || n > max) throw new ProtobufError(`${path}: ${String(value)} is not a valid ${type}`);
  return n;
}

function encodeField(no: number, type: Scalar | Schema, value: unknown, path: string): Buffer {
  if (typeof type === 'object') {
    if (typeof value !== 'object' || value === null) throw new ProtobufError(`${path}: a message must be an object`);
    return lengthDelimited(no, encodeMessage(type, value as Record<string, unknown>, path));
  }
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw new ProtobufError(`${path}: must be a string`);
      return lengthDelimited(no, Buffer.from(value, 'utf8'));
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw new ProtobufError(`${path}: must be a Buffer`);
      return lengthDelimited(no, value);
    case 'bool':
      if (typeof value !== 'boolean') throw new ProtobufError(`${path}: must be a boolean`);
      return Buffer.concat([tag(no, VARINT), varint(value ? 1n : 0n)]);
    default:
      return Buffer.concat([tag(no, VARINT), varint(integer(value, type, path))]);
  }
}

/** Encodes `value` as a message of `schema`; a key the schema does not name is an error. */
export function encodeMessage<S extends Schema>(schema: S, value: Message<S> | Record<string, unknown>, path = 'message'): Buffer {
  const parts: Buffer[] = [];
  for (const [name, fieldValue] of Object.entries(value)) {
    const field = schema[name];
    const at = `${path}.${name}`;
    if (!field) throw new ProtobufError(`${at}: no such field in the schema`);
    if (fieldValue === undefined) continue;
    const [no, type, label] = field;
    if (label === 'map') {
      for (const [k, v] of Object.entries(fieldValue as Record<string, unknown>)) {
        parts.push(lengthDelimited(no, Buffer.concat([encodeField(1, 'string', k, `${at}[key]`), encodeField(2, 'string', v, `${at}[${k}]`)])));
      }
    } else if (label === 'repeated') {
      if (!Array.isArray(fieldValue)) throw new ProtobufError(`${at}: a repeated field must be an array`);
      if (typeof type === 'string' && type !== 'string' && type !== 'bytes') throw new ProtobufError(`${at}: repeated ${type} (packed) is not supported`);
      fieldValue.forEach((item, i) => parts.push(encodeField(no, type, item, `${at}[${i}]`)));
    } else {
      parts.push(encodeField(no, type, fieldValue, at));
    }
  }
  return Buffer.concat(parts);
}

// ---- decoding ------------------------------------------------------------------------------

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly path: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new ProtobufError(`${this.path}: truncated varint`);
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
    }
    throw new ProtobufError(`${this.path}: varint longer than 10 bytes`);
  }

  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new ProtobufError(`${this.path}: field of ${n} bytes runs past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.take(8);
    else if (wireType === LENGTH_DELIMITED) this.take(Number(this.varint()));
    else if (wireType === FIXED32) this.take(4);
    else throw new ProtobufError(`${this.path}: unsupported wire type ${wireType}`);
  }
}

function decodeScalar(type: Scalar, raw: bigint | Buffer, path: string): unknown {
  const expectBuffer = type === 'string' || type === 'bytes';
  if (expectBuffer !== Buffer.isBuffer(raw)) throw new ProtobufError(`${path}: wrong wire type for a ${type}`);
  switch (type) {
    case 'string':
      return (raw as Buffer).toString('utf8');
    case 'bytes':
      return Buffer.from(raw as Buffer);
    case 'bool':
      return raw !== 0n;
    case 'int64':
      return BigInt.asIntN(64, raw as bigint);
    case 'uint32':
      return Number(BigInt.asUintN(32, raw as bigint));
    default: // int32, enum: sign-extended to 64 bits on the wire
      return Number(BigInt.asIntN(32, raw as bigint));
  }
}

const DEFAULTS: Record<Scalar, () => unknown> = {
  string: () => '',
  bytes: () => Buffer.alloc(0),
  bool: () => false,
  int32: () => 0,
  uint32: () => 0,
  enum: () => 0,
  int64: () => 0n,
};

/** Decodes a message of `schema`: named fields only, proto3 defaults for absent scalars. */
export function decodeMessage<S extends Schema>(schema: S, buf: Buffer, path = 'message'): Message<S> {
  const byNumber = new Map<number, [string, Field]>();
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(schema)) {
    byNumber.set(field[0], [name, field]);
    const [, type, label] = field;
    if (label === 'repeated') out[name] = [];
    else if (label === 'map') out[name] = {};
    else if (typeof type === 'string') out[name] = DEFAULTS[type]();
  }
  const r = new Reader(buf, path);
  while (!r.done) {
    const key = r.varint();
    const no = Number(key >> 3n);
    const wireType = Number(key & 7n);
    const known = byNumber.get(no);
    if (!known) {
      r.skip(wireType);
      continue;
    }
    const [name, [, type, label]] = known;
    const at = `${path}.${name}`;
    let raw: bigint | Buffer;
    if (wireType === VARINT) raw = r.varint();
    else if (wireType === LENGTH_DELIMITED) raw = r.take(Number(r.varint()));
    else throw new ProtobufError(`${at}: unexpected wire type ${wireType}`);
    if (label === 'map') {
      if (!Buffer.isBuffer(raw)) throw new ProtobufError(`${at}: a map entry must be length-delimited`);
      const entry = decodeMessage({ key: [1, 'string'], value: [2, 'string'] } as const, raw, at);
      (out[name] as Record<string, string>)[entry.key!] = entry.value!;
    } else {
      let value: unknown;
      if (typeof type === 'object') {
        if (!Buffer.isBuffer(raw)) throw new ProtobufError(`${at}: a message must be length-delimited`);
        value = decodeMessage(type, raw, at);
      } else {
        value = decodeScalar(type, raw, at);
      }
      if (label === 'repeated') (out[name] as unknown[]).push(value);
      else out[name] = value;
    }
  }
  return out as Message<S>;
}
