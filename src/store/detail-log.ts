/**
 * The entries' detail JSON (request, response, bodies: what the summary row does not hold), in
 * append-only segment files beside the store: `<store>-details/<n>.seg`, each up to `segmentBytes`.
 * A summary row points at its detail by (segment, offset, length). Writing a detail is one copy into
 * a buffer and, per batch, one write() to the file: SQLite spent 10 to 15 µs per entry storing the
 * same bytes in a table (its B-tree cells, the WAL frame, then the checkpoint's copy), more than the
 * seven indexes together (docs/store.md, "Details").
 *
 * Order of writes: a batch's details are written to the file before its rows are committed, so a
 * committed row's detail is in the file (in the operating system's page cache: a killed process
 * loses nothing). A process killed between the two leaves bytes no row points at: they stay,
 * unread, until their segment goes. The files are fsynced in the background every few seconds and
 * when a segment is full, as SQLite syncs at checkpoints: a power cut can lose the details of the
 * last seconds, which then read as lost (`DETAIL_LOST`), never as someone else's.
 *
 * Segments go whole, when no row points into them any more (after retention: `dropBefore`). The
 * in-memory store (`:memory:`) keeps its segments in memory.
 */
import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { Lru } from '../wire/lru.js';

/** What a detail reads as when its bytes are gone (a power cut, a segment removed by hand). */
export const DETAIL_LOST = '{"request":{},"response":null,"detailLost":true}';

/** Where a detail is: its segment, its byte offset there, its length in bytes. */
export type DetailRef = [segment: number, offset: number, length: number];

const DEFAULT_SEGMENT_BYTES = 64 << 20;
/** Reads are served from whole blocks of a segment, the last few kept (JSON filters read row after row). */
const BLOCK_BYTES = 256 << 10;
const BLOCKS_KEPT = 32;
/** Open read descriptors kept, of segments other than the one being written. */
const FDS_KEPT = 16;
const SYNC_EVERY_MS = 2_000;

interface Segment {
  n: number;
  /** Bytes in the file (written), or in `mem`. */
  size: number;
  fd: number;
  mem: Buffer | null;
}

export class DetailLog implements DetailSpace {
  /** The segment being written. */
  private head: Segment;
  private readonly dir: string | null;
  private readonly segmentBytes: number;
  /** Text waiting to be written (a batch's details), from the head's `size`. */
  private pending: Buffer = Buffer.allocUnsafe(1 << 20);
  private pendingBytes = 0;
  /**
   * Segment number -> its read descriptor (not the head's), least recently used first; one dropped
   * for room is closed (dropBefore and close close the others).
   */
  private readonly fds = new Lru<number, number>(FDS_KEPT, (_segment, fd) => closeSync(fd));
  /** `${segment}:${block}` -> the block's bytes, least recently used first. */
  private readonly blocks = new Lru<string, Buffer>(BLOCKS_KEPT);
  /** Segments of the in-memory log, by number. */
  private readonly memory = new Map<number, Segment>();
  /** Sizes of full segments (they do not change), read once. */
  private readonly sizes = new Map<number, number | null>();
  private syncTimer: NodeJS.Timeout | null = null;
  private dirty = false;
  private closed = false;
  private readOnly = false;

  /**
   * The log of the store at `storePath` (':memory:' keeps it in memory). Segments found there are
   * kept; writing goes on at the end of the last one.
   */
  constructor(storePath: string, opts: { segmentBytes?: number; readOnly?: boolean } = {}) {
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (storePath === ':memory:') {
      this.dir = null;
      this.head = this.memorySegment(1);
      return;
    }
    this.dir = detailDirectory(storePath);
    if (opts.readOnly) {
      // Another thread's view (a reader thread): no head to write; the last segment grows under it.
      this.readOnly = true;
      this.head = { n: -1, size: 0, fd: -1, mem: null };
      return;
    }
    mkdirSync(this.dir, { recursive: true });
    const last = segmentsIn(this.dir).at(-1) ?? 1;
    const fd = openSync(this.file(last), 'a+');
    this.head = { n: last, size: fstatSync(fd).size, fd, mem: null };
    this.syncTimer = setInterval(() => this.sync(), SYNC_EVERY_MS);
    this.syncTimer.unref();
  }

