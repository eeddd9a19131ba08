/**
 * Packet builders for tests. Each one writes the exact bytes its specification lays out, with
 * correct checksums, so that tshark (the independent reference) reads the result as a real capture.
 * Builders return fresh Uint8Arrays and never share buffers.
 *
 * Overrides (`totalLength`, `ihl`, `dataOffset`, `length`, ...) write a field as given instead of
 * the computed value, to make malformed packets on purpose.
 */

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function u16be(v: number): Uint8Array {
  return Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
}

export function u32be(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function u32le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** Bytes of an ASCII string. */
export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

/** "aa:bb:cc:dd:ee:ff" -> 6 bytes. */
export function macAddress(s: string): Uint8Array {
  const parts = s.split(':');
  if (parts.length !== 6) throw new Error(`bad MAC ${s}`);
  return Uint8Array.from(parts, (p) => Number.parseInt(p, 16));
}

/** Dotted quad -> 4 bytes. */
export function ipv4Address(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad IPv4 ${s}`);
  return Uint8Array.from(parts);
}

/** RFC 4291 §2.2 text form (with at most one "::", no embedded IPv4) -> 16 bytes. */
export function ipv6Address(s: string): Uint8Array {
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 ${s}`);
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words. */
export function internetChecksum(...parts: Uint8Array[]): number {
  const b = concat(...parts);
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// ---------------------------------------------------------------------------------------------
// Link layers

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  IPV6: 0x86dd,
  VLAN: 0x8100, // IEEE 802.1Q customer tag
  QINQ: 0x88a8, // IEEE 802.1ad service tag
  QINQ_OLD: 0x9100, // pre-standard QinQ tag
} as const;

export interface VlanTag {
  /** Tag protocol identifier (default 0x8100). */
  tpid?: number;
  vid: number;
  pcp?: number;
  dei?: boolean;
}

export interface EthernetOptions {
  dst?: string;
  src?: string;
  /** EtherType of the payload (after the tags). */
  etherType: number;
  /** Outermost first. */
  vlans?: VlanTag[];
  /** Pad the frame to the 60-byte minimum (64 with the FCS, which captures leave out). */
  pad?: boolean;
  /** Value of the padding bytes (default 0); non-zero catches decoders that read padding as payload. */
  padByte?: number;
}

/**
 * Ethernet II (IEEE 802.3 clause 3.2, DIX framing; LINKTYPE_ETHERNET): destination MAC, source MAC,
 * then for each IEEE 802.1Q / 802.1ad tag a TPID and a TCI (PCP 3 bits, DEI 1 bit, VID 12 bits),
 * then the EtherType and the payload; the FCS is not captured.
 */
export function ethernet(o: EthernetOptions, payload: Uint8Array): Uint8Array {
  const tags = (o.vlans ?? []).map((t) =>
    concat(
      u16be(t.tpid ?? EtherType.VLAN),
      u16be(((t.pcp ?? 0) << 13) | (t.dei ? 0x1000 : 0) | (t.vid & 0xfff)),
    ),
  );
  const frame = concat(
    macAddress(o.dst ?? '02:00:00:00:00:02'),
    macAddress(o.src ?? '02:00:00:00:00:01'),
    ...tags,
    u16be(o.etherType),
    payload,
  );
  if (!o.pad || frame.length >= 60) return frame;
  return concat(frame, new Uint8Array(60 - frame.length).fill(o.padByte ?? 0));
}

export interface SllOptions {
  /** Protocol (an EtherType for IP). */
  protocol: number;
  /** 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us. */
  packetType?: number;
  /** ARPHRD_ type of the interface (1 Ethernet, 772 loopback). */
  arphrd?: number;
  /** Link-layer address of the sender, up to 8 bytes. */
  address?: Uint8Array;
}

/**
 * Linux cooked capture v1 (LINKTYPE_LINUX_SLL, https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html):
 * packet type (2), ARPHRD type (2), address length (2), address (8, zero padded), protocol (2).
 */
export function sll(o: SllOptions, payload: Uint8Array): Uint8Array {
  const addr = o.address ?? macAddress('02:00:00:00:00:01');
  const padded = new Uint8Array(8);
  padded.set(addr.subarray(0, 8));
  return concat(
    u16be(o.packetType ?? 0),
    u16be(o.arphrd ?? 1),
    u16be(addr.length),
    padded,
    u16be(o.protocol),
    payload,
  );
}

export interface Sll2Options extends SllOptions {
  ifindex?: number;
}

/**
 * Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
 * protocol (2), reserved (2, zero), interface index (4), ARPHRD type (2), packet type (1),
 * address length (1), address (8, zero padded).
 */
export function sll2(o: Sll2Options, payload: Uint8Array): Uint8Array {
  const addr = o.address ?? macAddress('02:00:00:00:00:01');
  const padded = new Uint8Array(8);
  padded.set(addr.subarray(0, 8));
  return concat(
    u16be(o.protocol),
    u16be(0),
    u32be(o.ifindex ?? 1),
    u16be(o.arphrd ?? 1),
    Uint8Array.of(o.packetType ?? 0, addr.length),
    padded,
    payload,
  );
}

/** BSD address families seen in LINKTYPE_NULL headers (https://www.tcpdump.org/linktypes/LINKTYPE_NULL.html). */
export const AddressFamily = {
  INET: 2,
  INET6_LINUX: 10,
  INET6_BSD: 24, // NetBSD, OpenBSD, BSD/OS
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;

/**
 * BSD loopback (LINKTYPE_NULL): a 4-byte address family in the byte order of the host that
 * captured, then the IP packet. `byteOrder` picks that host's order.
 */
export function bsdNull(family: number, payload: Uint8Array, byteOrder: 'le' | 'be' = 'le'): Uint8Array {
  return concat(byteOrder === 'le' ? u32le(family) : u32be(family), payload);
}

/** OpenBSD loopback (LINKTYPE_LOOP): like LINKTYPE_NULL but the family is always big-endian. */
export function bsdLoop(family: number, payload: Uint8Array): Uint8Array {
  return concat(u32be(family), payload);
}

// ---------------------------------------------------------------------------------------------
// IP

export const IpProtocol = {
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43,
  FRAGMENT: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59,
  DSTOPTS: 60,
  IPIP: 4,
  IPV6_IN_IP: 41,
  GRE: 47,
} as const;

/** Returns a copy of a TCP or UDP segment with its checksum over the pseudo-header filled in
 * (RFC 9293 §3.1 / RFC 768 for IPv4, RFC 8200 §8.1 for IPv6). */
export function withTransportChecksum(
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  segment: Uint8Array,
): Uint8Array {
  const at = protocol === IpProtocol.TCP ? 16 : protocol === IpProtocol.UDP ? 6 : -1;
  if (at < 0 || segment.length < at + 2) return segment.slice();
  const out = segment.slice();
  out[at] = 0;
  out[at + 1] = 0;
  const pseudo =
    src.length === 4
      ? concat(src, dst, Uint8Array.of(0, protocol), u16be(out.length))
      : concat(src, dst, u32be(out.length), Uint8Array.of(0, 0, 0, protocol));
  let sum = internetChecksum(pseudo, out);
  if (protocol === IpProtocol.UDP && sum === 0) sum = 0xffff; // RFC 768: 0 means "no checksum"
  out.set(u16be(sum), at);
  return out;
}

export interface Ipv4Options {
  src: string;
  dst: string;
  protocol: number;
  id?: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  /** More Fragments flag. */
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragmentOffset?: number;
  /** IPv4 options, zero padded to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** Written instead of the real total length (0: a TSO super-packet). */
  totalLength?: number;
  /** Written instead of the real header length, in 4-byte words. */
  ihl?: number;
  /** Fill the TCP/UDP checksum (default true when the packet is not a fragment). */
  transportChecksum?: boolean;
}

/**
 * IPv4 (RFC 791 §3.1): version/IHL, TOS, total length, identification, flags (DF, MF) and
 * fragment offset (in 8-byte units), TTL, protocol, header checksum, source, destination, options.
 */
export function ipv4(o: Ipv4Options, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const optPadded = new Uint8Array((opts.length + 3) & ~3);
  optPadded.set(opts);
  const headerLen = 20 + optPadded.length;
  const src = ipv4Address(o.src);
  const dst = ipv4Address(o.dst);
  const offset = o.fragmentOffset ?? 0;
  if (offset % 8 !== 0) throw new Error('IPv4 fragment offsets are multiples of 8 bytes');
  const whole = !o.mf && offset === 0;
  const body =
    (o.transportChecksum ?? whole) ? withTransportChecksum(src, dst, o.protocol, payload) : payload;
  const header = concat(
    Uint8Array.of(0x40 | (o.ihl ?? headerLen / 4), o.tos ?? 0),
    u16be(o.totalLength ?? headerLen + body.length),
    u16be(o.id ?? 0x1234),
    u16be((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (offset / 8)),
    Uint8Array.of(o.ttl ?? 64, o.protocol),
    u16be(0),
    src,
    dst,
    optPadded,
  );
  header.set(u16be(internetChecksum(header)), 10);
  return concat(header, body);
}

/**
 * Fragments a datagram the way a router does (RFC 791 §3.2): `payload` (a whole TCP/UDP segment,
 * whose checksum is filled first) is cut into pieces of the given sizes, each but the last a multiple
 * of 8 bytes; every piece but the last has MF set. Returns the fragments in order.
 */
export function ipv4Fragments(o: Ipv4Options, payload: Uint8Array, sizes: number[]): Uint8Array[] {
  const whole = withTransportChecksum(ipv4Address(o.src), ipv4Address(o.dst), o.protocol, payload);
  const pieces: Array<[number, number]> = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= whole.length) break;
    pieces.push([at, Math.min(size, whole.length - at)]);
    at += size;
  }
  if (at < whole.length) pieces.push([at, whole.length - at]);
  return pieces.map(([off, len], i) =>
    ipv4Fragment(o, whole, off, len, i < pieces.length - 1 || off + len < whole.length),
  );
}

/** One IPv4 fragment carrying `whole[offset, offset + length)`, for overlap and duplicate tests. */
export function ipv4Fragment(
  o: Ipv4Options,
  whole: Uint8Array,
  offset: number,
  length: number,
  more: boolean,
): Uint8Array {
  return ipv4(
    { ...o, mf: more, fragmentOffset: offset, transportChecksum: false },
    whole.subarray(offset, offset + length),
  );
}

export interface Ipv6Options {
  src: string;
  dst: string;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
  /** Written instead of the real payload length (0 with a Jumbo Payload option: RFC 2675). */
  payloadLength?: number;
}

export type Ipv6Extension =
  /** Hop-by-Hop (RFC 8200 §4.3) or Destination Options (§4.6); `length` in bytes, a multiple of 8. */
  | { type: 'hop-by-hop' | 'destination'; length?: number }
  /** Routing (§4.4), a type 2 header (RFC 6275 §6.4) with one address; segments left 0. */
  | { type: 'routing'; address?: string }
  /** Fragment (§4.5): offset in bytes (a multiple of 8), M flag, identification. */
  | { type: 'fragment'; offset: number; more: boolean; id: number }
  /** Authentication Header (RFC 4302 §2): length counted in 4-byte words minus 2. */
  | { type: 'ah'; icvLength?: number };

const EXTENSION_TYPE = {
  'hop-by-hop': IpProtocol.HOPOPTS,
  destination: IpProtocol.DSTOPTS,
  routing: IpProtocol.ROUTING,
  fragment: IpProtocol.FRAGMENT,
  ah: IpProtocol.AH,
} as const;

/** One extension header with `next` as its Next Header field. */
export function ipv6ExtensionHeader(e: Ipv6Extension, next: number): Uint8Array {
  switch (e.type) {
    case 'hop-by-hop':
    case 'destination': {
      const len = e.length ?? 8;
      if (len < 8 || len % 8 !== 0) throw new Error('option headers are a multiple of 8 bytes');
      // Options: one PadN (type 1, RFC 8200 §4.2) filling the header, then Pad1s if PadN is too short.
      const opts = new Uint8Array(len - 2);
      const padN = Math.min(opts.length - 2, 255);
      opts[0] = 1;
      opts[1] = padN;
      return concat(Uint8Array.of(next, len / 8 - 1), opts);
    }
    case 'routing':
      // Type 2: reserved (4), home address (16); header extension length 2 (24 bytes in all).
      return concat(Uint8Array.of(next, 2, 2, 0), u32be(0), ipv6Address(e.address ?? '2001:db8::99'));
    case 'fragment':
      return concat(Uint8Array.of(next, 0), u16be((e.offset & 0xfff8) | (e.more ? 1 : 0)), u32be(e.id));
    case 'ah': {
      const icv = e.icvLength ?? 12;
      const total = 12 + icv;
      return concat(
        Uint8Array.of(next, total / 4 - 2),
        u16be(0),
        u32be(0x1000),
        u32be(1),
        new Uint8Array(icv),
      );
    }
  }
}

/** A chain of extension headers followed by `protocol`. */
export function ipv6Extensions(extensions: Ipv6Extension[], protocol: number): Uint8Array {
  return concat(
    ...extensions.map((e, i) => {
      const following = extensions[i + 1];
      return ipv6ExtensionHeader(e, following ? EXTENSION_TYPE[following.type] : protocol);
    }),
  );
}

/**
 * IPv6 (RFC 8200 §3): version, traffic class, flow label, payload length, next header, hop limit,
 * source, destination; then the extension headers in order (§4.1) and the upper-layer payload, whose
 * TCP/UDP checksum is filled unless the chain holds a fragment header.
 */
export function ipv6(
  o: Ipv6Options,
  extensions: Ipv6Extension[],
  protocol: number,
  payload: Uint8Array,
): Uint8Array {
  const src = ipv6Address(o.src);
  const dst = ipv6Address(o.dst);
  const fragmented = extensions.some((e) => e.type === 'fragment');
  const body = fragmented ? payload : withTransportChecksum(src, dst, protocol, payload);
  const ext = ipv6Extensions(extensions, protocol);
  const first = extensions[0] ? EXTENSION_TYPE[extensions[0].type] : protocol;
  const tc = o.trafficClass ?? 0;
  const fl = o.flowLabel ?? 0;
  return concat(
    u32be(((6 << 28) | (tc << 20) | (fl & 0xfffff)) >>> 0),
    u16be(o.payloadLength ?? ext.length + body.length),
    Uint8Array.of(first, o.hopLimit ?? 64),
    src,
    dst,
    ext,
    body,
  );
}

/**
 * Fragments an IPv6 packet as its source does (RFC 8200 §4.5): the unfragmentable part (IPv6 header
 * and `unfragmentable` extension headers) is repeated in every fragment, followed by a Fragment
 * header; the fragmentable part (`fragmentable` extension headers, then the upper-layer segment,
 * checksummed first) is cut into pieces of the given sizes, each but the last a multiple of 8.
 */
export function ipv6Fragments(
  o: Ipv6Options,
  unfragmentable: Ipv6Extension[],
  fragmentable: Ipv6Extension[],
  protocol: number,
  payload: Uint8Array,
  sizes: number[],
  id: number,
): Uint8Array[] {
  const whole = ipv6FragmentablePart(o, fragmentable, protocol, payload);
  const pieces: Array<[number, number]> = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= whole.length) break;
    pieces.push([at, Math.min(size, whole.length - at)]);
    at += size;
  }
  if (at < whole.length) pieces.push([at, whole.length - at]);
  const inner = fragmentable[0] ? EXTENSION_TYPE[fragmentable[0].type] : protocol;
  return pieces.map(([off, len], i) =>
    ipv6Fragment(o, unfragmentable, inner, whole, off, len, i < pieces.length - 1, id),
  );
}

