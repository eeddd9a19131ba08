/**
 * The fuzz loop shared by test/fuzz/fuzz.test.ts (a few seconds, in `npm test`) and
 * test/fuzz/long-fuzz.ts (`npm run fuzz`, minutes). Every case is derived from one 32-bit seed, so
 * a failure is reproduced by running that seed again. Not a test file.
 *
 * Inputs: random bytes (bare, or behind a valid pcap/pcapng header); real captures from
 * test/captures mutated (bit flips, byte overwrites, cuts, splices, duplicated or deleted spans,
 * length fields set to extremes, packet header bytes set to extremes); and synthetic captures of
 * structured but hostile packets (every link type, VLAN stacks, IPv6 extension chains, fragments
 * dropped, duplicated, reordered and overlapped, then mutated).
 *
 * Each input runs through CapturePacketParser, fed in random chunks as file-source.ts feeds it,
 * into one long-lived Pipeline (decoder, defragmenter, TCP tracker) with small limits. The only
 * exception the parser may raise is CaptureFormatError (the driver turns it into result.error);
 * anything else escaping is a bug. After each case the bounded structures are checked.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LinkType } from '../../src/capture/packet.js';
import { CaptureFormatError, CapturePacketParser } from '../../src/capture/pcap-parser.js';
import { DEFAULT_FRAGMENT_OPTIONS } from '../../src/decode/fragments.js';
import type { TrackerOptions } from '../../src/flows/tracker.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import {
  AddressFamily,
  bsdLoop,
  bsdNull,
  concat,
  EtherType,
  ethernet,
  IpProtocol,
  type Ipv6Extension,
  ipv4,
  ipv4Address,
  ipv4Fragment,
  ipv6,
  ipv6Fragment,
  ipv6FragmentablePart,
  sll,
  sll2,
  TcpOption,
  tcp,
  udp,
  withTransportChecksum,
} from '../support/packets.js';
import { PcapngWriter, writePcap } from '../support/pcap-writer.js';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: small, fast, and good enough to drive a fuzzer from a 32-bit seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 1 ? 0 : this.u32() % max;
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Seed corpus

/** Real captures, each cut to at most `maxBytes` (their first records), for mutation. */
export function loadCorpus(dir: string, maxBytes = 48 * 1024): Uint8Array[] {
  const out: Uint8Array[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (!name.startsWith('_')) walk(p);
      } else if (/\.(pcap|pcapng)$/.test(name)) {
        out.push(new Uint8Array(readFileSync(p).subarray(0, maxBytes)));
      }
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Structure of a (mostly) valid file: where the length fields and the packets are

interface Field {
  at: number;
  size: 2 | 4;
  le: boolean;
}

interface Structure {
  fields: Field[];
  /** [start, end) of each packet's bytes. */
  packets: Array<[number, number]>;
}

function rd32(b: Uint8Array, at: number, le: boolean): number {
  if (at + 4 > b.length) return 0;
  return new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0, le);
}

/** Walks pcap records or pcapng blocks as far as they make sense. */
export function structure(b: Uint8Array): Structure {
  const fields: Field[] = [];
  const packets: Array<[number, number]> = [];
  if (b.length < 24) return { fields, packets };
  const m = rd32(b, 0, true);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d || m === 0xd4c3b2a1 || m === 0x4d3cb2a1) {
    const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
    fields.push({ at: 16, size: 4, le }, { at: 20, size: 4, le });
    for (let at = 24; at + 16 <= b.length && fields.length < 4000; ) {
      const caplen = rd32(b, at + 8, le);
      fields.push({ at: at + 8, size: 4, le }, { at: at + 12, size: 4, le });
      packets.push([at + 16, Math.min(b.length, at + 16 + caplen)]);
      at += 16 + caplen;
    }
  } else if (m === 0x0a0d0d0a) {
    let le = true;
    for (let at = 0; at + 12 <= b.length && fields.length < 4000; ) {
      const type = rd32(b, at, le);
      if (type === 0x0a0d0d0a) le = rd32(b, at + 8, true) === 0x1a2b3c4d;
      const len = rd32(b, at + 4, le);
      if (len < 12 || len % 4 !== 0) break;
      fields.push({ at: at + 4, size: 4, le });
      if (at + len <= b.length) fields.push({ at: at + len - 4, size: 4, le });
      if (type === 6 || type === 2) {
        fields.push(
          { at: at + 8, size: type === 6 ? 4 : 2, le },
          { at: at + 20, size: 4, le },
          { at: at + 24, size: 4, le },
        );
        packets.push([at + 28, Math.min(b.length, at + 28 + rd32(b, at + 20, le))]);
      } else if (type === 3) {
        fields.push({ at: at + 8, size: 4, le });
        packets.push([at + 12, Math.min(b.length, at + len - 4)]);
      } else if (type === 1) {
        fields.push({ at: at + 8, size: 2, le }, { at: at + 12, size: 4, le });
        // Options: code, length.
        for (let o = at + 16; o + 4 <= Math.min(b.length, at + len - 4); ) {
          fields.push({ at: o + 2, size: 2, le });
          const olen = le ? b[o + 2]! | (b[o + 3]! << 8) : (b[o + 2]! << 8) | b[o + 3]!;
          if (olen === 0) break;
          o += 4 + ((olen + 3) & ~3);
        }
      }
      at += len;
    }
  }
  return { fields, packets };
}

