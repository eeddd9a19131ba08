/**
 * The decoder's output: one preallocated struct, overwritten for every packet (gopacket's
 * DecodingLayerParser idea), so decoding allocates nothing. Addresses are four 32-bit words; an
 * IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d) so that one comparison serves both families.
 */
export const IpProto = { TCP: 6, UDP: 17 } as const;

/** What `Decoder.decode` found. Errors have already been counted when it returns `Error`. */
export const DecodeResult = {
  Tcp: 0,
  Udp: 1,
  /** Not IP, or an IP protocol other than TCP and UDP (ARP, ICMP, ...): counted, not an error. */
  Other: 2,
  /** An IP fragment held for reassembly; the datagram is decoded when its last piece arrives. */
  Fragment: 3,
  Error: 4,
} as const;
export type DecodeResult = (typeof DecodeResult)[keyof typeof DecodeResult];

export class DecodedPacket {
  tsMicros = 0;
  wirelen = 0;
  interfaceId = 0;

  ipVersion = 0;
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  /** IP protocol number of the transport header (after IPv6 extension headers). */
  protocol = 0;

  srcPort = 0;
  dstPort = 0;
  /** TCP only. */
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;

  /** The buffer the transport payload lives in: the capture chunk, or a reassembled datagram. */
  data: Uint8Array = new Uint8Array(0);
  payloadOffset = 0;
  /** Payload bytes present in `data` (less than `payloadWireLength` when the snap length cut it). */
  payloadLength = 0;
  /** Payload bytes the IP header says were sent. */
  payloadWireLength = 0;
}

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