  /**
   * Queues `text` to be written; where it will be. Nothing is in the file until flush(): call it
   * before committing rows that point here.
   */
  append(text: string): DetailRef {
    if (this.readOnly) throw new Error('this view of the detail log is read-only');
    const room = text.length * 3;
    if (
      this.head.size + this.pendingBytes > 0 &&
      this.head.size + this.pendingBytes + room > this.segmentBytes
    ) {
      // The head is full (a detail never spans segments): what is pending goes to it, then the next one.
      this.flush();
      this.rotate();
    }
    if (this.pendingBytes + room > this.pending.length) {
      this.flush();
      if (room > this.pending.length)
        this.pending = Buffer.allocUnsafe(Math.max(room, this.pending.length * 2));
    }
    const offset = this.head.size + this.pendingBytes;
    const length = this.pending.write(text, this.pendingBytes, 'utf8');
    this.pendingBytes += length;
    return [this.head.n, offset, length];
  }

  /**
   * Writes what append() queued. On a failure (the disk full) nothing queued counts: the segment is
   * cut back to what it held, and it throws.
   */
  flush(): void {
    if (this.pendingBytes === 0) return;
    const h = this.head;
    if (h.mem) {
      h.mem = grow(h.mem, h.size + this.pendingBytes);
      this.pending.copy(h.mem, h.size, 0, this.pendingBytes);
    } else {
      try {
        let done = 0;
        while (done < this.pendingBytes)
          done += writeSync(h.fd, this.pending, done, this.pendingBytes - done);
      } catch (err) {
        this.pendingBytes = 0;
        try {
          ftruncateSync(h.fd, h.size);
        } catch {
          h.size = fstatSync(h.fd).size;
        }
        throw err;
      }
      this.dirty = true;
    }
    h.size += this.pendingBytes;
    this.pendingBytes = 0;
  }

  /** The detail at `ref`, or DETAIL_LOST when its bytes are not there. */
  read(segment: number, offset: number, length: number): string {
    if (this.closed) throw new Error('the detail log is closed');
    const seg = segment === this.head.n ? this.head : null;
    const mem = this.dir === null ? this.memory.get(segment) : seg;
    if (mem?.mem) {
      if (offset + length > mem.size) return DETAIL_LOST;
      return mem.mem.toString('utf8', offset, offset + length);
    }
    const size = seg ? seg.size : this.sizeOf(segment, offset + length);
    if (size === null || offset + length > size) return DETAIL_LOST;
    const block = Math.floor(offset / BLOCK_BYTES);
    const end = (block + 1) * BLOCK_BYTES;
    // From a cached block when the detail lies within one that is whole in the file.
    if (offset + length <= end && end <= size) {
      const buf = this.block(segment, block);
      if (buf)
        return buf.toString('utf8', offset - block * BLOCK_BYTES, offset - block * BLOCK_BYTES + length);
      return DETAIL_LOST;
    }
    const fd = seg ? seg.fd : this.fd(segment);
    const buf = Buffer.allocUnsafe(length);
    return fd !== null && readFully(fd, buf, offset) ? buf.toString('utf8') : DETAIL_LOST;
  }

  /** The segment being written: retention keeps it and what follows (DetailSpace.dropBefore). */
  get headSegment(): number {
    return this.head.n;
  }

  /** Bytes from `offset` of segment `first` on (all when omitted). */
  bytes(first = 0, offset = 0): number {
    let n = 0;
    for (const s of this.segments())
      if (s >= first) n += s === this.head.n ? this.head.size : (this.sizeOf(s) ?? 0);
    return Math.max(0, n + this.pendingBytes - offset);
  }

  /** Removes the segments before `segment` and before the head. Returns how many went. */
  dropBefore(segment: number): number {
    let n = 0;
    for (const s of this.segments()) {
      if (s >= segment || s >= this.head.n) continue;
      const fd = this.fds.peek(s);
      if (fd !== undefined) {
        closeSync(fd);
        this.fds.delete(s);
      }
      for (const k of [...this.blocks.keys()]) if (k.startsWith(`${s}:`)) this.blocks.delete(k);
      this.sizes.delete(s);
      if (this.dir === null) this.memory.delete(s);
      else rmSync(this.file(s), { force: true });
      n++;
    }
    return n;
  }

  /** Writes what is queued, syncs and closes the files. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.blocks.clear();
    if (!this.head.mem && this.head.fd >= 0) closeSync(this.head.fd);
  }

  /** Segment numbers, oldest first. */
  private segments(): number[] {
    return this.dir === null ? [...this.memory.keys()].sort((a, b) => a - b) : segmentsIn(this.dir);
  }

  private rotate(): void {
    const next = this.head.n + 1;
    if (this.dir === null) {
      this.head = this.memorySegment(next);
      return;
    }
    const old = this.head;
    // The full segment reaches the disk before the next one starts (in the background).
    fdatasync(old.fd, () => closeSync(old.fd));
    const fd = openSync(this.file(next), 'a+');
    this.head = { n: next, size: fstatSync(fd).size, fd, mem: null };
  }

