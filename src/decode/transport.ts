/**
 * TCP (RFC 9293 §3.1) and UDP (RFC 768) headers. `start` is the transport header's index in `b`,
 * `end` the end of the captured bytes, `wireEnd` where the IP header says the datagram ends (past
 * `end` when the snap length cut the packet).
 */
import type { ErrorCounters } from '../wire/errors.js';
import { type DecodedPacket, DecodeResult } from './packet.js';

export function decodeTcp(
  d: DecodedPacket,
  b: Uint8Array,
  start: number,
  end: number,
  wireEnd: number,
  errors: ErrorCounters,
): DecodeResult {
  if (end - start < 20) {
    errors.add('tcp.truncated');
    return DecodeResult.Error;
  }
  const dataOffset = (b[start + 12]! >> 4) * 4;
  if (dataOffset < 20 || start + dataOffset > wireEnd) {
    errors.add('tcp.bad_offset');
    return DecodeResult.Error;
  }
  if (start + dataOffset > end) {
    errors.add('tcp.truncated');
    return DecodeResult.Error;
  }
  d.srcPort = (b[start]! << 8) | b[start + 1]!;
  d.dstPort = (b[start + 2]! << 8) | b[start + 3]!;
  d.seq = ((b[start + 4]! << 24) | (b[start + 5]! << 16) | (b[start + 6]! << 8) | b[start + 7]!) >>> 0;
  d.ack = ((b[start + 8]! << 24) | (b[start + 9]! << 16) | (b[start + 10]! << 8) | b[start + 11]!) >>> 0;
  d.tcpFlags = b[start + 13]!;
  d.window = (b[start + 14]! << 8) | b[start + 15]!;
  d.protocol = 6;
  d.data = b;
  d.payloadOffset = start + dataOffset;
  d.payloadWireLength = wireEnd - d.payloadOffset;
  d.payloadLength = Math.min(end, wireEnd) - d.payloadOffset;
  return DecodeResult.Tcp;
}

export function decodeUdp(
  d: DecodedPacket,
  b: Uint8Array,
  start: number,
  end: number,
  wireEnd: number,
  errors: ErrorCounters,
): DecodeResult {
  if (end - start < 8) {
    errors.add('udp.truncated');
    return DecodeResult.Error;
  }
  const length = (b[start + 4]! << 8) | b[start + 5]!;
  // Length 0 is legal for IPv6 jumbograms (RFC 2675 §4); take the datagram's end then.
  const udpEnd = length === 0 ? wireEnd : start + length;
  if (length !== 0 && (length < 8 || udpEnd > wireEnd)) {
    errors.add('udp.bad_length');
    return DecodeResult.Error;
  }
  d.srcPort = (b[start]! << 8) | b[start + 1]!;
  d.dstPort = (b[start + 2]! << 8) | b[start + 3]!;
  d.protocol = 17;
  d.tcpFlags = 0;
  d.data = b;
  d.payloadOffset = start + 8;
  d.payloadWireLength = udpEnd - d.payloadOffset;
  d.payloadLength = Math.min(end, udpEnd) - d.payloadOffset;
  return DecodeResult.Udp;
}
