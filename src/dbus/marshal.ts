// The D-Bus wire format (the specification's "Marshaling" section): every value aligned to its
// natural boundary from the start of the message, strings with a length and a nul, arrays with
// a byte length that does not count the padding before their first element, structs and dict
// entries on 8 bytes, variants as a signature followed by the value.
//
// Values in JavaScript: y n q i u h d → number; x t → bigint (a safe integer number is accepted
// when writing); b → boolean; s o g → string; ay → Buffer (number[] accepted when writing);
// other arrays → arrays; structs and dict entries → arrays of their fields ([key, value]);
// v → Variant.

export class DBusMarshalError extends Error {}

/** A variant: the signature of one complete type and a value of it. */
export class Variant {
  constructor(
    readonly signature: string,
    readonly value: DBusValue,
  ) {}
}

export type DBusValue = number | bigint | boolean | string | Buffer | Variant | DBusValue[];

const MAX_ARRAY = 64 * 1024 * 1024;
const MAX_DEPTH = 32;
const BASIC = 'ybnqiuxtdhsog';
const FIXED_SIZE: Record<string, number> = { y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, x: 8, t: 8, d: 8, h: 4 };

/** The alignment of the type whose signature starts with `c`. */
export function alignment(c: string): number {
  if (c === 's' || c === 'o' || c === 'a') return 4;
  if (c === 'g' || c === 'v') return 1;
  if (c === '(' || c === '{') return 8;
  const n = FIXED_SIZE[c];
  if (n === undefined) throw new DBusMarshalError(`unknown type code ${JSON.stringify(c)}`);
  return n;
}

