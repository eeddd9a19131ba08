/**
 * Decoding one packet in a test: wrap bytes as a CapturedPacket (placed inside a larger buffer
 * with junk around it, so a decoder that reads outside the packet is caught), decode, and snapshot
 * the reused DecodedPacket into a plain object. Not a test file.
 */
import { CapturedPacket } from '../../src/capture/packet.js';
import { Decoder } from '../../src/decode/decoder.js';
import type { FragmentOptions } from '../../src/decode/fragments.js';
import { type DecodedPacket, DecodeResult } from '../../src/decode/packet.js';
import { formatIp } from '../../src/wire/bytes.js';
import { ErrorCounters } from '../../src/wire/errors.js';

export const RESULT_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(DecodeResult).map(([k, v]) => [v, k]),
);

export interface PacketOptions {
  tsMicros?: number;
  /** Captured length (default: all of `bytes`); less than bytes.length simulates a snap length. */
  caplen?: number;
  /** Original length (default: bytes.length). */
  wirelen?: number;
  interfaceId?: number;
}

/** `bytes` as a captured packet, at offset 13 of a buffer with 0xEE junk before and after it. */
export function captured(linkType: number, bytes: Uint8Array, o: PacketOptions = {}): CapturedPacket {
  const pkt = new CapturedPacket();
  const buf = new Uint8Array(13 + bytes.length + 40).fill(0xee);
  buf.set(bytes, 13);
  pkt.data = buf;
  pkt.offset = 13;
  pkt.caplen = o.caplen ?? bytes.length;
  pkt.wirelen = o.wirelen ?? bytes.length;
  pkt.tsMicros = o.tsMicros ?? 1_700_000_000_000_000;
  pkt.linkType = linkType;
  pkt.interfaceId = o.interfaceId ?? 0;
  return pkt;
}

/** The decoded fields a test looks at; `payload` is the captured payload, copied. */
export interface Decoded {
  result: string;
  ipVersion: number;
  src: string;
  dst: string;
  protocol: number;
  srcPort: number;
  dstPort: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  window: number;
  payload: Uint8Array;
  /** Where the payload starts, relative to the packet's first byte (for payloads in the capture buffer). */
  payloadStart: number;
  payloadLength: number;
  payloadWireLength: number;
}

export function snapshot(result: DecodeResult, d: DecodedPacket, pkt: CapturedPacket): Decoded {
  return {
    result: RESULT_NAME[result] ?? String(result),
    ipVersion: d.ipVersion,
    src: formatIp(d.src0, d.src1, d.src2, d.src3),
    dst: formatIp(d.dst0, d.dst1, d.dst2, d.dst3),
    protocol: d.protocol,
    srcPort: d.srcPort,
    dstPort: d.dstPort,
    tcpFlags: d.tcpFlags,
    seq: d.seq,
    ack: d.ack,
    window: d.window,
    payload: d.data.slice(d.payloadOffset, d.payloadOffset + Math.max(0, d.payloadLength)),
    payloadStart: d.data === pkt.data ? d.payloadOffset - pkt.offset : -1,
    payloadLength: d.payloadLength,
    payloadWireLength: d.payloadWireLength,
  };
}

/** A decoder with its error counters, and a one-call decode that snapshots the result. */
export class TestDecoder {
  readonly errors = new ErrorCounters();
  readonly decoder: Decoder;

  constructor(fragmentOptions?: FragmentOptions) {
    this.decoder = fragmentOptions ? new Decoder(this.errors, fragmentOptions) : new Decoder(this.errors);
  }

  decode(linkType: number, bytes: Uint8Array, o: PacketOptions = {}): Decoded {
    const pkt = captured(linkType, bytes, o);
    const r = this.decoder.decode(pkt);
    return snapshot(r, this.decoder.packet, pkt);
  }

  /** Error counts, zero counts left out. */
  errorCounts(): Record<string, number> {
    return this.errors.toJSON() as Record<string, number>;
  }
}
