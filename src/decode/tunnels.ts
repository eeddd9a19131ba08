/**
 * Tunnel headers: where the packet inside starts and what it is. The decoder opens tunnels with
 * these (decoder.ts, which counts their errors), and the agent's cross-interface dedupe finds the
 * innermost IP header with them (`innermostIp`), so that a packet captured plain on a pod's veth and
 * encapsulated on the node's uplink is one packet.
 */
import { LinkType } from '../capture/packet.js';
import { ipOffset } from './link.js';

export const PROTO_IPIP = 4;
export const PROTO_IPV6_IN_IP = 41;
export const PROTO_GRE = 47;
export const PORT_VXLAN = 4789;
export const PORT_VXLAN_LINUX = 8472;
export const PORT_GENEVE = 6081;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;
/** Transparent Ethernet Bridging: an Ethernet frame follows. */
export const ETHERTYPE_BRIDGED = 0x6558;
const ETHERTYPE_ERSPAN2 = 0x88be;
const ETHERTYPE_ERSPAN3 = 0x22eb;
/** Tunnels inside tunnels are legal; past this many levels the packet is taken for hostile. */
export const MAX_TUNNEL_DEPTH = 4;

/** Where a tunnel's inner packet starts (`at`) and what it is (`type`: an EtherType). Reused by its owner. */
export interface TunnelInner {
  at: number;
  type: number;
}

/** What a tunnel header parser found. */
export const Tunnel = {
  /** `inner` says where the packet inside is (it may still be cut short: the caller checks). */
  Open: 0,
  /** Not this tunnel (a port that only looks like it): the packet is the outer one. */
  Not: 1,
  /** A tunnel of a kind or payload that is not opened (GRE version 1, GRE of another protocol). */
  Other: 2,
  /** The tunnel's own header is cut short. */
  Truncated: 3,
} as const;
export type Tunnel = (typeof Tunnel)[keyof typeof Tunnel];

/** VXLAN (RFC 7348 §5): flags with the I bit, 3 reserved bytes, the VNI, a reserved byte, then Ethernet. */
export function vxlan(b: Uint8Array, p: number, end: number, inner: TunnelInner): Tunnel {
  // Only a header with the I flag (a valid VNI) is taken for VXLAN; the other flag bits are
  // "ignored on receipt" (RFC 7348 §5): the Group Policy extension sets 0x80 over the same frames.
  if (end - p < 8 + 14 || (b[p]! & 0x08) === 0) return Tunnel.Not;
  inner.at = p + 8;
  inner.type = ETHERTYPE_BRIDGED;
  return Tunnel.Open;
}

/** Geneve (RFC 8926 §3.4): version 0, options length in 4-byte words, protocol type, VNI, options. */
export function geneve(b: Uint8Array, p: number, end: number, inner: TunnelInner): Tunnel {
  if (end - p < 8 || b[p]! >> 6 !== 0) return Tunnel.Not;
  const header = 8 + (b[p]! & 0x3f) * 4;
  const type = (b[p + 2]! << 8) | b[p + 3]!;
  if (type !== ETHERTYPE_BRIDGED && type !== ETHERTYPE_IPV4 && type !== ETHERTYPE_IPV6) return Tunnel.Not;
  if (end - p < header) return Tunnel.Truncated;
  inner.at = p + header;
  inner.type = type;
  return Tunnel.Open;
}

/**
 * GRE (RFC 2784, keys and sequence numbers RFC 2890): flags and version 0, protocol type, then
 * the optional checksum, key and sequence number. ERSPAN II and III (draft-foschiano-erspan) carry
 * a mirrored Ethernet frame after their own header. Version 1 (PPTP's) and other payloads: Other.
 */
