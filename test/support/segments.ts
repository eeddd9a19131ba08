/**
 * TCP segments for the flow tests, built straight into the decoder's output struct
 * (`DecodedPacket`) so that tracking and reassembly are tested without the capture and decode
 * stages. The payload sits at a non-zero offset inside a larger buffer, as it does in a capture
 * chunk, and `feed` overwrites that buffer after the tracker returns: whatever the tracker or a
 * consumer kept without copying then shows up as wrong bytes.
 */
import { DecodedPacket, TcpFlag } from '../../src/decode/packet.js';
import type { Connection } from '../../src/flows/connection.js';
import type { Direction, StreamConsumer, StreamConsumerFactory } from '../../src/flows/stream.js';
import { DEFAULT_TRACKER_OPTIONS, TcpTracker, type TrackerOptions } from '../../src/flows/tracker.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import { ipv4Address, ipv6Address } from './packets.js';

export interface SegmentSpec {
  /** IPv4 dotted quad or IPv6 text. */
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP flags as letters: S(YN) A(CK) F(IN) R(ST) P(SH) U(RG), or a TcpFlag bit mask. */
  flags?: string | number;
  seq?: number;
  ack?: number;
  /** Captured payload bytes (a string is taken as Latin-1). */
  payload?: Uint8Array | string;
  /** Payload length on the wire; more than the payload's length when the snap length cut it. */
  payloadWireLength?: number;
  /** Capture time, microseconds. */
  ts?: number;
  /** Frame length; by default Ethernet + IP + 20-byte TCP header + payload on the wire. */
  wirelen?: number;
}

const FLAG_LETTERS: Record<string, number> = {
  F: TcpFlag.FIN,
  S: TcpFlag.SYN,
  R: TcpFlag.RST,
  P: TcpFlag.PSH,
  A: TcpFlag.ACK,
  U: TcpFlag.URG,
};

export function parseFlags(flags: string | number): number {
  if (typeof flags === 'number') return flags;
  let bits = 0;
  for (const ch of flags) {
    const bit = FLAG_LETTERS[ch];
    if (bit === undefined) throw new Error(`unknown TCP flag ${ch}`);
    bits |= bit;
  }
  return bits;
}

/** An address as the decoder stores it: four big-endian words, IPv4 mapped (::ffff:a.b.c.d). */
export function addressWords(ip: string): { version: 4 | 6; w: [number, number, number, number] } {
  if (ip.includes(':')) {
    const b = ipv6Address(ip);
    const word = (i: number): number =>
      ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    return { version: 6, w: [word(0), word(4), word(8), word(12)] };
  }
  const b = ipv4Address(ip);
  return { version: 4, w: [0, 0, 0xffff, ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0] };
}

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** Header bytes before the payload in the fake frame (Ethernet + IP + TCP). */
function headerLength(version: 4 | 6): number {
  return 14 + (version === 4 ? 20 : 40) + 20;
}

/** A fresh DecodedPacket for one TCP segment. */
export function segment(spec: SegmentSpec): DecodedPacket {
  const d = new DecodedPacket();
  const src = addressWords(spec.src);
  const dst = addressWords(spec.dst);
  if (src.version !== dst.version) throw new Error('mixed address families');
  d.ipVersion = src.version;
  [d.src0, d.src1, d.src2, d.src3] = src.w;
  [d.dst0, d.dst1, d.dst2, d.dst3] = dst.w;
  d.protocol = 6;
  d.srcPort = spec.sport;
  d.dstPort = spec.dport;
  d.tcpFlags = parseFlags(spec.flags ?? 'A');
  d.seq = (spec.seq ?? 0) >>> 0;
  d.ack = (spec.ack ?? 0) >>> 0;
  d.window = 65535;
  const payload =
    typeof spec.payload === 'string' ? latin1(spec.payload) : (spec.payload ?? new Uint8Array(0));
  const header = headerLength(src.version);
  // The payload lives inside a bigger buffer, with bytes on both sides, like a capture chunk.
  const data = new Uint8Array(header + payload.length + 16).fill(0xa5);
  data.set(payload, header);
  d.data = data;
  d.payloadOffset = header;
  d.payloadLength = payload.length;
  d.payloadWireLength = spec.payloadWireLength ?? payload.length;
  if (d.payloadWireLength < d.payloadLength) throw new Error('payloadWireLength below the captured length');
  d.tsMicros = spec.ts ?? 0;
  d.wirelen = spec.wirelen ?? header + d.payloadWireLength;
  return d;
}

