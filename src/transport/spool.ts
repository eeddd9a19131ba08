/**
 * The agent's disk spool: batches the hub has not acknowledged yet, when they do not fit in memory
 * or must outlive the process (HubClient.close). One directory per agent id, holding:
 *
 *   lock                       {pid, host} of the process using it (two agents must not share one)
 *   state.json                 {version, agent, nextSeq}: seqs below nextSeq may have been used
 *   <firstSeq, 16 digits>.seg  append-only segments of consecutive batches: firstSeq, firstSeq+1...
 *
 * A batch on disk is a 12-byte header (u32 BE body length, u32 BE record count, u32 BE CRC-32 of
 * the body) and the body (protocol.ts: the batch message after its head; ASCII JSON, batch.ts).
 * The seq is not written: it is the segment's first seq plus the batch's index, so renumbering a
 * segment (a rebase, outbox.ts) is a rename. A segment is deleted once every batch in it is
 * acknowledged.
 *
 * Writes go to the page cache (no fsync): the spool survives the agent being killed or restarted,
 * not the machine losing power. A torn or corrupt tail is cut at the last whole batch on open; a
 * corrupt batch found on reading ends its segment there, and what is lost is counted.
 */
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SpoolError } from './errors.js';

export const HEADER_BYTES = 12;
const SEGMENT_RE = /^(\d{16})\.seg$/;
/** Spool directories open in this process (the lock file cannot tell this process from itself). */
const openHere = new Set<string>();

export interface Segment {
  path: string;
  firstSeq: number;
  /** Batches in the file. */
  count: number;
  /** File size. */
  bytes: number;
  /** Records in the file. */
  records: number;
  /** The first `ackedCount` batches (`ackedRecords` records, `ackedOffset` bytes) are acknowledged. */
  ackedCount: number;
  ackedOffset: number;
  ackedRecords: number;
  /** Open for appending (only the newest segment is). */
  fd: number | null;
}

export interface SpooledBatch {
  /** `headRoom` bytes of room (read's argument), then the body. */
  room: Buffer;
  records: number;
  /** Offset of the batch after it. */
  next: number;
}

export interface RecoveredSpool {
  /** Batches lost to a torn or corrupt file, and their records when known. */
  lostBatches: number;
  lostBytes: number;
}

