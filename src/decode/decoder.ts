/**
 * Decodes one captured packet down to its transport header: link layer, then IPv4 (RFC 791) or
 * IPv6 (RFC 8200) with extension headers and fragment reassembly, then TCP or UDP. Works on views of
 * the capture buffer and fills one reused DecodedPacket; nothing is allocated on the common path.
 *
 * Tunnels are opened, so that a capture of a node's uplink shows the pods' own connections, as
 * tshark shows them: the overlays of Kubernetes networks (VXLAN, RFC 7348, on 4789 and on 8472,
 * the Linux kernel's and Flannel's port; Geneve, RFC 8926, on 6081, Cilium's and OVN's; IP in IP,
 * RFC 2003, and IPv6 in IP, Calico's IPIP mode; GRE, RFC 2784/2890, with IP or Ethernet inside,
 * and ERSPAN types II and III, the mirroring sessions of switches and clouds). The packet decoded
 * is the innermost one; a tunnel whose header does not check out (a UDP port that only looks like
 * VXLAN's) is left as the outer packet.
 */
import { type CapturedPacket, LinkType } from '../capture/packet.js';
import type { ErrorCounters } from '../wire/errors.js';
import { DEFAULT_FRAGMENT_OPTIONS, Defragmenter, type FragmentOptions } from './fragments.js';
import { ipOffset, LINK_NOT_IP, LINK_TRUNCATED } from './link.js';
import { DecodedPacket, DecodeResult } from './packet.js';
import { decodeTcp, decodeUdp } from './transport.js';
import {
  ETHERTYPE_BRIDGED,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  geneve,
  gre,
  MAX_TUNNEL_DEPTH,
  PORT_GENEVE,
  PORT_VXLAN,
  PORT_VXLAN_LINUX,
  PROTO_GRE,
  PROTO_IPIP,
  PROTO_IPV6_IN_IP,
  Tunnel,
  type TunnelInner,
  vxlan,
} from './tunnels.js';

const NH_HOPOPTS = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_ESP = 50;
const NH_AH = 51;
const NH_NONE = 59;
const NH_DSTOPTS = 60;
const NH_MOBILITY = 135;
const NH_HIP = 139;
const NH_SHIM6 = 140;
const MAX_EXTENSION_HEADERS = 16;

export class Decoder {
  readonly packet = new DecodedPacket();
  readonly defrag: Defragmenter;
  /** Packets that were not TCP or UDP over IP (ARP, ICMP, ...), by kind, for the summary. */
  nonIp = 0;
  otherIp = 0;
  /** Packets decoded from inside a tunnel (VXLAN, Geneve, IP in IP, GRE). */
  tunnelled = 0;
  /** Tunnel levels being opened for the current packet. */
  private depth = 0;
  /** Where the tunnel header being opened says its packet is (tunnels.ts). */
  private readonly inner: TunnelInner = { at: 0, type: 0 };

  constructor(
    private readonly errors: ErrorCounters,
    fragmentOptions: FragmentOptions = DEFAULT_FRAGMENT_OPTIONS,
  ) {
    this.defrag = new Defragmenter(errors, fragmentOptions);
  }

  decode(pkt: CapturedPacket): DecodeResult {
    const d = this.packet;
    d.tsMicros = pkt.tsMicros;
    d.wirelen = pkt.wirelen;
    d.interfaceId = pkt.interfaceId;
    this.defrag.advance(pkt.tsMicros);
    const b = pkt.data;
    const start = pkt.offset;
    const end = start + pkt.caplen;
    const rel = ipOffset(pkt.linkType, b, start, end);
    if (rel < 0) {
      if (rel === LINK_NOT_IP) this.nonIp++;
      else this.errors.add(rel === LINK_TRUNCATED ? 'link.truncated' : 'link.unsupported');
      return rel === LINK_NOT_IP ? DecodeResult.Other : DecodeResult.Error;
    }
    const ip = start + rel;
    if (end - ip < 1) {
      this.errors.add('link.truncated');
      return DecodeResult.Error;
    }
    const version = b[ip]! >> 4;
    if (version === 4) return this.ipv4(d, b, ip, end);
    if (version === 6) return this.ipv6(d, b, ip, end);
    this.errors.add('ip.bad_version');
    return DecodeResult.Error;
  }

