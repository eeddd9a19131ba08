/**
 * The agent's batches that the hub has not acknowledged, in seq order: the oldest in memory, the
 * rest in the disk spool (spool.ts) once memory is full, and which of them are on the wire.
 *
 *   memory [seq 40 41 42] | spool [43..90][91..130]        (memory is always older than the spool)
 *           ^^^^^ sent, waiting for their ack ("in flight"); the next() cursor is after them
 *
 * A new batch goes to memory while the spool is empty and memory has room; otherwise to the spool,
 * until the spool has been drained, so order never depends on where a batch sits. When the spool
 * is full, the oldest segment that is not in flight is dropped; without a spool, the oldest batch
 * in memory that is not in flight. Both are counted (`dropped`), never silent.
 *
 * Acks are cumulative (protocol.ts): ack(seq) releases every sent batch up to seq. On a reconnect
 * everything unacknowledged is sent again from the head; welcome(watermark) first releases what the
 * hub already stored (the ack was lost with the connection).
 */
import { batchFrame, HEAD_ROOM } from './protocol.js';
import { HEADER_BYTES, type Segment, type Spool } from './spool.js';

/** Counted per batch held in memory on top of its body: the array slot and the object. */
export const MEM_OVERHEAD = 96;
/** Seqs reserved at a time in the spool's state file, so a restart never reuses one (a write per this many batches). */
const SEQ_RESERVE = 1000;

interface MemBatch {
  seq: number;
  /** HEAD_ROOM bytes of room, then the body (batch.ts). */
  room: Buffer;
  records: number;
  /** Memory counted for it: the buffer it is a view of, and MEM_OVERHEAD. */
  bytes: number;
}

interface Sent {
  seq: number;
  records: number;
  /** null: the batch is mem[0..]; else the segment and the offset after the batch. */
  seg: Segment | null;
  end: number;
}

interface Cursor {
  seg: Segment;
  offset: number;
  index: number;
  /** Records in the segment before the cursor. */
  records: number;
}

export interface OutgoingBatch {
  seq: number;
  /** The message to send, as a text message: ASCII JSON (a view of the batch's buffer). */
  frame: Buffer;
  records: number;
}

export interface OutboxOptions {
  maxMemoryBytes: number;
  maxSpoolBytes: number;
  spool: Spool | null;
  log: (message: string) => void;
  /**
   * A batch's buffer the outbox is done with (acknowledged, spooled or dropped; never one that may
   * still be on its way to the socket), for the batch builder to fill again.
   */
  release?: (room: Buffer) => void;
}

export class Outbox {
  nextSeq: number;
  /** Records acknowledged by the hub (or found already stored at a welcome). */
  acked = 0;
  /** Records dropped for want of room (or lost to a corrupt spool file), and the batches they were in. */
  dropped = 0;
  droppedBatches = 0;
  /** Why the last drop happened. */
  lastDrop: string | null = null;
  memBytes = 0;
  private memRecords = 0;
  private readonly mem: MemBatch[] = [];
  /** mem[0..memSent) are in flight. */
  private memSent = 0;
  private readonly sent: Sent[] = [];
  private cursor: Cursor | null = null;
  private readonly spool: Spool | null;

  constructor(private readonly options: OutboxOptions) {
    this.spool = options.spool;
    this.nextSeq = this.spool ? Math.max(this.spool.reservedSeq, this.spool.endSeq()) : 1;
  }

  /** Batches sent and not yet acknowledged. */
  get inFlight(): number {
    return this.sent.length;
  }

  /** Records not yet acknowledged (memory and spool). */
  get queuedRecords(): number {
    let n = this.memRecords;
    for (const seg of this.spool?.segments ?? []) n += seg.records - seg.ackedRecords;
    return n;
  }

  get spooledBytes(): number {
    return this.spool?.bytes ?? 0;
  }

  /** Nothing left to send or to be acknowledged. */
  get empty(): boolean {
    return this.mem.length === 0 && (this.spool?.segments.length ?? 0) === 0;
  }

  private takeSeq(): number {
    const seq = this.nextSeq++;
    const spool = this.spool;
    if (spool && this.nextSeq > spool.reservedSeq) this.saveSeq(this.nextSeq + SEQ_RESERVE);
    return seq;
  }

  private saveSeq(nextSeq: number): void {
    try {
      this.spool?.saveNextSeq(nextSeq);
    } catch (err) {
      // Without it a restart could reuse seqs of batches that died in memory: the hub then takes
      // the new batches for replays. Said loudly; the spool's segments still bound the damage.
      this.options.log(`cannot save the next seq in the spool: ${(err as Error).message}`);
    }
  }

