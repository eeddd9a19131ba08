/**
 * IP fragment reassembly (IPv4 RFC 791 §3.2, IPv6 RFC 8200 §4.5), bounded: at most `maxDatagrams`
 * in progress (the oldest is dropped when a new one would exceed it), at most 64 pieces and 65,535
 * bytes per datagram (131,070 held, counting duplicates), and pieces older than `timeoutMicros`
 * (capture time) expire. Fragments are rare, so pieces are copied out of the capture buffer (they
 * outlive it) and keyed by string.
 */
import type { ErrorCounters } from '../wire/errors.js';

const MAX_PIECES = 64;
const MAX_DATAGRAM = 65535;
/** Bytes held for one datagram, duplicates and overlaps included: room for every byte twice. */
const MAX_HELD = 2 * MAX_DATAGRAM;

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

interface Datagram {
  pieces: Piece[];
  /** Bytes held in `pieces`. */
  held: number;
  /** Total payload length, known once the last piece (MF clear) arrives; -1 before. */
  total: number;
  firstSeen: number;
}

export interface FragmentOptions {
  maxDatagrams: number;
  timeoutMicros: number;
}

export const DEFAULT_FRAGMENT_OPTIONS: FragmentOptions = { maxDatagrams: 4096, timeoutMicros: 30_000_000 };

export class Defragmenter {
  private readonly pending = new Map<string, Datagram>();
  private lastSweep = 0;

  constructor(
    private readonly errors: ErrorCounters,
    private readonly options: FragmentOptions = DEFAULT_FRAGMENT_OPTIONS,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Adds one piece of a datagram's payload (the part after the IP header and, for IPv6, after the
   * fragment header). Returns the whole payload when this piece completes it, else null.
   */
  add(
    key: string,
    offset: number,
    more: boolean,
    b: Uint8Array,
    start: number,
    length: number,
    ts: number,
  ): Uint8Array | null {
    this.expire(ts);
    if (offset + length > MAX_DATAGRAM) {
      this.errors.add('fragment.bad');
      return null;
    }
    let dg = this.pending.get(key);
    if (!dg) {
      if (this.pending.size >= this.options.maxDatagrams) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.errors.add('fragment.limit');
      }
      dg = { pieces: [], held: 0, total: -1, firstSeen: ts };
      this.pending.set(key, dg);
    }
    // Fix: the bytes held per datagram are bounded too (duplicates and overlaps count). Before, 64
    // pieces of up to 64 KiB each could be held per datagram: 4 MiB, times maxDatagrams.
    if (dg.pieces.length >= MAX_PIECES || dg.held + length > MAX_HELD) {
      this.pending.delete(key);
      this.errors.add('fragment.bad');
      return null;
    }
    if (!more) {
      const total = offset + length;
      if (dg.total >= 0 && dg.total !== total) {
        this.pending.delete(key);
        this.errors.add('fragment.bad');
        return null;
      }
      dg.total = total;
    }
    // A copy that outlives the capture buffer. Not b.slice(): on a Node Buffer, slice is a view.
    dg.pieces.push({ offset, bytes: new Uint8Array(b.subarray(start, start + length)) });
    dg.held += length;
    if (dg.total < 0) return null;
    // Complete when the pieces, by offset, cover [0, total) without a hole.
    dg.pieces.sort((x, y) => x.offset - y.offset);
    let covered = 0;
    for (const p of dg.pieces) {
      // Fix: bytes past the end that the last piece declares are ignored (Wireshark does the same).
      // A piece there used to keep the datagram from completing, or, when the pieces reached it
      // without a hole, made out.set() below throw a RangeError out of the pipeline.
      if (covered >= dg.total) break;
      if (p.offset > covered) return null;
      covered = Math.max(covered, p.offset + p.bytes.length);
    }
    if (covered < dg.total) return null;
    this.pending.delete(key);
    const out = new Uint8Array(dg.total);
    // Pieces are laid down by offset; where one overlaps bytes already laid down it must repeat them.
    // Fix: an overlap that changes bytes (an evasion trick: RFC 5722 tells IPv6 receivers to drop
    // such datagrams, and Linux drops overlapping IPv4 ones) drops the datagram and counts
    // fragment.bad, as the error catalogue says; it used to be reassembled silently.
    let written = 0;
    for (const p of dg.pieces) {
      if (p.offset >= dg.total) break;
      const bytes = p.bytes.subarray(0, dg.total - p.offset);
      const overlap = Math.min(written, p.offset + bytes.length) - p.offset;
      for (let i = 0; i < overlap; i++) {
        if (out[p.offset + i] !== bytes[i]) {
          this.errors.add('fragment.bad');
          return null;
        }
      }
      out.set(bytes, p.offset);
      written = Math.max(written, p.offset + bytes.length);
    }
    return out;
  }

  /**
   * Lets capture time pass. Fix: datagrams used to expire only when another fragment arrived, so a
   * datagram missing a piece was never counted as fragment.timeout if no fragment followed it.
   * The decoder calls this for every packet; it costs a comparison while nothing is pending.
   */
  advance(ts: number): void {
    if (this.pending.size !== 0) this.expire(ts);
  }

  /** The source ended: every datagram still missing a piece never completes (counted as a timeout). */
  flush(): void {
    if (this.pending.size) this.errors.add('fragment.timeout', this.pending.size);
    this.pending.clear();
  }

  private expire(ts: number): void {
    if (ts - this.lastSweep < 1_000_000 || this.pending.size === 0) return;
    this.lastSweep = ts;
    for (const [key, dg] of this.pending) {
      if (ts - dg.firstSeen > this.options.timeoutMicros) {
        this.pending.delete(key);
        this.errors.add('fragment.timeout');
      }
    }
  }
}
