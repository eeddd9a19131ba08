/**
 * Sample frames for the capture-format tests: one small UDP or TCP packet per link type, in
 * several sizes (a 0-byte record, minimum frames, a 1500-byte and a 9000-byte frame), so that
 * records are both smaller and larger than the chunk sizes the tests read with. Not a test file.
 */
import { LinkType } from '../../src/capture/packet.js';
import {
  AddressFamily,
  bsdLoop,
  bsdNull,
  EtherType,
  ethernet,
  IpProtocol,
  ipv4,
  ipv6,
  sll,
  sll2,
  TcpFlags,
  tcp,
  udp,
} from '../support/packets.js';

/** Deterministic filler bytes. */
export function filler(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** An IP packet (v4 or v6, UDP or TCP) with `payload` bytes of data. */
export function ipPacket(i: number, payload: number): Uint8Array {
  const data = filler(payload, i + 1);
  if (i % 2 === 0) {
    return ipv4(
      { src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.UDP, id: i },
      udp({ srcPort: 5353 + i, dstPort: 53 }, data),
    );
  }
  return ipv6(
    { src: '2001:db8::1', dst: '2001:db8::2' },
    [],
    IpProtocol.TCP,
    tcp({ srcPort: 40000 + i, dstPort: 443, seq: i * 1000, flags: TcpFlags.ACK | TcpFlags.PSH }, data),
  );
}

/** Wraps an IP packet in the link layer of `linkType`. */
export function frame(linkType: number, ip: Uint8Array): Uint8Array {
  const v6 = ip[0]! >> 4 === 6;
  const etherType = v6 ? EtherType.IPV6 : EtherType.IPV4;
  switch (linkType) {
    case LinkType.ETHERNET:
      return ethernet({ etherType, pad: true }, ip);
    case LinkType.LINUX_SLL:
      return sll({ protocol: etherType }, ip);
    case LinkType.LINUX_SLL2:
      return sll2({ protocol: etherType }, ip);
    case LinkType.NULL:
      return bsdNull(v6 ? AddressFamily.INET6_DARWIN : AddressFamily.INET, ip, 'le');
    case LinkType.LOOP:
      return bsdLoop(v6 ? AddressFamily.INET6_BSD : AddressFamily.INET, ip);
    default:
      return ip;
  }
}

/** Payload sizes of the sample frames: tiny, typical, a full 1500-byte MTU, a jumbo frame. */
export const SAMPLE_SIZES = [0, 5, 100, 1400, 8900, 33, 700];

/** Frames of one link type, sized by SAMPLE_SIZES. */
export function sampleFrames(linkType: number): Uint8Array[] {
  return SAMPLE_SIZES.map((n, i) => frame(linkType, ipPacket(i, n)));
}
