/**
 * Kafka messages written byte by byte from the protocol guide's primitive types and the message
 * definitions (clients/src/main/resources/common/message/*.json), for the tests. Independent of the
 * dissector: header versions, flexible encodings and field orders are spelled out by each test.
 */

export class W {
  readonly b: number[] = [];

  i8(v: number): this {
    this.b.push(v & 0xff);
    return this;
  }

  i16(v: number): this {
    this.b.push((v >> 8) & 0xff, v & 0xff);
    return this;
  }

  i32(v: number): this {
    this.b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  i64(v: number): this {
    const hi = Math.floor(v / 4294967296);
    return this.i32(hi).i32(v - hi * 4294967296);
  }

  uvarint(v: number): this {
    let x = v;
    while (x >= 0x80) {
      this.b.push((x & 0x7f) | 0x80);
      x = Math.floor(x / 128);
    }
    this.b.push(x);
    return this;
  }

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.b.push(bytes[i]!);
    return this;
  }

  /** STRING / NULLABLE_STRING (int16 length, -1 null), or COMPACT_ forms (uvarint length + 1, 0 null). */
  str(s: string | null, compact = false): this {
    if (s === null) return compact ? this.uvarint(0) : this.i16(-1);
    const bytes = Buffer.from(s, 'utf8');
    if (compact) this.uvarint(bytes.length + 1);
    else this.i16(bytes.length);
    return this.raw(bytes);
  }

  /** BYTES / RECORDS (int32 length), or COMPACT_ (uvarint length + 1). */
  bytes(b: Uint8Array | null, compact = false): this {
    if (b === null) return compact ? this.uvarint(0) : this.i32(-1);
    if (compact) this.uvarint(b.length + 1);
    else this.i32(b.length);
    return this.raw(b);
  }

  /** An array: int32 count, or uvarint count + 1; null as -1 / 0. */
  array<T>(items: T[] | null, compact: boolean, each: (w: this, item: T) => void): this {
    if (items === null) return compact ? this.uvarint(0) : this.i32(-1);
    if (compact) this.uvarint(items.length + 1);
    else this.i32(items.length);
    for (const it of items) each(this, it);
    return this;
  }

  /** A tagged-field section: count, then tag, size, data for each. */
  tags(fields: Array<[number, ArrayLike<number>]> = []): this {
    this.uvarint(fields.length);
    for (const [tag, data] of fields) this.uvarint(tag).uvarint(data.length).raw(data);
    return this;
  }

  uuid(hex: string): this {
    return this.raw(Buffer.from(hex.replace(/-/g, ''), 'hex'));
  }

  bytesOut(): Uint8Array {
    return Uint8Array.from(this.b);
  }
}

/** Kafka's textual UUID (URL-safe base64 without padding) of a hex UUID. */
export function kafkaUuid(hex: string): string {
  return Buffer.from(hex.replace(/-/g, ''), 'hex').toString('base64url');
}

export interface RequestOptions {
  key: number;
  version: number;
  correlationId: number;
  clientId: string | null;
  /** 0: no client_id; 1: client_id; 2: client_id then tagged fields. */
  header: 0 | 1 | 2;
  headerTags?: Array<[number, ArrayLike<number>]>;
}

/** Size + request header + body. */
export function request(o: RequestOptions, body: W | Uint8Array): Uint8Array {
  const h = new W().i16(o.key).i16(o.version).i32(o.correlationId);
  if (o.header >= 1) h.str(o.clientId);
  if (o.header === 2) h.tags(o.headerTags);
  return frame(h.raw(body instanceof W ? body.b : body).b);
}

/** Size + response header (v0: correlation_id; v1: then tagged fields) + body. */
export function response(
  correlationId: number,
  header: 0 | 1,
  body: W | Uint8Array,
  headerTags?: Array<[number, ArrayLike<number>]>,
): Uint8Array {
  const h = new W().i32(correlationId);
  if (header === 1) h.tags(headerTags);
  return frame(h.raw(body instanceof W ? body.b : body).b);
}

function frame(b: number[]): Uint8Array {
  return new W().i32(b.length).raw(b).bytesOut();
}

/**
 * A v2 record batch (Kafka documentation §5.3.1): the 61-byte header, then `recordBytes` of record
 * data standing in for the (possibly compressed) records, which the dissector does not open.
 */
export function recordBatch(o: {
  baseOffset?: number;
  records: number;
  codec?: number;
  recordBytes?: number;
  /** The records' bytes (e.g. from `records`); by default filler. */
  payload?: Uint8Array;
}): Uint8Array {
  const body = new W()
    .i32(0) // partitionLeaderEpoch
    .i8(2) // magic
    .i32(0x12345678) // crc (not checked by the dissector)
    .i16(o.codec ?? 0) // attributes: compression in the low 3 bits
    .i32(Math.max(o.records - 1, 0)) // lastOffsetDelta
    .i64(1_700_000_000_000) // baseTimestamp
    .i64(1_700_000_000_000) // maxTimestamp
    .i64(-1) // producerId
    .i16(-1) // producerEpoch
    .i32(-1) // baseSequence
    .i32(o.records) // recordsCount
    .raw(o.payload ?? new Uint8Array(o.recordBytes ?? 10 * o.records).fill(0x61));
  return new W()
    .i64(o.baseOffset ?? 0)
    .i32(body.b.length)
    .raw(body.b)
    .bytesOut();
}

/** VARINT: zigzag then unsigned varint (protobuf). */
function zigzag(w: W, n: number): W {
  return w.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
}

/**
 * Uncompressed records (Kafka documentation §5.3.2): length, attributes, timestampDelta, offsetDelta,
 * key, value, headers — as a v2 batch carries them.
 */
export function records(values: string[]): Uint8Array {
  const out = new W();
  values.forEach((v, i) => {
    const value = Buffer.from(v);
    const r = new W().i8(0);
    zigzag(r, i); // timestampDelta
    zigzag(r, i); // offsetDelta
    zigzag(r, -1); // null key
    zigzag(r, value.length).raw(value);
    zigzag(r, 0); // no headers
    zigzag(out, r.b.length).raw(r.b);
  });
  return out.bytesOut();
}

/** A magic 1 message set entry (Kafka documentation §5.3.3): offset, size, crc, magic, attributes, timestamp, key, value. */
export function legacyMessage(value: string, offset = 0): Uint8Array {
  const m = new W().i32(0).i8(1).i8(0).i64(1_700_000_000_000).bytes(null).bytes(Buffer.from(value));
  return new W().i64(offset).i32(m.b.length).raw(m.b).bytesOut();
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