/** The fragmentable part of a datagram: extension headers after the fragment header, then the segment. */
export function ipv6FragmentablePart(
  o: Ipv6Options,
  fragmentable: Ipv6Extension[],
  protocol: number,
  payload: Uint8Array,
): Uint8Array {
  const seg = withTransportChecksum(ipv6Address(o.src), ipv6Address(o.dst), protocol, payload);
  return concat(ipv6Extensions(fragmentable, protocol), seg);
}

/** One IPv6 fragment carrying `whole[offset, offset + length)`; `inner` is the fragment header's Next Header. */
export function ipv6Fragment(
  o: Ipv6Options,
  unfragmentable: Ipv6Extension[],
  inner: number,
  whole: Uint8Array,
  offset: number,
  length: number,
  more: boolean,
  id: number,
): Uint8Array {
  const exts: Ipv6Extension[] = [...unfragmentable, { type: 'fragment', offset, more, id }];
  // ipv6() writes the last header's Next Header as `protocol`: here, the fragmentable part's first.
  return ipv6(o, exts, inner, whole.subarray(offset, offset + length));
}

// ---------------------------------------------------------------------------------------------
// Transport

export const TcpFlags = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018). */
export const TcpOption = {
  eol: (): Uint8Array => Uint8Array.of(0),
  nop: (): Uint8Array => Uint8Array.of(1),
  mss: (n: number): Uint8Array => concat(Uint8Array.of(2, 4), u16be(n)),
  windowScale: (shift: number): Uint8Array => Uint8Array.of(3, 3, shift),
  sackPermitted: (): Uint8Array => Uint8Array.of(4, 2),
  sack: (blocks: Array<[number, number]>): Uint8Array =>
    concat(Uint8Array.of(5, 2 + 8 * blocks.length), ...blocks.map(([l, r]) => concat(u32be(l), u32be(r)))),
  timestamps: (value: number, echo: number): Uint8Array =>
    concat(Uint8Array.of(8, 10), u32be(value), u32be(echo)),
};