  private drop(records: number, batches: number, why: string): void {
    this.dropped += records;
    this.droppedBatches += batches;
    this.lastDrop = why;
  }

  /**
   * Queues a sealed batch: `room` is HEAD_ROOM bytes of room then the body (batch.ts), `retained`
   * the memory it holds (its underlying buffer; default its length). Never throws.
   */
  push(room: Buffer, records: number, retained: number = room.length): void {
    const seq = this.takeSeq();
    const bytes = retained + MEM_OVERHEAD;
    const spool = this.spool;
    if (spool && (spool.segments.length > 0 || this.memBytes + bytes > this.options.maxMemoryBytes)) {
      this.toSpool(spool, seq, room.subarray(HEAD_ROOM), records);
      this.options.release?.(room);
      return;
    }
    while (this.memBytes + bytes > this.options.maxMemoryBytes && this.dropOldestInMemory()) {}
    if (this.mem.length > 0 && this.memBytes + bytes > this.options.maxMemoryBytes) {
      this.drop(records, 1, 'memory full (every batch held is in flight) and no spool');
      this.options.release?.(room);
      return;
    }
    this.mem.push({ seq, room, records, bytes });
    this.memBytes += bytes;
    this.memRecords += records;
  }

  private toSpool(spool: Spool, seq: number, body: Buffer, records: number): void {
    const need = HEADER_BYTES + body.length;
    while (spool.bytes + need > this.options.maxSpoolBytes && this.dropOldestSegment(spool)) {}
    if (spool.bytes + need > this.options.maxSpoolBytes) {
      this.drop(records, 1, 'spool full');
      return;
    }
    const written = spool.append(seq, body, records);
    if (typeof written === 'string') this.drop(records, 1, written);
  }

  /** Drops the oldest batch in memory that is not in flight; false when there is none. */
  private dropOldestInMemory(): boolean {
    const victim = this.mem[this.memSent];
    if (!victim) return false;
    this.mem.splice(this.memSent, 1);
    this.options.release?.(victim.room);
    this.memBytes -= victim.bytes;
    this.memRecords -= victim.records;
    this.drop(victim.records, 1, 'memory full and no spool');
    return true;
  }

  /** Drops the oldest segment with nothing in flight; false when there is none. */
  private dropOldestSegment(spool: Spool): boolean {
    const victim = spool.segments.find((seg) => !this.sent.some((s) => s.seg === seg));
    if (!victim) return false;
    this.drop(victim.records - victim.ackedRecords, victim.count - victim.ackedCount, 'spool full');
    if (this.cursor?.seg === victim) this.cursor = null;
    spool.remove(victim);
    return true;
  }

  /** The next batch to send, or null when everything is sent; the caller keeps the window. */
  next(): OutgoingBatch | null {
    const b = this.mem[this.memSent];
    if (b) {
      this.memSent++;
      this.sent.push({ seq: b.seq, records: b.records, seg: null, end: 0 });
      return { seq: b.seq, frame: batchFrame(b.room, b.seq), records: b.records };
    }
    const spool = this.spool;
    if (!spool) return null;
    for (;;) {
      const c = this.diskCursor(spool);
      if (!c) return null;
      if (c.index >= c.seg.count) {
        const i = spool.segments.indexOf(c.seg);
        const following = spool.segments[i + 1];
        if (!following) return null; // the newest segment: more may be appended later
        this.cursor = this.startOf(following);
        continue;
      }
      const read = spool.read(c.seg, c.offset, HEAD_ROOM);
      if (typeof read === 'string') {
        this.cut(spool, c, read);
        continue;
      }
      const seq = c.seg.firstSeq + c.index;
      this.sent.push({ seq, records: read.records, seg: c.seg, end: read.next });
      c.index++;
      c.offset = read.next;
      c.records += read.records;
      return { seq, frame: batchFrame(read.room, seq), records: read.records };
    }
  }

  private startOf(seg: Segment): Cursor {
    return { seg, offset: seg.ackedOffset, index: seg.ackedCount, records: seg.ackedRecords };
  }

  /**
   * Where sending goes on in the spool. After a rewind, or when the cursor's segment was removed,
   * from the first segment with a batch not yet sent: sending goes in order, so only the batches at
   * the head of the queue are sent or acknowledged, and a later segment starts at its acked offset.
   */
  private diskCursor(spool: Spool): Cursor | null {
    if (this.cursor && spool.segments.includes(this.cursor.seg)) return this.cursor;
    const lastSent = this.sent.length ? this.sent[this.sent.length - 1]!.seq : -1;
    const seg = spool.segments.find((s) => s.firstSeq + s.count - 1 > lastSent);
    this.cursor = seg ? this.startOf(seg) : null;
    return this.cursor;
  }