/** One side of a test connection: its address and port, and the peer's. */
export interface Peer {
  ip: string;
  port: number;
}

/** Segment builders for the two directions of one 4-tuple: `a` sends from `a` to `b`, `b` back. */
export function between(
  a: Peer,
  b: Peer,
): {
  a: (s: Omit<SegmentSpec, 'src' | 'dst' | 'sport' | 'dport'>) => DecodedPacket;
  b: (s: Omit<SegmentSpec, 'src' | 'dst' | 'sport' | 'dport'>) => DecodedPacket;
} {
  return {
    a: (s) => segment({ ...s, src: a.ip, dst: b.ip, sport: a.port, dport: b.port }),
    b: (s) => segment({ ...s, src: b.ip, dst: a.ip, sport: b.port, dport: a.port }),
  };
}

/** Hands `d` to the tracker, then scribbles over its buffer: nothing may keep a view of it. */
export function feed(tracker: TcpTracker, d: DecodedPacket): void {
  tracker.onSegment(d);
  d.data.fill(0xee);
}

/** A consumer that logs every call, in order, with copies of the bytes. */
export type ConsumerEvent =
  | { kind: 'data'; dir: Direction; data: Uint8Array; ts: number }
  | { kind: 'gap'; dir: Direction; bytes: number; ts: number }
  | { kind: 'end'; dir: Direction; ts: number }
  | { kind: 'close'; conn: Connection };

export class RecordingConsumer implements StreamConsumer {
  readonly events: ConsumerEvent[] = [];

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    this.events.push({ kind: 'data', dir, data: data.slice(), ts });
  }
  onGap(dir: Direction, bytes: number, ts: number): void {
    this.events.push({ kind: 'gap', dir, bytes, ts });
  }
  onEnd(dir: Direction, ts: number): void {
    this.events.push({ kind: 'end', dir, ts });
  }
  onClose(conn: Connection): void {
    this.events.push({ kind: 'close', conn });
  }

  /** The bytes delivered in `dir`, gaps left out. */
  bytes(dir: Direction): Buffer {
    const parts: Uint8Array[] = [];
    for (const e of this.events) if (e.kind === 'data' && e.dir === dir) parts.push(e.data);
    return Buffer.concat(parts);
  }
  /** Gap byte counts of `dir`, one per onGap call. */
  gaps(dir: Direction): number[] {
    const out: number[] = [];
    for (const e of this.events) if (e.kind === 'gap' && e.dir === dir) out.push(e.bytes);
    return out;
  }
  count(kind: ConsumerEvent['kind'], dir?: Direction): number {
    let n = 0;
    for (const e of this.events)
      if (e.kind === kind && (dir === undefined || ('dir' in e && e.dir === dir))) n++;
    return n;
  }
}

/** A tracker with small, explicit options, recording what it reports and the consumers it made. */
export interface Harness<C extends StreamConsumer> {
  tracker: TcpTracker;
  errors: ErrorCounters;
  /** Connections in the order the tracker reported them. */
  reported: Connection[];
  /** Consumers in the order their connections were created. */
  consumers: C[];
}

export function harness<C extends StreamConsumer = RecordingConsumer>(
  options: Partial<TrackerOptions> = {},
  makeConsumer: ((conn: Connection) => C | null) | null = () => new RecordingConsumer() as unknown as C,
): Harness<C> {
  const errors = new ErrorCounters();
  const reported: Connection[] = [];
  const consumers: C[] = [];
  const factory: StreamConsumerFactory | null = makeConsumer
    ? {
        create(conn) {
          const c = makeConsumer(conn);
          if (c) consumers.push(c);
          return c;
        },
      }
    : null;
  const tracker = new TcpTracker(
    { ...DEFAULT_TRACKER_OPTIONS, ...options },
    errors,
    (c) => reported.push(c),
    factory,
  );
  return { tracker, errors, reported, consumers };
}
