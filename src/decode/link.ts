/**
 * Link layers: find where the IP header starts. Returns the offset of the IP header relative to the
 * packet start, or a negative code.
 */
import { LinkType } from '../capture/packet.js';
import { u16be, u32be, u32le } from '../wire/bytes.js';

export const LINK_NOT_IP = -1;
export const LINK_TRUNCATED = -2;
export const LINK_UNSUPPORTED = -3;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100; // IEEE 802.1Q
const ETHERTYPE_QINQ = 0x88a8; // IEEE 802.1ad
const ETHERTYPE_QINQ_OLD = 0x9100;
const MAX_VLAN_TAGS = 4;

// BSD loopback address families: AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
// OpenBSD), 28 (FreeBSD), 30 (macOS). https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html
function familyIsIp(af: number): boolean {
  return af === 2 || af === 10 || af === 24 || af === 28 || af === 30;
}

/** Skips 802.1Q / 802.1ad tags from `typeAt` (the offset of an EtherType); returns the IP offset. */
function afterEthertype(b: Uint8Array, start: number, end: number, typeAt: number): number {
  let at = typeAt;
  for (let tags = 0; ; tags++) {
    if (end - at < 2) return LINK_TRUNCATED;
    const type = u16be(b, at);
    if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return at + 2 - start;
    if (
      (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) &&
      tags < MAX_VLAN_TAGS
    ) {
      at += 4; // TCI (2 bytes), then the next EtherType
      continue;
    }
    return LINK_NOT_IP;
  }
}

export function ipOffset(linkType: number, b: Uint8Array, start: number, end: number): number {
  switch (linkType) {
    case LinkType.ETHERNET:
      if (end - start < 14) return LINK_TRUNCATED;
      return afterEthertype(b, start, end, start + 12);
    case LinkType.LINUX_SLL:
      // Linux cooked v1: packet type, ARPHRD, address length, 8-byte address, protocol (16 bytes).
      if (end - start < 16) return LINK_TRUNCATED;
      return afterEthertype(b, start, end, start + 14);
    case LinkType.LINUX_SLL2:
      // Linux cooked v2: protocol first, then reserved, ifindex, ARPHRD, type, addr len, address (20 bytes).
      if (end - start < 20) return LINK_TRUNCATED;
      {
        const type = u16be(b, start);
        if (type === ETHERTYPE_IPV4 || type === ETHERTYPE_IPV6) return 20;
        // Fix: the pre-standard 0x9100 tag was missing here (Ethernet and SLL accept it, and tshark
        // decodes it after SLL2 too), so such packets were counted as not IP.
        if (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
          const at = afterEthertype(b, start + 20, end, start + 22);
          return at < 0 ? at : at + 20;
        }
        return LINK_NOT_IP;
      }
    case LinkType.RAW:
    case LinkType.RAW_OLD:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return 0;
    case LinkType.NULL: {
      if (end - start < 4) return LINK_TRUNCATED;
      // Host byte order of the machine that captured: accept either.
      const le = u32le(b, start);
      return familyIsIp(le) || familyIsIp(u32be(b, start)) ? 4 : LINK_NOT_IP;
    }
    case LinkType.LOOP:
      if (end - start < 4) return LINK_TRUNCATED;
      return familyIsIp(u32be(b, start)) ? 4 : LINK_NOT_IP;
    default:
      return LINK_UNSUPPORTED;
  }
}
