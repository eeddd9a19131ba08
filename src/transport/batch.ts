/**
 * The batch an agent is filling (protocol.ts): records, serialised once when they are handed over,
 * are written as ASCII bytes straight into the buffer the batch will be sent from, entries in one
 * buffer and connection records in another. Sealing puts the two together behind HEAD_ROOM bytes
 * of room for the head, so between JSON.stringify and the socket a record's bytes are copied once
 * (twice for connection records, the smaller part), and no batch-sized string is ever built.
 */
import { asciiJson, HEAD_ROOM } from './protocol.js';

const ENTRIES_OPEN = Buffer.from('"entries":[');
const CONNECTIONS_OPEN = Buffer.from('],"connections":[');
const CLOSE = Buffer.from(']}');
/** A buffer is kept as the batch's only when it is at least this full; else the batch is copied out. */
const KEEP_FILL = 0.75;
const CONNECTIONS_CAPACITY = 64 << 10;

/** A growable byte buffer of comma-separated JSON records. */
class Records {
  buf: Buffer;
  /** Bytes used, from 0 (entries: from after the room and `"entries":[`). */
  len: number;
  count = 0;

  /** `buffer`: a buffer to fill, or the capacity of a new one. */
  constructor(
    buffer: Buffer | number,
    private readonly start: number,
  ) {
    this.buf = typeof buffer === 'number' ? Buffer.allocUnsafe(Math.max(buffer, start + 64)) : buffer;
    this.len = start;
  }

  /** Bytes the records take, separators included. */
  get bytes(): number {
    return this.len - this.start;
  }

  /** Appends one record's JSON text; returns the bytes it took, its separator included. */
  add(text: string): number {
    const before = this.len;
    if (this.count > 0) this.put(1)[this.len++] = 0x2c; // ','
    let ascii = text;
    if (this.buf.length - this.len >= text.length * 3) {
      // A UTF-16 unit is at most 3 bytes of UTF-8, so nothing is cut, and the text is ASCII
      // exactly when it took one byte per unit: the check and the copy in one pass.
      const n = this.buf.write(text, this.len, 'utf8');
      if (n === text.length) {
        this.len += n;
        this.count++;
        return this.len - before;
      }
      ascii = asciiJson(text);
    } else if (Buffer.byteLength(text) !== text.length) ascii = asciiJson(text);
    this.len += this.put(ascii.length).write(ascii, this.len, 'latin1');
    this.count++;
    return this.len - before;
  }

  /** Empties it; what is before `start` stays. */
  clear(): void {
    this.len = this.start;
    this.count = 0;
  }

  /** The buffer, with room for `more` bytes after `len`. */
  put(more: number): Buffer {
    const need = this.len + more;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    return this.buf;
  }
}

export interface SealedBatch {
  /** HEAD_ROOM bytes of room, then the body (protocol.ts batchFrame writes the head). */
  room: Buffer;
  records: number;
  /** Bytes of memory the batch holds (the buffer it is a view of). */
  retained: number;
}

/** Buffers of sent batches kept to be filled again (recycle), at most. */
const SPARES = 2;

export class BatchBuilder {
  private entries: Records;
  private connections: Records;
  /**
   * Buffers of acknowledged batches, filled again rather than allocating new ones: a fresh 1 MiB
   * buffer costs page faults on first touch and, released, pushes V8 to collect for its external
   * memory (together 1-5 µs per 5.7 kB entry, measured, against 1 µs for the copy itself).
   */
  private readonly spares: Buffer[] = [];

  /** `capacity`: the body bytes a batch may grow to before it is sealed (maxBatchBytes). */
  constructor(private readonly capacity: number) {
    this.entries = this.newEntries();
    this.connections = new Records(CONNECTIONS_CAPACITY, 0);
  }

  private get entriesCapacity(): number {
    return HEAD_ROOM + this.capacity + 64;
  }

  private newEntries(): Records {
    const r = new Records(this.spares.pop() ?? this.entriesCapacity, HEAD_ROOM + ENTRIES_OPEN.length);
    ENTRIES_OPEN.copy(r.buf, HEAD_ROOM);
    return r;
  }

  /**
   * A sealed batch's buffer that nothing uses any more (acknowledged, spooled or dropped; not one
   * that may still be queued on a socket), to be filled again. Only whole buffers of the usual size.
   */
  recycle(room: Buffer): void {
    const whole = room.buffer;
    if (
      this.spares.length < SPARES &&
      room.byteOffset === 0 &&
      whole.byteLength === this.entriesCapacity &&
      whole instanceof ArrayBuffer
    )
      this.spares.push(Buffer.from(whole));
  }

  get records(): number {
    return this.entries.count + this.connections.count;
  }

  /** The body's size in bytes once sealed. */
  get bytes(): number {
    return (
      ENTRIES_OPEN.length +
      this.entries.bytes +
      CONNECTIONS_OPEN.length +
      this.connections.bytes +
      CLOSE.length
    );
  }

  /** Adds an entry's or a connection record's JSON text; returns the bytes it adds. */
  add(kind: 'entry' | 'connection', text: string): number {
    return (kind === 'entry' ? this.entries : this.connections).add(text);
  }

  /** The batch as it stands, and a fresh one started; null when it is empty. */
  seal(): SealedBatch | null {
    const records = this.records;
    if (records === 0) return null;
    const e = this.entries;
    const c = this.connections;
    const size = HEAD_ROOM + this.bytes;
    // Well filled, the entries' buffer becomes the batch's; a small batch (sealed by time) gets a
    // buffer of its own size, so that it holds no more memory than it needs.
    const keep = size <= e.buf.length && size >= e.buf.length * KEEP_FILL;
    const room = keep ? e.buf : Buffer.allocUnsafe(size);
    if (!keep) e.buf.copy(room, 0, 0, e.len);
    let at = e.len;
    at += CONNECTIONS_OPEN.copy(room, at);
    at += c.buf.copy(room, at, 0, c.len);
    at += CLOSE.copy(room, at);
    // A buffer that grew for one large record is given back.
    if (keep || e.buf.length > this.entriesCapacity) this.entries = this.newEntries();
    else e.clear();
    if (c.buf.length > CONNECTIONS_CAPACITY) this.connections = new Records(CONNECTIONS_CAPACITY, 0);
    else c.clear();
    return { room: room.subarray(0, at), records, retained: room.length };
  }
}