/** Length of the single complete type starting at sig[i] (validated). */
function completeTypeLength(sig: string, i: number, depth: { arrays: number; structs: number }): number {
  const c = sig[i];
  if (c === undefined) throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: ends in the middle of a type`);
  if (BASIC.includes(c) || c === 'v') return 1;
  if (c === 'a') {
    if (++depth.arrays > MAX_DEPTH) throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: arrays nested deeper than ${MAX_DEPTH}`);
    let n: number;
    if (sig[i + 1] === '{') {
      const key = sig[i + 2];
      if (key === undefined || !BASIC.includes(key)) throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: a dict entry key must be a basic type`);
      const vlen = completeTypeLength(sig, i + 3, depth);
      if (sig[i + 3 + vlen] !== '}') throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: a dict entry has exactly two types`);
      n = 4 + vlen;
    } else n = 1 + completeTypeLength(sig, i + 1, depth);
    depth.arrays--;
    return n;
  }
  if (c === '(') {
    if (++depth.structs > MAX_DEPTH) throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: structs nested deeper than ${MAX_DEPTH}`);
    let j = i + 1;
    if (sig[j] === ')') throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: empty struct`);
    while (sig[j] !== ')') {
      if (sig[j] === undefined) throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: unclosed struct`);
      j += completeTypeLength(sig, j, depth);
    }
    depth.structs--;
    return j + 1 - i;
  }
  throw new DBusMarshalError(`signature ${JSON.stringify(sig)}: unexpected ${JSON.stringify(c)}`);
}

/** Splits a signature into its complete types ("a{sv}as" → ["a{sv}", "as"]); throws if invalid. */
export function splitSignature(sig: string): string[] {
  if (sig.length > 255) throw new DBusMarshalError(`signature longer than 255 bytes`);
  const out: string[] = [];
  for (let i = 0; i < sig.length; ) {
    const n = completeTypeLength(sig, i, { arrays: 0, structs: 0 });
    out.push(sig.slice(i, i + n));
    i += n;
  }
  return out;
}

/** The field types of a struct or dict entry type "(...)" / "{...}". */
function innerTypes(type: string): string[] {
  return splitSignature(type.slice(1, -1));
}

const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

export class Writer {
  private buf = Buffer.alloc(256);
  private len = 0;

  /** `littleEndian` only; offsets are counted from the start of this writer (a message). */
  get length(): number {
    return this.len;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  align(n: number): void {
    const pad = (n - (this.len % n)) % n;
    this.reserve(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }

  bytes(b: Buffer): void {
    this.reserve(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  setUint32(offset: number, v: number): void {
    this.buf.writeUInt32LE(v, offset);
  }

  /** Writes the values of a signature (each element of `values` one complete type). */
  writeAll(signature: string, values: readonly DBusValue[]): void {
    const types = splitSignature(signature);
    if (types.length !== values.length) throw new DBusMarshalError(`signature ${JSON.stringify(signature)} has ${types.length} types but ${values.length} values were given`);
    types.forEach((t, i) => this.write(t, values[i]!, `argument ${i}`));
  }

  write(type: string, value: DBusValue, where = 'value'): void {
    const c = type[0]!;
    const bad = (why: string): never => {
      throw new DBusMarshalError(`${where} (${type}): ${why}: ${describeValue(value)}`);
    };
    const int = (lo: number, hi: number): number => {
      if (typeof value === 'boolean' && c === 'y') return value ? 1 : 0;
      if (typeof value !== 'number' || !Number.isInteger(value)) bad('not an integer');
      const n = value as number;
      if (n < lo || n > hi) bad(`out of range ${lo}..${hi}`);
      return n;
    };
    const big = (lo: bigint, hi: bigint): bigint => {
      let n: bigint;
      if (typeof value === 'bigint') n = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
      else return bad('not a 64-bit integer (a bigint or a safe integer number)');
      if (n < lo || n > hi) bad('out of range');
      return n;
    };
    switch (c) {
      case 'y':
        this.reserve(1);
        this.buf.writeUInt8(int(0, 0xff), this.len++);
        return;
      case 'b':
        if (typeof value !== 'boolean') bad('not a boolean');
        this.fixed(4, (o) => this.buf.writeUInt32LE(value ? 1 : 0, o));
        return;
      case 'n':
        this.fixed(2, (o) => this.buf.writeInt16LE(int(-0x8000, 0x7fff), o));
        return;
      case 'q':
        this.fixed(2, (o) => this.buf.writeUInt16LE(int(0, 0xffff), o));
        return;
      case 'i':
        this.fixed(4, (o) => this.buf.writeInt32LE(int(-0x80000000, 0x7fffffff), o));
        return;
      case 'u':
      case 'h':
        this.fixed(4, (o) => this.buf.writeUInt32LE(int(0, 0xffffffff), o));
        return;
      case 'x':
        this.fixed(8, (o) => this.buf.writeBigInt64LE(big(-(2n ** 63n), 2n ** 63n - 1n), o));
        return;
      case 't':
        this.fixed(8, (o) => this.buf.writeBigUInt64LE(big(0n, 2n ** 64n - 1n), o));
        return;
      case 'd':
        if (typeof value !== 'number') bad('not a number');
        this.fixed(8, (o) => this.buf.writeDoubleLE(value as number, o));
        return;
      case 's':
      case 'o': {
        if (typeof value !== 'string') bad('not a string');
        const s = value as string;
        if (s.includes('\0')) bad('contains a nul character');
        if (c === 'o' && !OBJECT_PATH.test(s)) bad('not a valid object path');
        const b = Buffer.from(s, 'utf8');
        this.align(4);
        this.reserve(4);
        this.buf.writeUInt32LE(b.length, this.len);
        this.len += 4;
        this.bytes(b);
        this.bytes(Buffer.from([0]));
        return;
      }
      case 'g': {
        if (typeof value !== 'string') bad('not a string');
        splitSignature(value as string);
        const b = Buffer.from(value as string, 'ascii');
        this.bytes(Buffer.from([b.length]));
        this.bytes(b);
        this.bytes(Buffer.from([0]));
        return;
      }
      case 'v': {
        if (!(value instanceof Variant)) bad('not a Variant');
        const v = value as Variant;
        if (splitSignature(v.signature).length !== 1) bad(`a variant holds exactly one complete type, not ${JSON.stringify(v.signature)}`);
        this.write('g', v.signature, where);
        this.write(v.signature, v.value, `${where}.variant`);
        return;
      }
      case 'a': {
        const elem = type.slice(1);
        let items: readonly DBusValue[];
        if (elem === 'y' && (Buffer.isBuffer(value) || Array.isArray(value))) {
          items = Buffer.isBuffer(value) ? [...value] : value;
        } else if (Array.isArray(value)) items = value;
        else return bad('not an array');
        this.align(4);
        const lengthAt = this.len;
        this.reserve(4);
        this.len += 4;
        this.align(alignment(elem[0]!));
        const start = this.len;
        items.forEach((item, i) => this.write(elem, item, `${where}[${i}]`));
        const n = this.len - start;
        if (n > MAX_ARRAY) bad('array longer than 64 MiB');
        this.buf.writeUInt32LE(n, lengthAt);
        return;
      }
      case '(':
      case '{': {
        const fields = innerTypes(type);
        if (!Array.isArray(value) || value.length !== fields.length) return bad(`not an array of ${fields.length} fields`);
        this.align(8);
        fields.forEach((t, i) => this.write(t, (value as DBusValue[])[i]!, `${where}.${i}`));
        return;
      }
      default:
        throw new DBusMarshalError(`${where}: unknown type ${JSON.stringify(type)}`);
    }
  }

  private fixed(size: number, put: (offset: number) => void): void {
    this.align(size);
    this.reserve(size);
    put(this.len);
    this.len += size;
  }
}

export class Reader {
  /** `base`: the offset of buf[0] within the message (alignment is counted from the message start). */
  constructor(
    private readonly buf: Buffer,
    private pos = 0,
    private readonly littleEndian = true,
    private readonly base = 0,
  ) {}

  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DBusMarshalError(`truncated message: ${what} needs ${n} bytes at offset ${this.pos + this.base}, ${this.buf.length - this.pos} left`);
  }

  align(n: number): void {
    const pad = (n - ((this.pos + this.base) % n)) % n;
    this.need(pad, 'padding');
    for (let i = 0; i < pad; i++) if (this.buf[this.pos + i] !== 0) throw new DBusMarshalError(`non-zero padding byte at offset ${this.pos + this.base + i}`);
    this.pos += pad;
  }

  readAll(signature: string): DBusValue[] {
    return splitSignature(signature).map((t) => this.read(t, 0));
  }

  private u32(): number {
    this.need(4, 'uint32');
    const v = this.littleEndian ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  read(type: string, depth = 0): DBusValue {
    if (depth > 64) throw new DBusMarshalError('values nested deeper than 64 levels');
    const c = type[0]!;
    const le = this.littleEndian;
    const fixed = <T>(size: number, get: (o: number) => T): T => {
      this.align(size);
      this.need(size, type);
      const v = get(this.pos);
      this.pos += size;
      return v;
    };
    switch (c) {
      case 'y':
        return fixed(1, (o) => this.buf.readUInt8(o));
      case 'b': {
        const v = fixed(4, (o) => (le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o)));
        if (v > 1) throw new DBusMarshalError(`boolean value ${v} is neither 0 nor 1`);
        return v === 1;
      }
      case 'n':
        return fixed(2, (o) => (le ? this.buf.readInt16LE(o) : this.buf.readInt16BE(o)));
      case 'q':
        return fixed(2, (o) => (le ? this.buf.readUInt16LE(o) : this.buf.readUInt16BE(o)));
      case 'i':
        return fixed(4, (o) => (le ? this.buf.readInt32LE(o) : this.buf.readInt32BE(o)));
      case 'u':
      case 'h':
        return fixed(4, (o) => (le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o)));
      case 'x':
        return fixed(8, (o) => (le ? this.buf.readBigInt64LE(o) : this.buf.readBigInt64BE(o)));
      case 't':
        return fixed(8, (o) => (le ? this.buf.readBigUInt64LE(o) : this.buf.readBigUInt64BE(o)));
      case 'd':
        return fixed(8, (o) => (le ? this.buf.readDoubleLE(o) : this.buf.readDoubleBE(o)));
      case 's':
      case 'o': {
        this.align(4);
        const n = this.u32();
        this.need(n + 1, 'string');
        const s = this.buf.toString('utf8', this.pos, this.pos + n);
        if (this.buf[this.pos + n] !== 0) throw new DBusMarshalError(`string at offset ${this.pos + this.base} is not nul-terminated`);
        this.pos += n + 1;
        if (c === 'o' && !OBJECT_PATH.test(s)) throw new DBusMarshalError(`invalid object path ${JSON.stringify(s)}`);
        return s;
      }
      case 'g': {
        this.need(1, 'signature length');
        const n = this.buf[this.pos++]!;
        this.need(n + 1, 'signature');
        const s = this.buf.toString('ascii', this.pos, this.pos + n);
        if (this.buf[this.pos + n] !== 0) throw new DBusMarshalError('signature is not nul-terminated');
        this.pos += n + 1;
        splitSignature(s);
        return s;
      }
      case 'v': {
        const sig = this.read('g', depth) as string;
        if (splitSignature(sig).length !== 1) throw new DBusMarshalError(`variant signature ${JSON.stringify(sig)} is not one complete type`);
        return new Variant(sig, this.read(sig, depth + 1));
      }
      case 'a': {
        const elem = type.slice(1);
        this.align(4);
        const n = this.u32();
        if (n > MAX_ARRAY) throw new DBusMarshalError(`array of ${n} bytes is longer than 64 MiB`);
        this.align(alignment(elem[0]!));
        this.need(n, 'array');
        const end = this.pos + n;
        if (elem === 'y') {
          const b = Buffer.from(this.buf.subarray(this.pos, end));
          this.pos = end;
          return b;
        }
        const out: DBusValue[] = [];
        while (this.pos < end) out.push(this.read(elem, depth + 1));
        if (this.pos !== end) throw new DBusMarshalError(`array elements overrun the array length ${n}`);
        return out;
      }
      case '(':
      case '{': {
        this.align(8);
        return innerTypes(type).map((t) => this.read(t, depth + 1));
      }
      default:
        throw new DBusMarshalError(`unknown type ${JSON.stringify(type)}`);
    }
  }
}

/** Marshals values of a signature into a buffer (a message body: starts 8-aligned). */
export function marshal(signature: string, values: readonly DBusValue[]): Buffer {
  const w = new Writer();
  w.writeAll(signature, values);
  return Buffer.from(w.result());
}

/** Reads values of a signature from a body; the whole buffer must be consumed. */
export function unmarshal(signature: string, body: Buffer, littleEndian = true): DBusValue[] {
  const r = new Reader(body, 0, littleEndian);
  const out = r.readAll(signature);
  if (r.offset !== body.length) throw new DBusMarshalError(`${body.length - r.offset} bytes left after the values of signature ${JSON.stringify(signature)}`);
  return out;
}