export interface TcpOptions {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** TcpFlags bits (default ACK). */
  flags?: number;
  window?: number;
  urgent?: number;
  /** Option bytes; padded with EOL to a multiple of 4. */
  options?: Uint8Array;
  /** Written instead of the real data offset, in 4-byte words. */
  dataOffset?: number;
}

/**
 * TCP header (RFC 9293 §3.1): ports, sequence and acknowledgment numbers, data offset (4 bits) and
 * reserved bits, flags, window, checksum (left 0; the IP builders fill it), urgent pointer, options.
 */
export function tcp(o: TcpOptions, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const padded = new Uint8Array((opts.length + 3) & ~3);
  padded.set(opts);
  const headerWords = (20 + padded.length) / 4;
  return concat(
    u16be(o.srcPort),
    u16be(o.dstPort),
    u32be(o.seq ?? 0),
    u32be(o.ack ?? 0),
    Uint8Array.of((o.dataOffset ?? headerWords) << 4, o.flags ?? TcpFlags.ACK),
    u16be(o.window ?? 65535),
    u16be(0),
    u16be(o.urgent ?? 0),
    padded,
    payload,
  );
}

// ---------------------------------------------------------------------------------------------
// Tunnels (the overlays of Kubernetes networks, and mirroring sessions)

/** EtherTypes tunnels carry. */
export const TunnelType = {
  BRIDGED: 0x6558, // Transparent Ethernet Bridging: an Ethernet frame
  ERSPAN2: 0x88be,
  ERSPAN3: 0x22eb,
} as const;