function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.seg`;
}

function errorText(err: unknown): string {
  return (err as Error).message ?? String(err);
}

export class Spool {
  /** Oldest first (ascending firstSeq). */
  readonly segments: Segment[] = [];
  /** Bytes of every segment file. */
  bytes = 0;
  /** The persisted `nextSeq` (state.json); seqs from it upwards were never used. */
  reservedSeq = 1;
  private readonly lockPath: string;
  private readonly statePath: string;
  private locked = false;

  private constructor(
    readonly dir: string,
    readonly agent: string,
    readonly segmentBytes: number,
  ) {
    this.lockPath = join(dir, 'lock');
    this.statePath = join(dir, 'state.json');
  }

  /**
   * Opens (creating it if needed) the spool of `agent` under `root`, takes its lock and reads back
   * what an earlier run left. Throws SpoolError when the directory cannot be used.
   */
  static open(
    root: string,
    agent: string,
    segmentBytes: number,
  ): { spool: Spool; recovered: RecoveredSpool } {
    const dir = join(root, agent);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new SpoolError(`cannot create the spool directory ${dir}: ${errorText(err)}`);
    }
    const spool = new Spool(dir, agent, segmentBytes);
    spool.lock();
    try {
      spool.readState();
      const recovered = spool.recover();
      return { spool, recovered };
    } catch (err) {
      spool.close();
      throw err instanceof SpoolError
        ? err
        : new SpoolError(`cannot read the spool ${dir}: ${errorText(err)}`);
    }
  }

  private lock(): void {
    if (openHere.has(this.dir))
      throw new SpoolError(
        `the spool ${this.dir} is already open in this process (two clients with the agent id '${this.agent}'?)`,
      );
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx');
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
        closeSync(fd);
        this.locked = true;
        openHere.add(this.dir);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
          throw new SpoolError(`cannot lock the spool ${this.dir}: ${errorText(err)}`);
      }
      const holder = this.lockHolder();
      if (holder !== null)
        throw new SpoolError(
          `the spool ${this.dir} is in use by process ${holder} (another agent with the id '${this.agent}'?): give each agent its own --spool or --node`,
        );
      // A lock left by a process that is gone: take it over.
      try {
        unlinkSync(this.lockPath);
      } catch {
        // Raced with another process doing the same: the next openSync decides.
      }
    }
    throw new SpoolError(`cannot lock the spool ${this.dir}: another process keeps taking it`);
  }

  /** The pid of a live process holding the lock, or null when the lock is stale. */
  private lockHolder(): number | null {
    let pid: number;
    let host: string;
    try {
      const o = JSON.parse(readFileSync(this.lockPath, 'utf8')) as { pid?: unknown; host?: unknown };
      if (typeof o.pid !== 'number' || typeof o.host !== 'string') return null;
      pid = o.pid;
      host = o.host;
    } catch {
      return null;
    }
    // Another host (a shared volume): its process cannot be checked, and a pod restarted on the
    // same node gets the same host name. Our own pid in the lock is a previous container's PID 1.
    if (host !== hostname() || pid === process.pid) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
    }
  }

  private readState(): void {
    let text: string;
    try {
      text = readFileSync(this.statePath, 'utf8');
    } catch {
      return;
    }
    try {
      const o = JSON.parse(text) as { nextSeq?: unknown };
      if (typeof o.nextSeq === 'number' && Number.isSafeInteger(o.nextSeq) && o.nextSeq > 0)
        this.reservedSeq = o.nextSeq;
    } catch {
      // A torn state file: the segments still say which seqs were used.
    }
  }

  /** Persists `nextSeq`: every seq below it counts as used after a restart. */
  saveNextSeq(nextSeq: number): void {
    const tmp = `${this.statePath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, agent: this.agent, nextSeq }));
    renameSync(tmp, this.statePath);
    this.reservedSeq = nextSeq;
  }

  /** Lists the segments, checks each batch's header and cuts a torn tail. */
  private recover(): RecoveredSpool {
    const lost: RecoveredSpool = { lostBatches: 0, lostBytes: 0 };
    const names = readdirSync(this.dir).sort();
    for (const name of names) {
      const m = SEGMENT_RE.exec(name);
      if (m) this.load(join(this.dir, name), Number(m[1]), lost);
    }
    // Left by a rebase cut short (renumber): their old seqs may clash, so they go after the rest.
    for (const name of names) {
      if (!name.endsWith('.seg.rebase')) continue;
      const firstSeq = Math.max(this.endSeq(), this.reservedSeq);
      const path = join(this.dir, segmentName(firstSeq));
      renameSync(join(this.dir, name), path);
      this.load(path, firstSeq, lost);
    }
    return lost;
  }

  private load(path: string, firstSeq: number, lost: RecoveredSpool): void {
    const seg: Segment = {
      path,
      firstSeq,
      count: 0,
      bytes: 0,
      records: 0,
      ackedCount: 0,
      ackedOffset: 0,
      ackedRecords: 0,
      fd: null,
    };
    const header = Buffer.alloc(HEADER_BYTES);
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      let at = 0;
      while (at + HEADER_BYTES <= size) {
        if (readSync(fd, header, 0, HEADER_BYTES, at) < HEADER_BYTES) break;
        const len = header.readUInt32BE(0);
        if (len < 2 || at + HEADER_BYTES + len > size) break;
        seg.count++;
        seg.records += header.readUInt32BE(4);
        at += HEADER_BYTES + len;
      }
      if (at < size) {
        // A batch cut short (the agent died mid-write): it was never sent, so never acknowledged.
        lost.lostBatches++;
        lost.lostBytes += size - at;
        ftruncateSync(fd, at);
      }
      seg.bytes = at;
    } finally {
      closeSync(fd);
    }
    if (seg.count === 0) {
      unlinkSync(path);
      return;
    }
    this.segments.push(seg);
    this.bytes += seg.bytes;
  }

  /** The seq after the newest spooled batch (1 when empty). */
  endSeq(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.firstSeq + last.count : 1;
  }

  /**
   * Appends a batch with `seq` to the newest segment when it continues it and has room, else
   * starts a segment. Returns the bytes written, or an error message (nothing is written then).
   */
  append(seq: number, body: Buffer, records: number): number | string {
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt32BE(records, 4);
    header.writeUInt32BE(crc32(body), 8);
    // The segment this batch continues: the newest one, or, when batches held in memory are
    // spilled at close (older than what is on disk already), the one the previous spill started.
    let seg: Segment | undefined;
    for (let i = this.segments.length - 1; i >= 0 && !seg; i--) {
      const s = this.segments[i]!;
      if (s.firstSeq + s.count === seq) seg = s;
    }
    if (!seg || seg.bytes >= this.segmentBytes) {
      if (seg) this.release(seg);
      seg = {
        path: join(this.dir, segmentName(seq)),
        firstSeq: seq,
        count: 0,
        bytes: 0,
        records: 0,
        ackedCount: 0,
        ackedOffset: 0,
        ackedRecords: 0,
        fd: null,
      };
      this.insert(seg);
    }
    try {
      seg.fd ??= openSync(seg.path, 'a');
      writeSync(seg.fd, header);
      writeSync(seg.fd, body);
    } catch (err) {
      // A write that failed half way leaves a torn tail: cut it so later batches stay readable.
      try {
        if (seg.fd !== null) ftruncateSync(seg.fd, seg.bytes);
      } catch {
        // The next open's recovery cuts it then.
      }
      if (seg.count === 0) this.remove(seg);
      return `cannot write the spool ${this.dir}: ${errorText(err)}`;
    }
    seg.count++;
    seg.records += records;
    seg.bytes += HEADER_BYTES + body.length;
    this.bytes += HEADER_BYTES + body.length;
    return HEADER_BYTES + body.length;
  }

  /** Adds a segment in seq order (a spill of older batches from memory lands before newer segments). */
  private insert(seg: Segment): void {
    let i = this.segments.length;
    while (i > 0 && this.segments[i - 1]!.firstSeq > seg.firstSeq) i--;
    this.segments.splice(i, 0, seg);
  }

  /** Reads the header of the batch at `offset` (to skip it without reading its body). */
  readHeader(seg: Segment, offset: number): { records: number; next: number } | string {
    const header = Buffer.alloc(HEADER_BYTES);
    let fd: number | null = null;
    try {
      fd = openSync(seg.path, 'r');
      if (readSync(fd, header, 0, HEADER_BYTES, offset) < HEADER_BYTES) return `${seg.path}: short header`;
    } catch (err) {
      return errorText(err);
    } finally {
      if (fd !== null) closeSync(fd);
    }
    return { records: header.readUInt32BE(4), next: offset + HEADER_BYTES + header.readUInt32BE(0) };
  }

  /**
   * Reads the batch at `offset`, checking its CRC, into a buffer with `headRoom` bytes free before
   * the body (for the message's head, protocol.ts batchFrame).
   */
  read(seg: Segment, offset: number, headRoom = 0): SpooledBatch | string {
    let fd: number | null = null;
    try {
      fd = openSync(seg.path, 'r');
      const header = Buffer.alloc(HEADER_BYTES);
      if (readSync(fd, header, 0, HEADER_BYTES, offset) < HEADER_BYTES)
        return `${seg.path}: short header at ${offset}`;
      const len = header.readUInt32BE(0);
      if (offset + HEADER_BYTES + len > seg.bytes) return `${seg.path}: batch at ${offset} runs past the end`;
      const room = Buffer.allocUnsafe(headRoom + len);
      if (readSync(fd, room, headRoom, len, offset + HEADER_BYTES) < len)
        return `${seg.path}: short batch at ${offset}`;
      if (crc32(room.subarray(headRoom)) !== header.readUInt32BE(8))
        return `${seg.path}: batch at ${offset} is corrupt (CRC mismatch)`;
      return { room, records: header.readUInt32BE(4), next: offset + HEADER_BYTES + len };
    } catch (err) {
      return errorText(err);
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }

  /**
   * Gives the segments new first seqs (a rebase, `firstSeqs[i]` for `segments[i]`): renames, the
   * files are untouched. Through temporary names, so a new name may be an old one of another segment.
   */
  renumber(firstSeqs: readonly number[]): void {
    const moved: Segment[] = [];
    this.segments.forEach((seg, i) => {
      const firstSeq = firstSeqs[i];
      if (firstSeq === undefined || firstSeq === seg.firstSeq) return;
      this.release(seg);
      renameSync(seg.path, `${seg.path}.rebase`);
      seg.path = `${seg.path}.rebase`;
      seg.firstSeq = firstSeq;
      moved.push(seg);
    });
    for (const seg of moved) {
      const path = join(this.dir, segmentName(seg.firstSeq));
      renameSync(seg.path, path);
      seg.path = path;
    }
  }

  /** Deletes a segment (every batch acknowledged, or dropped to make room). */
  remove(seg: Segment): void {
    this.release(seg);
    const i = this.segments.indexOf(seg);
    if (i >= 0) {
      this.segments.splice(i, 1);
      this.bytes -= seg.bytes;
    }
    try {
      unlinkSync(seg.path);
    } catch {
      // Already gone.
    }
  }

  /** Closes the segment's append handle; it stays on disk. */
  private release(seg: Segment): void {
    if (seg.fd === null) return;
    try {
      closeSync(seg.fd);
    } catch {
      // Nothing to do about a failed close of a file only appended to.
    }
    seg.fd = null;
  }

  /** Closes every file and gives up the lock; the segments stay for the next open. */
  close(): void {
    for (const seg of this.segments) this.release(seg);
    if (this.locked) {
      try {
        unlinkSync(this.lockPath);
      } catch {
        // Gone already.
      }
      this.locked = false;
      openHere.delete(this.dir);
    }
  }
}