  private ipv4(d: DecodedPacket, b: Uint8Array, ip: number, end: number): DecodeResult {
    if (end - ip < 20) {
      this.errors.add('ipv4.truncated');
      return DecodeResult.Error;
    }
    const ihl = (b[ip]! & 0x0f) * 4;
    let totalLength = (b[ip + 2]! << 8) | b[ip + 3]!;
    // Total length 0: a TSO/GSO super-packet captured before the NIC split it (as tshark assumes).
    if (totalLength === 0) totalLength = end - ip;
    if (ihl < 20 || totalLength < ihl) {
      this.errors.add('ipv4.bad_header');
      return DecodeResult.Error;
    }
    if (end - ip < ihl) {
      this.errors.add('ipv4.truncated');
      return DecodeResult.Error;
    }
    d.ipVersion = 4;
    d.src0 = 0;
    d.src1 = 0;
    d.src2 = 0xffff;
    d.src3 = ((b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!) >>> 0;
    d.dst0 = 0;
    d.dst1 = 0;
    d.dst2 = 0xffff;
    d.dst3 = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
    const proto = b[ip + 9]!;
    d.protocol = proto;
    // Ethernet pads short frames: the datagram ends where its total length says, not at the frame end.
    const wireEnd = ip + totalLength;
    const capEnd = Math.min(end, wireEnd);
    const fragField = (b[ip + 6]! << 8) | b[ip + 7]!;
    const more = (fragField & 0x2000) !== 0;
    const fragOffset = (fragField & 0x1fff) * 8;
    if (more || fragOffset !== 0) {
      if (capEnd < wireEnd) {
        this.errors.add('ipv4.truncated');
        return DecodeResult.Error;
      }
      const id = (b[ip + 4]! << 8) | b[ip + 5]!;
      const key = `4:${d.src3}:${d.dst3}:${proto}:${id}`;
      const whole = this.defrag.add(key, fragOffset, more, b, ip + ihl, wireEnd - ip - ihl, d.tsMicros);
      if (!whole) return DecodeResult.Fragment;
      return this.transport(d, proto, whole, 0, whole.length, whole.length);
    }
    return this.transport(d, proto, b, ip + ihl, capEnd, wireEnd);
  }

  private ipv6(d: DecodedPacket, b: Uint8Array, ip: number, end: number): DecodeResult {
    if (end - ip < 40) {
      this.errors.add('ipv6.truncated');
      return DecodeResult.Error;
    }
    d.ipVersion = 6;
    d.src0 = ((b[ip + 8]! << 24) | (b[ip + 9]! << 16) | (b[ip + 10]! << 8) | b[ip + 11]!) >>> 0;
    d.src1 = ((b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!) >>> 0;
    d.src2 = ((b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!) >>> 0;
    d.src3 = ((b[ip + 20]! << 24) | (b[ip + 21]! << 16) | (b[ip + 22]! << 8) | b[ip + 23]!) >>> 0;
    d.dst0 = ((b[ip + 24]! << 24) | (b[ip + 25]! << 16) | (b[ip + 26]! << 8) | b[ip + 27]!) >>> 0;
    d.dst1 = ((b[ip + 28]! << 24) | (b[ip + 29]! << 16) | (b[ip + 30]! << 8) | b[ip + 31]!) >>> 0;
    d.dst2 = ((b[ip + 32]! << 24) | (b[ip + 33]! << 16) | (b[ip + 34]! << 8) | b[ip + 35]!) >>> 0;
    d.dst3 = ((b[ip + 36]! << 24) | (b[ip + 37]! << 16) | (b[ip + 38]! << 8) | b[ip + 39]!) >>> 0;
    const payloadLength = (b[ip + 4]! << 8) | b[ip + 5]!;
    // Payload length 0 with a Hop-by-Hop header is a jumbogram (RFC 2675); take the captured length.
    const wireEnd = payloadLength === 0 ? end : ip + 40 + payloadLength;
    const capEnd = Math.min(end, wireEnd);
    return this.ipv6Chain(d, b[ip + 6]!, b, ip + 40, capEnd, wireEnd, false);
  }

  /** Walks the extension headers after the fixed header (or after reassembly) to TCP or UDP. */
  private ipv6Chain(
    d: DecodedPacket,
    first: number,
    b: Uint8Array,
    start: number,
    end: number,
    wireEnd: number,
    reassembled: boolean,
  ): DecodeResult {
    let next = first;
    let at = start;
    for (let n = 0; n < MAX_EXTENSION_HEADERS; n++) {
      switch (next) {
        case NH_HOPOPTS:
        case NH_ROUTING:
        case NH_DSTOPTS:
        case NH_MOBILITY:
        case NH_HIP:
        case NH_SHIM6:
        case NH_AH: {
          if (end - at < 8) {
            this.errors.add('ipv6.truncated');
            return DecodeResult.Error;
          }
          // AH counts its length in 4-byte words minus 2 (RFC 4302 §2.2); the others in 8-byte words minus 1.
          const len = next === NH_AH ? (b[at + 1]! + 2) * 4 : (b[at + 1]! + 1) * 8;
          next = b[at]!;
          at += len;
          if (at > wireEnd) {
            this.errors.add('ipv6.bad_extension');
            return DecodeResult.Error;
          }
          continue;
        }
        case NH_FRAGMENT: {
          if (end - at < 8) {
            this.errors.add('ipv6.truncated');
            return DecodeResult.Error;
          }
          const inner = b[at]!;
          const field = (b[at + 2]! << 8) | b[at + 3]!;
          const fragOffset = field & 0xfff8;
          const more = (field & 1) !== 0;
          if (!more && fragOffset === 0) {
            // An atomic fragment (RFC 6946): nothing to reassemble.
            next = inner;
            at += 8;
            continue;
          }
          if (reassembled) {
            this.errors.add('ipv6.bad_extension');
            return DecodeResult.Error;
          }
          if (end < wireEnd) {
            this.errors.add('ipv6.truncated');
            return DecodeResult.Error;
          }
          const id = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
          const key = `6:${d.src0}:${d.src1}:${d.src2}:${d.src3}:${d.dst0}:${d.dst1}:${d.dst2}:${d.dst3}:${id}`;
          const whole = this.defrag.add(key, fragOffset, more, b, at + 8, wireEnd - at - 8, d.tsMicros);
          if (!whole) return DecodeResult.Fragment;
          // The reassembled payload starts with whatever followed the fragment header (RFC 8200 §4.5).
          return this.ipv6Chain(d, inner, whole, 0, whole.length, whole.length, true);
        }
        case NH_ESP:
        case NH_NONE:
          d.protocol = next;
          this.otherIp++;
          return DecodeResult.Other;
        default:
          return this.transport(d, next, b, at, end, wireEnd);
      }
    }
    this.errors.add('ipv6.bad_extension');
    return DecodeResult.Error;
  }

  private transport(
    d: DecodedPacket,
    proto: number,
    b: Uint8Array,
    start: number,
    end: number,
    wireEnd: number,
  ): DecodeResult {
    if (proto === 6) return decodeTcp(d, b, start, end, wireEnd, this.errors);
    if (proto === 17) {
      const r = decodeUdp(d, b, start, end, wireEnd, this.errors);
      if (r !== DecodeResult.Udp) return r;
      const port = d.dstPort;
      if (port === PORT_VXLAN || port === PORT_VXLAN_LINUX || port === PORT_GENEVE) {
        const p = d.payloadOffset;
        const e = p + d.payloadLength;
        const inner = this.overUdp(d, b, p, e, port);
        if (inner !== null) return inner;
      }
      return r;
    }
    if (proto === PROTO_IPIP || proto === PROTO_IPV6_IN_IP)
      return this.tunnel(
        d,
        b,
        start,
        Math.min(end, wireEnd),
        proto === PROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6,
      );
    if (proto === PROTO_GRE) {
      const e = Math.min(end, wireEnd);
      return this.opened(d, b, gre(b, start, e, this.inner), e);
    }
    d.protocol = proto;
    this.otherIp++;
    return DecodeResult.Other;
  }

  /** A VXLAN or Geneve header in a UDP payload: the packet inside, or null when it is not one. */
  private overUdp(
    d: DecodedPacket,
    b: Uint8Array,
    p: number,
    end: number,
    port: number,
  ): DecodeResult | null {
    const t = port === PORT_GENEVE ? geneve(b, p, end, this.inner) : vxlan(b, p, end, this.inner);
    if (t === Tunnel.Not) return null;
    return this.opened(d, b, t, end);
  }

  /** What a tunnel header parser found (tunnels.ts), as a decode result. */
  private opened(d: DecodedPacket, b: Uint8Array, t: Tunnel, end: number): DecodeResult {
    if (t === Tunnel.Truncated) {
      this.errors.add('tunnel.truncated');
      return DecodeResult.Error;
    }
    if (t === Tunnel.Other) {
      d.protocol = PROTO_GRE;
      this.otherIp++;
      return DecodeResult.Other;
    }
    return this.tunnel(d, b, this.inner.at, end, this.inner.type);
  }

  /** The packet inside a tunnel, from `start`: an Ethernet frame (ETHERTYPE_BRIDGED) or an IP header. */
  private tunnel(d: DecodedPacket, b: Uint8Array, start: number, end: number, inner: number): DecodeResult {
    if (this.depth >= MAX_TUNNEL_DEPTH) {
      this.errors.add('tunnel.too_deep');
      return DecodeResult.Error;
    }
    let ip = start;
    if (inner === ETHERTYPE_BRIDGED) {
      const rel = ipOffset(LinkType.ETHERNET, b, start, end);
      if (rel === LINK_NOT_IP) {
        this.nonIp++;
        return DecodeResult.Other;
      }
      if (rel < 0) {
        this.errors.add('tunnel.truncated');
        return DecodeResult.Error;
      }
      ip = start + rel;
    }
    if (end - ip < 1) {
      this.errors.add('tunnel.truncated');
      return DecodeResult.Error;
    }
    const version = b[ip]! >> 4;
    if (version !== 4 && version !== 6) {
      this.errors.add('ip.bad_version');
      return DecodeResult.Error;
    }
    this.tunnelled++;
    this.depth++;
    try {
      return version === 4 ? this.ipv4(d, b, ip, end) : this.ipv6(d, b, ip, end);
    } finally {
      this.depth--;
    }
  }
}