const EXTREMES_32 = [
  0, 1, 11, 12, 15, 16, 31, 32, 0xff, 0xffff, 0x10000, 0x100001, 0x1000000, 0x1000004, 0x7fffffff, 0x80000000,
  0xfffffffc, 0xffffffff,
];
const EXTREMES_8 = [0x00, 0x01, 0x05, 0x0f, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0xf0, 0xff];

// ---------------------------------------------------------------------------------------------
// Mutations

function mutate(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  let b: Uint8Array = input.slice();
  const st = structure(b);
  const n = rng.range(1, 8);
  for (let k = 0; k < n; k++) {
    const op = rng.int(10);
    if (b.length === 0) b = rng.bytes(rng.range(1, 64));
    switch (op) {
      case 0: {
        // Bit flips.
        for (let i = rng.range(1, 16); i > 0; i--) {
          const at = rng.int(b.length);
          b[at]! ^= 1 << rng.int(8);
        }
        break;
      }
      case 1: {
        // A byte set to an extreme or random value.
        b[rng.int(b.length)] = rng.chance(0.5) ? rng.pick(EXTREMES_8) : rng.u32() & 0xff;
        break;
      }
      case 2:
        // Cut.
        b = b.slice(0, rng.int(b.length + 1));
        break;
      case 3: {
        // Splice: a span of another capture (or of this one) inserted or overwritten.
        const src = rng.chance(0.5) ? rng.pick(corpus) : b;
        const from = rng.int(src.length);
        const span = src.subarray(from, from + rng.range(1, 512));
        const at = rng.int(b.length + 1);
        b = rng.chance(0.5)
          ? concat(b.subarray(0, at), span, b.subarray(at))
          : concat(b.subarray(0, at), span, b.subarray(Math.min(b.length, at + span.length)));
        break;
      }
      case 4: {
        // Duplicate or delete a span.
        const at = rng.int(b.length);
        const len = rng.range(1, 256);
        b = rng.chance(0.5)
          ? concat(b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len))
          : concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 5:
      case 6: {
        // A length field set to an extreme, or nudged.
        const f = st.fields.length ? rng.pick(st.fields) : null;
        if (!f || f.at + f.size > b.length) break;
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        const old = f.size === 4 ? dv.getUint32(f.at, f.le) : dv.getUint16(f.at, f.le);
        const v = rng.chance(0.6) ? rng.pick(EXTREMES_32) : old + rng.pick([-8, -4, -1, 1, 2, 4, 8]);
        if (f.size === 4) dv.setUint32(f.at, v >>> 0, f.le);
        else dv.setUint16(f.at, v & 0xffff, f.le);
        break;
      }
      default: {
        // Packet header bytes (link, IP, transport: the first 80 bytes) set to extremes.
        const p = st.packets.length ? rng.pick(st.packets) : null;
        if (!p || p[1] <= p[0]) break;
        for (let i = rng.range(1, 4); i > 0; i--) {
          const at = p[0] + rng.int(Math.min(80, p[1] - p[0]));
          if (at < b.length) b[at] = rng.pick(EXTREMES_8);
        }
      }
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Synthetic hostile traffic

const LINKS = [
  LinkType.ETHERNET,
  LinkType.LINUX_SLL,
  LinkType.LINUX_SLL2,
  LinkType.NULL,
  LinkType.LOOP,
  LinkType.RAW,
] as const;

function linkFrame(rng: Rng, lt: number, ip: Uint8Array): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? EtherType.IPV6 : EtherType.IPV4;
  switch (lt) {
    case LinkType.ETHERNET: {
      const vlans = Array.from({ length: rng.pick([0, 0, 1, 2, 5]) }, () => ({
        tpid: rng.pick([EtherType.VLAN, EtherType.QINQ, EtherType.QINQ_OLD]),
        vid: rng.int(4096),
      }));
      return ethernet({ etherType, vlans, pad: rng.chance(0.5), padByte: rng.u32() & 0xff }, ip);
    }
    case LinkType.LINUX_SLL:
      return sll({ protocol: etherType }, ip);
    case LinkType.LINUX_SLL2:
      return sll2({ protocol: etherType }, ip);
    case LinkType.NULL:
      return bsdNull(v6 ? rng.pick([10, 24, 28, 30]) : AddressFamily.INET, ip, rng.chance(0.5) ? 'le' : 'be');
    case LinkType.LOOP:
      return bsdLoop(v6 ? AddressFamily.INET6_BSD : AddressFamily.INET, ip);
    default:
      return ip;
  }
}

/** IP packets of one flow: TCP or UDP, maybe fragmented, with pieces dropped, doubled, reordered. */
function hostileDatagrams(rng: Rng, v6: boolean, hosts: number): Uint8Array[] {
  const h = rng.int(hosts);
  const src = v6 ? `2001:db8::${h.toString(16)}` : `10.0.${h}.1`;
  const dst = v6 ? `2001:db8::ff${h.toString(16)}` : `10.0.${h}.2`;
  const proto = rng.chance(0.7)
    ? IpProtocol.TCP
    : rng.chance(0.8)
      ? IpProtocol.UDP
      : rng.pick([1, 58, 50, 59, 132]);
  const payload = rng.bytes(rng.pick([0, 1, 10, 100, 600, 1500, 4000]));
  const seg =
    proto === IpProtocol.TCP
      ? tcp(
          {
            srcPort: rng.range(1, 65535),
            dstPort: rng.pick([80, 443, 6379, rng.range(1, 65535)]),
            seq: rng.u32(),
            ack: rng.u32(),
            flags: rng.u32() & 0xff,
            options: rng.chance(0.5)
              ? concat(TcpOption.mss(1460), TcpOption.timestamps(rng.u32(), rng.u32()))
              : undefined,
            dataOffset: rng.chance(0.05) ? rng.int(16) : undefined,
          },
          payload,
        )
      : proto === IpProtocol.UDP
        ? udp(
            {
              srcPort: rng.range(1, 65535),
              dstPort: 53,
              length: rng.chance(0.05) ? rng.int(65536) : undefined,
            },
            payload,
          )
        : payload;
  const fragment = rng.chance(0.3) && seg.length > 16;
  const id = rng.int(rng.chance(0.5) ? 4 : 65536);
  if (!v6) {
    const o = { src, dst, protocol: proto, id, totalLength: rng.chance(0.05) ? rng.int(65536) : undefined };
    if (!fragment) return [ipv4(o, seg)];
    const whole = withTransportChecksum(ipv4Address(src), ipv4Address(dst), proto, seg);
    return shuffleDrop(rng, pieces(rng, whole.length), (off, len, more) =>
      ipv4Fragment(o, whole, off, len, more),
    );
  }
  const exts: Ipv6Extension[] = [];
  for (let i = rng.pick([0, 0, 1, 2, 4]); i > 0; i--) {
    exts.push(
      rng.pick<Ipv6Extension>([
        { type: 'hop-by-hop' },
        { type: 'destination', length: 16 },
        { type: 'routing' },
        { type: 'ah' },
      ]),
    );
  }
  const o = { src, dst, payloadLength: rng.chance(0.05) ? rng.int(65536) : undefined };
  if (!fragment) return [ipv6(o, exts, proto, seg)];
  const whole = ipv6FragmentablePart(o, [], proto, seg);
  return shuffleDrop(rng, pieces(rng, whole.length), (off, len, more) =>
    ipv6Fragment(o, exts, proto, whole, off, len, more, id),
  );
}

/** Fragment boundaries (multiples of 8), with an occasional overlap or odd size. */
function pieces(rng: Rng, total: number): Array<[number, number, boolean]> {
  const out: Array<[number, number, boolean]> = [];
  for (let at = 0; at < total; ) {
    const len = Math.min(total - at, rng.range(1, 64) * 8);
    out.push([at, len, at + len < total]);
    at += len;
    if (rng.chance(0.1)) at = Math.max(0, (at - 8 * rng.range(1, 4)) & ~7); // overlap
  }
  if (rng.chance(0.05)) out.push([rng.int(8192) * 8, rng.range(1, 100), rng.chance(0.5)]); // stray
  return out;
}

function shuffleDrop(
  rng: Rng,
  ps: Array<[number, number, boolean]>,
  make: (off: number, len: number, more: boolean) => Uint8Array,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [off, len, more] of ps) {
    if (rng.chance(0.1)) continue; // lost
    const p = make(off, len, more);
    out.push(p);
    if (rng.chance(0.1)) out.push(p); // duplicated
  }
  for (let i = out.length - 1; i > 0; i--) {
    if (rng.chance(0.3)) {
      const j = rng.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  return out;
}

/** A capture file of hostile traffic: pcap with one link type, or pcapng with several. */
function syntheticCapture(rng: Rng): Uint8Array {
  const frames: Array<{ lt: number; data: Uint8Array }> = [];
  const pcapng = rng.chance(0.5);
  const lts = pcapng ? LINKS.filter(() => rng.chance(0.5)) : [rng.pick(LINKS)];
  if (lts.length === 0) lts.push(LinkType.RAW);
  const hosts = rng.range(1, 50);
  for (let flows = rng.range(1, 12); flows > 0; flows--) {
    const lt = rng.pick(lts);
    for (const ip of hostileDatagrams(rng, rng.chance(0.4), hosts))
      frames.push({ lt, data: linkFrame(rng, lt, ip) });
  }
  let sec = rng.pick([0, 1_700_000_000, 0xffffffff - 100]);
  if (!pcapng) {
    return writePcap(
      { linkType: lts[0]!, nanos: rng.chance(0.5), byteOrder: rng.chance(0.5) ? 'le' : 'be' },
      frames.map((f) => {
        sec += rng.int(40);
        return { data: f.data, sec, frac: rng.int(1000) };
      }),
    ).bytes;
  }
  const w = new PcapngWriter().section(rng.chance(0.5) ? 'le' : 'be');
  const ids = lts.map((linkType) =>
    w.interface({
      linkType,
      tsresol: rng.pick([undefined, 9, 3, 0x94]),
      snaplen: rng.pick([0, 0, 64, 65535]),
    }),
  );
  for (const f of frames) {
    const id = ids[lts.indexOf(f.lt as (typeof LINKS)[number])]!;
    const kind = rng.int(10);
    sec += rng.int(40);
    if (kind === 0 && id === 0) w.spb({ data: f.data, wirelen: f.data.length });
    else if (kind === 1) w.opb({ interfaceId: id, ticks: w.ticks(id, sec), data: f.data });
    else w.epb({ interfaceId: id, ticks: w.ticks(id, sec, rng.int(1e9)), data: f.data });
    if (rng.chance(0.05)) w.custom(rng.u32(), rng.bytes(rng.int(40)));
  }
  return w.result().bytes;
}

/** Random bytes behind a valid file header, so they reach the record parser. */
function randomBehindHeader(rng: Rng): Uint8Array {
  const body = rng.bytes(rng.int(4096));
  if (rng.chance(0.5)) {
    const hdr = writePcap(
      {
        linkType: rng.pick([...LINKS, 105, rng.int(300)]),
        nanos: rng.chance(0.5),
        byteOrder: rng.chance(0.5) ? 'le' : 'be',
      },
      [],
    ).bytes;
    return concat(hdr, body);
  }
  const w = new PcapngWriter().section(rng.chance(0.5) ? 'le' : 'be');
  w.interface({ linkType: rng.pick(LINKS) });
  return concat(w.result().bytes, body);
}

// ---------------------------------------------------------------------------------------------
// Cases

export type CaseKind =
  | 'random'
  | 'random-behind-header'
  | 'mutated-capture'
  | 'synthetic'
  | 'mutated-synthetic';

export interface FuzzCase {
  seed: number;
  kind: CaseKind;
  bytes: Uint8Array;
  /** Chunk boundaries the parser is fed with. */
  chunks: number[];
}

/** The case a seed stands for. */
export function makeCase(seed: number, corpus: readonly Uint8Array[]): FuzzCase {
  const rng = new Rng(seed);
  const kinds: CaseKind[] = [
    'random',
    'random-behind-header',
    'mutated-capture',
    'mutated-capture',
    'synthetic',
    'mutated-synthetic',
  ];
  const kind = corpus.length ? rng.pick(kinds) : rng.pick(kinds.filter((k) => k !== 'mutated-capture'));
  let bytes: Uint8Array;
  switch (kind) {
    case 'random':
      bytes = rng.bytes(rng.pick([0, 1, 11, 12, 23, 24, 100, 2000]));
      break;
    case 'random-behind-header':
      bytes = randomBehindHeader(rng);
      break;
    case 'mutated-capture':
      bytes = mutate(rng, rng.pick(corpus), corpus);
      break;
    case 'synthetic':
      bytes = syntheticCapture(rng);
      break;
    default:
      bytes = mutate(rng, syntheticCapture(rng), corpus);
  }
  const chunks: number[] = [];
  // Tiny chunks copy the tail once per chunk: keep them for small inputs.
  const chunkSize = rng.pick(bytes.length < 4096 ? [0, 1, 7, 64, 1000] : [0, 64, 1000, 4096]);
  if (chunkSize > 0)
    for (let at = chunkSize; at < bytes.length; at += rng.range(1, chunkSize)) chunks.push(at);
  return { seed, kind, bytes, chunks };
}

export interface FuzzLimits {
  tracker: Partial<TrackerOptions>;
}

/** Small limits, so a fuzz run reaches them. */
export const FUZZ_LIMITS: FuzzLimits = {
  tracker: {
    maxConnections: 256,
    maxBufferedPerConnection: 64 * 1024,
    maxBufferedTotal: 1024 * 1024,
    maxPendingSegments: 64,
  },
};

/** What one case did; `failure` is set when something escaped or a bound was broken. */
export interface CaseOutcome {
  packets: number;
  error?: CaptureFormatError;
  failure?: string;
}

/**
 * Runs a case through CapturePacketParser (in its chunks, keeping the unconsumed tail like
 * file-source.ts) into `pipeline`, then checks the bounds.
 */
export function runCase(c: FuzzCase, pipeline: Pipeline): CaseOutcome {
  const parser = new CapturePacketParser(pipeline.onPacket, new ErrorCounters());
  let tail = new Uint8Array(0);
  let offset = 0;
  let error: CaptureFormatError | undefined;
  const cuts = [...c.chunks, c.bytes.length];
  let prev = 0;
  try {
    for (const cut of cuts) {
      const chunk = c.bytes.subarray(prev, cut);
      prev = cut;
      const buf = new Uint8Array(tail.length + chunk.length);
      buf.set(tail);
      buf.set(chunk, tail.length);
      const used = parser.parse(buf, 0, buf.length, offset);
      if (used < 0 || used > buf.length)
        return { packets: parser.packets, failure: `parse returned ${used} of ${buf.length}` };
      tail = buf.slice(used);
      offset += used;
      if (parser.needed > 64 * 1024 * 1024)
        return { packets: parser.packets, failure: `parser needs ${parser.needed} bytes` };
    }
  } catch (err) {
    if (err instanceof CaptureFormatError) error = err;
    else
      return {
        packets: parser.packets,
        failure: `exception escaped: ${(err as Error)?.stack ?? String(err)}`,
      };
  }
  const failure = checkBounds(pipeline);
  return { packets: parser.packets, ...(error ? { error } : {}), ...(failure ? { failure } : {}) };
}

/** The structures that must stay bounded however hostile the input. */
export function checkBounds(p: Pipeline): string | undefined {
  const limits = { ...FUZZ_LIMITS.tracker };
  if (p.decoder.defrag.size > DEFAULT_FRAGMENT_OPTIONS.maxDatagrams) {
    return `defragmenter holds ${p.decoder.defrag.size} datagrams (bound ${DEFAULT_FRAGMENT_OPTIONS.maxDatagrams})`;
  }
  if (p.tracker.table.size > (limits.maxConnections ?? Number.POSITIVE_INFINITY)) {
    return `tracker holds ${p.tracker.table.size} connections (bound ${limits.maxConnections})`;
  }
  if (p.tracker.budget.buffered > (limits.maxBufferedTotal ?? Number.POSITIVE_INFINITY)) {
    return `reassembly buffers ${p.tracker.budget.buffered} bytes (bound ${limits.maxBufferedTotal})`;
  }
  return undefined;
}

/** A pipeline with the fuzz limits; connections are counted and dropped. */
export function fuzzPipeline(): Pipeline {
  return new Pipeline(() => {}, FUZZ_LIMITS.tracker);
}

/** A command line that replays one seed. */
export function replayHint(seed: number): string {
  return `FUZZ_REPLAY=${seed} node dist/test/fuzz/long-fuzz.js`;
}