/** VXLAN (RFC 7348 §5): flags (I set), 24 reserved bits, the 24-bit VNI, 8 reserved bits; then the frame. */
export function vxlan(vni: number, frame: Uint8Array, flags = 0x08): Uint8Array {
  return concat(Uint8Array.of(flags, 0, 0, 0), u32be(((vni & 0xffffff) << 8) >>> 0), frame);
}

/**
 * Geneve (RFC 8926 §3.4): version 0 and options length (4-byte words), O and C flags, protocol type,
 * VNI and a reserved byte, then the options (class, type, length in words, data) and the payload.
 */
export function geneve(
  vni: number,
  protocol: number,
  payload: Uint8Array,
  options: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (options.length % 4 !== 0) throw new Error('Geneve options are whole 4-byte words');
  return concat(
    Uint8Array.of(options.length / 4, 0),
    u16be(protocol),
    u32be(((vni & 0xffffff) << 8) >>> 0),
    options,
    payload,
  );
}

/** A Geneve option (RFC 8926 §3.5): class, type, length of the data in 4-byte words, data. */
export function geneveOption(optionClass: number, type: number, data: Uint8Array): Uint8Array {
  if (data.length % 4 !== 0) throw new Error('Geneve option data is whole 4-byte words');
  return concat(u16be(optionClass), Uint8Array.of(type, data.length / 4), data);
}