  /** A batch that cannot be read back: the segment ends before it, and what follows is counted lost. */
  private cut(spool: Spool, c: Cursor, why: string): void {
    this.options.log(`spool: ${why}; the rest of that segment is lost`);
    this.drop(c.seg.records - c.records, c.seg.count - c.index, why);
    c.seg.count = c.index;
    c.seg.records = c.records;
    if (c.seg.ackedCount >= c.seg.count && !this.sent.some((s) => s.seg === c.seg)) {
      spool.remove(c.seg);
      this.cursor = null;
    }
  }

  /** The hub stored every batch up to `seq`. Returns the records released. */
  ack(seq: number): number {
    let n = 0;
    while (this.sent.length && this.sent[0]!.seq <= seq) {
      const s = this.sent.shift()!;
      n += s.records;
      if (s.seg === null) {
        const b = this.mem.shift()!;
        this.memSent--;
        this.memBytes -= b.bytes;
        this.memRecords -= b.records;
        // The hub has the whole message: the socket is done with the buffer.
        this.options.release?.(b.room);
        continue;
      }
      const seg = s.seg;
      seg.ackedCount++;
      seg.ackedOffset = s.end;
      seg.ackedRecords += s.records;
      if (seg.ackedCount >= seg.count) this.spool?.remove(seg);
    }
    this.acked += n;
    return n;
  }

  /** The connection is gone: nothing is in flight any more, and everything unacknowledged is sent again. */
  rewind(): void {
    this.sent.length = 0;
    this.memSent = 0;
    this.cursor = null;
  }

  /**
   * A (re)connection's welcome: the hub has every batch up to `watermark`. Those are released; if
   * the hub knows seqs this agent never issued (its spool was lost, or another agent used the same
   * id), everything queued is renumbered after the watermark, or the hub would take it for replays
   * and discard it. Returns the records released and whether a rebase happened.
   */
  welcome(watermark: number): { released: number; rebased: boolean } {
    this.rewind();
    if (watermark >= this.nextSeq) {
      this.rebase(watermark);
      return { released: 0, rebased: true };
    }
    let n = 0;
    while (this.mem.length && this.mem[0]!.seq <= watermark) {
      const b = this.mem.shift()!;
      this.memBytes -= b.bytes;
      this.memRecords -= b.records;
      n += b.records;
      this.options.release?.(b.room);
    }
    const spool = this.spool;
    for (const seg of spool ? [...spool.segments] : []) {
      while (seg.ackedCount < seg.count && seg.firstSeq + seg.ackedCount <= watermark) {
        const h = spool!.readHeader(seg, seg.ackedOffset);
        if (typeof h === 'string') break; // next() meets the same error and counts the loss
        seg.ackedCount++;
        seg.ackedOffset = h.next;
        seg.ackedRecords += h.records;
        n += h.records;
      }
      if (seg.ackedCount < seg.count) break;
      spool!.remove(seg);
    }
    this.acked += n;
    return { released: n, rebased: false };
  }

  private rebase(watermark: number): void {
    let seq = watermark + 1;
    for (const b of this.mem) b.seq = seq++;
    const spool = this.spool;
    if (spool) {
      // A segment's acknowledged batches keep their place before the new seqs of the rest.
      const firstSeqs = spool.segments.map((seg) => {
        const first = seq - seg.ackedCount;
        seq += seg.count - seg.ackedCount;
        return first;
      });
      try {
        spool.renumber(firstSeqs);
      } catch (err) {
        this.options.log(`spool: cannot renumber the segments: ${(err as Error).message}`);
      }
    }
    this.nextSeq = seq;
    if (spool) this.saveSeq(seq + SEQ_RESERVE);
  }

  /**
   * At close: batches still in memory go to the spool, to be sent by the next run, and the next
   * seq is saved exactly. Returns the records left unacknowledged, and those lost (no spool, or no room).
   */
  persist(): { unacked: number; lost: number } {
    this.rewind();
    const spool = this.spool;
    let lost = 0;
    for (const b of this.mem) {
      if (!spool) {
        lost += b.records;
        continue;
      }
      const before = this.dropped;
      this.toSpool(spool, b.seq, b.room.subarray(HEAD_ROOM), b.records);
      lost += this.dropped - before;
    }
    if (!spool) this.drop(lost, this.mem.length, 'closed with batches unacknowledged and no spool');
    this.mem.length = 0;
    this.memBytes = 0;
    this.memRecords = 0;
    if (spool) {
      this.saveSeq(this.nextSeq);
      spool.close();
    }
    return { unacked: this.queuedRecords, lost };
  }
}