  private memorySegment(n: number): Segment {
    const s: Segment = { n, size: 0, fd: -1, mem: Buffer.alloc(0) };
    this.memory.set(n, s);
    return s;
  }

  private sync(): void {
    if (!this.dirty || this.closed) return;
    this.dirty = false;
    fdatasync(this.head.fd, () => {});
  }

  private file(n: number): string {
    return segmentFile(this.dir as string, n);
  }

  /** A segment's size, read once (again when less than `atLeast`: a read-only view's last one grows). */
  private sizeOf(segment: number, atLeast = 0): number | null {
    if (this.dir === null) return this.memory.get(segment)?.size ?? null;
    let size = this.sizes.get(segment);
    if (size === undefined || (this.readOnly && (size ?? 0) < atLeast)) {
      const file = this.file(segment);
      size = existsSync(file) ? statSync(file).size : null;
      this.sizes.set(segment, size);
    }
    return size;
  }

  private fd(segment: number): number | null {
    let fd = this.fds.get(segment);
    if (fd !== undefined) return fd;
    try {
      fd = openSync(this.file(segment), 'r');
    } catch {
      return null;
    }
    this.fds.set(segment, fd); // closes the least recently used past FDS_KEPT
    return fd;
  }

  private block(segment: number, block: number): Buffer | null {
    const key = `${segment}:${block}`;
    let buf = this.blocks.get(key);
    if (buf) return buf;
    const fd = segment === this.head.n ? this.head.fd : this.fd(segment);
    if (fd === null) return null;
    buf = Buffer.allocUnsafe(BLOCK_BYTES);
    if (!readFully(fd, buf, block * BLOCK_BYTES)) return null;
    this.blocks.set(key, buf);
    return buf;
  }
}

/**
 * Registers `podwire_detail(segment, offset, length, whole, id)` on `db`: the detail's text from
 * `log` (a whole detail with `"id"` put in front), DETAIL_LOST when its bytes are gone, NULL for a
 * row without a place in the log. The store's connections read details through it (entry-rows.ts).
 */
export function registerDetailFunction(db: Database.Database, name: string, log: DetailLog): void {
  db.function(name, { deterministic: true }, (seg, off, len, whole, id) => {
    if (seg === null) return null;
    const text = log.read(seg as number, off as number, len as number);
    return whole ? `{"id":"${id}",${text.slice(1)}` : text;
  });
}

/** Where the details of the store at `storePath` are (a file store's). */
export function detailDirectory(storePath: string): string {
  return `${storePath}-details`;
}

function segmentFile(dir: string, n: number): string {
  return join(dir, `${String(n).padStart(10, '0')}.seg`);
}

/**
 * The space the details take, as retention sees it: their bytes from a segment on, and removing
 * the segments before one. The writer thread's retention works on the files (DetailFiles) while the
 * main thread's DetailLog writes the head: it removes only segments before the head the main
 * thread named when it asked (`keepFrom`).
 */
export interface DetailSpace {
  /** Bytes from `offset` of segment `first` on: the details rows may still point at. */
  bytes(first: number, offset?: number): number;
  dropBefore(segment: number): number;
}

/** A file store's segments, seen from another thread than the writer's. */
export class DetailFiles implements DetailSpace {
  private readonly dir: string;

  constructor(
    storePath: string,
    /** Segments from this one on stay (the head, when retention was asked). */
    private readonly keepFrom: number,
  ) {
    this.dir = detailDirectory(storePath);
  }

  bytes(first: number, offset = 0): number {
    let n = 0;
    for (const s of segmentsIn(this.dir)) if (s >= first) n += sizeOrZero(segmentFile(this.dir, s));
    return Math.max(0, n - offset);
  }

  dropBefore(segment: number): number {
    let n = 0;
    for (const s of segmentsIn(this.dir)) {
      if (s >= segment || s >= this.keepFrom) continue;
      rmSync(segmentFile(this.dir, s), { force: true });
      n++;
    }
    return n;
  }
}

function sizeOrZero(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The segment numbers of the files in `dir`, ascending. */
function segmentsIn(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const out: number[] = [];
  for (const f of readdirSync(dir)) {
    const m = /^(\d{10})\.seg$/.exec(f);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Fills `buf` from `fd` at `position`; false when the file ends first. */
function readFully(fd: number, buf: Buffer, position: number): boolean {
  for (let got = 0; got < buf.length; ) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) return false;
    got += n;
  }
  return true;
}

/** `buf` with room for `size` bytes (its contents kept). */
function grow(buf: Buffer, size: number): Buffer {
  if (size <= buf.length) return buf;
  const next = Buffer.allocUnsafe(Math.max(size, buf.length * 2, 1 << 16));
  buf.copy(next);
  return next;
}