export interface GreOptions {
  protocol: number;
  /** Add the checksum field (C), filled over the GRE header and payload (RFC 2784 §2.5). */
  checksum?: boolean;
  /** K and S fields (RFC 2890). */
  key?: number;
  sequence?: number;
}

/** GRE (RFC 2784, RFC 2890): C, K, S flags and version 0, protocol type, optional fields, payload. */
export function gre(o: GreOptions, payload: Uint8Array): Uint8Array {
  const flags =
    (o.checksum ? 0x80 : 0) | (o.key !== undefined ? 0x20 : 0) | (o.sequence !== undefined ? 0x10 : 0);
  const out = concat(
    Uint8Array.of(flags, 0),
    u16be(o.protocol),
    o.checksum ? new Uint8Array(4) : new Uint8Array(0),
    o.key !== undefined ? u32be(o.key) : new Uint8Array(0),
    o.sequence !== undefined ? u32be(o.sequence) : new Uint8Array(0),
    payload,
  );
  if (o.checksum) out.set(u16be(internetChecksum(out)), 4);
  return out;
}

/** ERSPAN type II header (draft-foschiano-erspan §4.1): version 1, VLAN, COS/En/T, session, index. */
export function erspan2(session: number, frame: Uint8Array): Uint8Array {
  return concat(u16be(0x1000), u16be(((session & 0x3ff) | (3 << 11)) & 0xffff), u32be(0), frame);
}

