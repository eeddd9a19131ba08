/**
 * The connection table: a Map from a 32-bit hash of the 4-tuple to a chain of connections. The hash
 * is the same both ways (endpoint hashes are added), so either direction finds the connection with
 * one lookup and no key string is built per packet.
 */
import type { DecodedPacket } from '../decode/packet.js';
import type { Connection } from './connection.js';

function mix(h: number, v: number): number {
  // murmur3's 32-bit mixing step
  let k = Math.imul(v, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function endpointHash(w0: number, w1: number, w2: number, w3: number, port: number): number {
  return mix(mix(mix(mix(mix(0x9747b28c, w3), w2), w1), w0), port);
}

export function packetHash(d: DecodedPacket): number {
  const h =
    (endpointHash(d.src0, d.src1, d.src2, d.src3, d.srcPort) +
      endpointHash(d.dst0, d.dst1, d.dst2, d.dst3, d.dstPort)) |
    0;
  // fmix32, so that the sum's low bits spread
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}

export const NOT_FOUND = -1;

export class FlowTable {
  private readonly buckets = new Map<number, Connection>();
  size = 0;
  /** Set by `find`: 0 when the packet goes src -> dst of the found connection, 1 when dst -> src. */
  direction = 0;

  find(d: DecodedPacket, hash: number): Connection | null {
    for (let c = this.buckets.get(hash) ?? null; c; c = c.nextInBucket) {
      if (
        c.srcPort === d.srcPort &&
        c.dstPort === d.dstPort &&
        c.s3 === d.src3 &&
        c.d3 === d.dst3 &&
        c.s2 === d.src2 &&
        c.d2 === d.dst2 &&
        c.s1 === d.src1 &&
        c.d1 === d.dst1 &&
        c.s0 === d.src0 &&
        c.d0 === d.dst0
      ) {
        this.direction = 0;
        return c;
      }
      if (
        c.srcPort === d.dstPort &&
        c.dstPort === d.srcPort &&
        c.s3 === d.dst3 &&
        c.d3 === d.src3 &&
        c.s2 === d.dst2 &&
        c.d2 === d.src2 &&
        c.s1 === d.dst1 &&
        c.d1 === d.src1 &&
        c.s0 === d.dst0 &&
        c.d0 === d.src0
      ) {
        this.direction = 1;
        return c;
      }
    }
    return null;
  }

  insert(c: Connection): void {
    c.nextInBucket = this.buckets.get(c.hash) ?? null;
    this.buckets.set(c.hash, c);
    this.size++;
  }

  remove(c: Connection): void {
    let prev: Connection | null = null;
    for (let x = this.buckets.get(c.hash) ?? null; x; prev = x, x = x.nextInBucket) {
      if (x !== c) continue;
      if (prev) prev.nextInBucket = x.nextInBucket;
      else if (x.nextInBucket) this.buckets.set(c.hash, x.nextInBucket);
      else this.buckets.delete(c.hash);
      x.nextInBucket = null;
      this.size--;
      return;
    }
  }

  *[Symbol.iterator](): IterableIterator<Connection> {
    for (const head of this.buckets.values()) {
      for (let c: Connection | null = head; c; c = c.nextInBucket) yield c;
    }
  }
}