export function gre(b: Uint8Array, p: number, end: number, inner: TunnelInner): Tunnel {
  if (end - p < 4) return Tunnel.Truncated;
  const flags = b[p]!;
  const version = b[p + 1]! & 0x07;
  const type = (b[p + 2]! << 8) | b[p + 3]!;
  let at = p + 4;
  if (flags & 0x80) at += 4; // checksum and reserved
  if (flags & 0x20) at += 4; // key
  if (flags & 0x10) at += 4; // sequence number
  if (version === 0 && type === ETHERTYPE_ERSPAN2) at += 8;
  else if (version === 0 && type === ETHERTYPE_ERSPAN3) {
    // 12 bytes, and an 8-byte platform subheader when its O flag (the last bit) is set.
    if (end - at >= 12 && (b[at + 11]! & 0x01) !== 0) at += 8;
    at += 12;
  }
  const known =
    type === ETHERTYPE_IPV4 ||
    type === ETHERTYPE_IPV6 ||
    type === ETHERTYPE_BRIDGED ||
    type === ETHERTYPE_ERSPAN2 ||
    type === ETHERTYPE_ERSPAN3;
  if (version !== 0 || !known) return Tunnel.Other;
  if (at > end) return Tunnel.Truncated;
  inner.at = at;
  inner.type = type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6 ? type : ETHERTYPE_BRIDGED;
  return Tunnel.Open;
}

/**
 * The offset in `b` of the innermost IP header of the frame `b[start..end)` (of `linkType`), through
 * the tunnels the decoder opens, or -1 when the frame is not IP (or has no byte of it). Where a tunnel cannot be opened (cut
 * short, fragmented, IPv6 extension headers before it) the IP header outside it is the answer.
 * `inner` is scratch space.
 */
export function innermostIp(
  linkType: number,
  b: Uint8Array,
  start: number,
  end: number,
  inner: TunnelInner,
): number {
  const rel = ipOffset(linkType, b, start, end);
  if (rel < 0 || end - start - rel < 1) return -1;
  let ip = start + rel;
  let stop = end;
  for (let depth = 0; depth < MAX_TUNNEL_DEPTH; depth++) {
    let proto: number;
    let l4: number;
    const version = b[ip]! >> 4;
    if (version === 4 && stop - ip >= 20) {
      // A fragment's transport header is in the first piece only: not followed.
      if ((((b[ip + 6]! << 8) | b[ip + 7]!) & 0x3fff) !== 0) return ip;
      const total = (b[ip + 2]! << 8) | b[ip + 3]!;
      if (total !== 0) stop = Math.min(stop, ip + total);
      proto = b[ip + 9]!;
      l4 = ip + (b[ip]! & 0x0f) * 4;
    } else if (version === 6 && stop - ip >= 40) {
      const payload = (b[ip + 4]! << 8) | b[ip + 5]!;
      if (payload !== 0) stop = Math.min(stop, ip + 40 + payload);
      proto = b[ip + 6]!;
      l4 = ip + 40;
    } else return ip;
    let found: Tunnel = Tunnel.Not;
    if (proto === 17 && stop - l4 >= 8) {
      const port = (b[l4 + 2]! << 8) | b[l4 + 3]!;
      if (port === PORT_VXLAN || port === PORT_VXLAN_LINUX) found = vxlan(b, l4 + 8, stop, inner);
      else if (port === PORT_GENEVE) found = geneve(b, l4 + 8, stop, inner);
    } else if (proto === PROTO_IPIP || proto === PROTO_IPV6_IN_IP) {
      inner.at = l4;
      inner.type = proto === PROTO_IPIP ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
      found = Tunnel.Open;
    } else if (proto === PROTO_GRE) found = gre(b, l4, stop, inner);
    if (found !== Tunnel.Open) return ip;
    let next = inner.at;
    if (inner.type === ETHERTYPE_BRIDGED) {
      const r = ipOffset(LinkType.ETHERNET, b, next, stop);
      if (r < 0) return ip;
      next += r;
    }
    if (stop - next < 1) return ip;
    ip = next;
  }
  return ip;
}