/**
 * ERSPAN type III header (draft-foschiano-erspan §4.2): version 2, VLAN, COS/BSO/T, session,
 * timestamp, SGT, P/FT/HW ID/D/Gra/O; with `platform`, O set and the 8-byte platform subheader.
 */
export function erspan3(session: number, frame: Uint8Array, platform?: Uint8Array): Uint8Array {
  if (platform && platform.length !== 8) throw new Error('the ERSPAN III platform subheader is 8 bytes');
  return concat(
    u16be(0x2000),
    u16be(session & 0x3ff),
    u32be(0x01020304),
    u16be(0),
    u16be(platform ? 0x0001 : 0x0000),
    platform ?? new Uint8Array(0),
    frame,
  );
}

export interface UdpOptions {
  srcPort: number;
  dstPort: number;
  /** Written instead of the real length. */
  length?: number;
}

/** UDP (RFC 768): ports, length (header and data), checksum (left 0; the IP builders fill it). */
export function udp(o: UdpOptions, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u16be(o.srcPort), u16be(o.dstPort), u16be(o.length ?? 8 + payload.length), u16be(0), payload);
}

// ---------------------------------------------------------------------------------------------
// Conversations

export interface Endpoint {
  ip: string;
  port: number;
}

export interface Segment {
  fromClient: boolean;
  src: Endpoint;
  dst: Endpoint;
  /** The TCP segment (checksum to be filled by the IP builder). */
  bytes: Uint8Array;
  flags: number;
  payloadLength: number;
}

/**
 * A complete TCP connection as segments: three-way handshake (RFC 9293 §3.5), each message as one
 * segment from its side with the peer's ACK, then FIN from the client, FIN-ACK, final ACK.
 */
export function tcpConversation(
  client: Endpoint,
  server: Endpoint,
  messages: Array<{ fromClient: boolean; data: Uint8Array }>,
  isn: { client: number; server: number } = { client: 1000, server: 5000 },
): Segment[] {
  let cseq = isn.client;
  let sseq = isn.server;
  const out: Segment[] = [];
  const push = (
    fromClient: boolean,
    flags: number,
    data: Uint8Array = new Uint8Array(0),
    opts?: Uint8Array,
  ) => {
    const [src, dst] = fromClient ? [client, server] : [server, client];
    const seq = fromClient ? cseq : sseq;
    const ack = flags & TcpFlags.ACK ? (fromClient ? sseq : cseq) : 0;
    const bytes = tcp({ srcPort: src.port, dstPort: dst.port, seq, ack, flags, options: opts }, data);
    out.push({ fromClient, src, dst, bytes, flags, payloadLength: data.length });
    const advance = data.length + (flags & (TcpFlags.SYN | TcpFlags.FIN) ? 1 : 0);
    if (fromClient) cseq = (cseq + advance) >>> 0;
    else sseq = (sseq + advance) >>> 0;
  };
  const synOpts = concat(TcpOption.mss(1460), TcpOption.sackPermitted(), TcpOption.windowScale(7));
  push(true, TcpFlags.SYN, undefined, synOpts);
  push(false, TcpFlags.SYN | TcpFlags.ACK, undefined, synOpts);
  push(true, TcpFlags.ACK);
  for (const m of messages) {
    push(m.fromClient, TcpFlags.PSH | TcpFlags.ACK, m.data);
    push(!m.fromClient, TcpFlags.ACK);
  }
  push(true, TcpFlags.FIN | TcpFlags.ACK);
  push(false, TcpFlags.FIN | TcpFlags.ACK);
  push(true, TcpFlags.ACK);
  return out;
}
