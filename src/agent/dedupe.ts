/**
 * One packet, one count, however many of the node's interfaces it crossed. A pod-to-pod packet on
 * a bridge CNI leaves the client pod through its veth and enters the server pod through another:
 * capturing both veths sees it twice, and without this the tracker would count every segment
 * twice (as retransmissions) and the connection's bytes double.
 *
 * A packet is a duplicate when the same segment was seen on a *different* interface within
 * `windowMicros` (capture time). "The same segment" is the same hash of what forwarding does not
 * change: for IPv4 the header's version, length, TOS, total length, identification, flags and
 * fragment offset, protocol and addresses (not the TTL or header checksum, which routing
 * rewrites); for IPv6 the first 7 bytes (not the hop limit) and addresses; then the transport
 * header with its options (TCP: ports, sequence and acknowledgement numbers, flags, window,
 * checksum, timestamps option). That is the "connection + seq + direction + payload
 * length" and more: a retransmission carries a new IP identification and TCP timestamp, so it is
 * never taken for the copy of the original. A copy on the *same* interface is kept (it is a real
 * duplicate on that wire, and the tracker counts it as a retransmission, as tshark would).
 *
 * The headers hashed are the innermost ones (through the tunnels the decoder opens: VXLAN, Geneve,
 * IP in IP, GRE, ERSPAN), so an agent capturing the node's uplink, where an overlay network carries
 * a pod's packet encapsulated, and the pod's veth, where it is plain, counts it once.
 *
 * Not deduplicated: traffic rewritten between the two interfaces (a Service's DNAT, masquerade),
 * which is two different packets on the wire and shows as two connections.
 *
 * The table is 4-way set-associative with the oldest slot replaced: bounded (~3.7 MiB), no
 * allocation per packet, and a copy is missed only when four other packets of the same set arrive
 * between the two copies.
 */
import type { CapturedPacket } from '../capture/packet.js';
import { innermostIp, type TunnelInner } from '../decode/tunnels.js';

const WAYS = 4;

export class CrossInterfaceDedupe {
  /** Packets dropped as copies of a packet already seen on another interface. */
  duplicates = 0;
  private readonly mask: number;
  private readonly h1: Uint32Array;
  private readonly h2: Uint32Array;
  private readonly ts: Float64Array;
  private readonly iface: Int32Array;
  /** The two running hashes of the packet being looked at. */
  private a = 0;
  private c = 0;
  private readonly inner: TunnelInner = { at: 0, type: 0 };

  /**
   * @param windowMicros how far apart (capture time) the two copies may be: a bridge forwards in
   *   microseconds; 20 ms leaves room for a loaded node
   * @param sets table size in sets of 4 (a power of two)
   */
  constructor(
    readonly windowMicros = 20_000,
    sets = 1 << 16,
  ) {
    if (sets & (sets - 1)) throw new Error('sets must be a power of two');
    this.mask = sets - 1;
    this.h1 = new Uint32Array(sets * WAYS);
    this.h2 = new Uint32Array(sets * WAYS);
    this.ts = new Float64Array(sets * WAYS);
    this.iface = new Int32Array(sets * WAYS).fill(-1);
  }

  /** True when `pkt`, captured on interface `ifaceId`, is a copy of a packet seen on another one. */
  isDuplicate(pkt: CapturedPacket, ifaceId: number): boolean {
    const b = pkt.data;
    const start = pkt.offset;
    const end = start + pkt.caplen;
    // Inside the tunnels the decoder opens: on the node's uplink a pod's packet is inside VXLAN (or
    // Geneve, IP in IP...), on the pod's veth it is plain, and it is the same packet.
    const ip = innermostIp(pkt.linkType, b, start, end, this.inner);
    if (ip < 0) return false;
    if (end - ip < 20) return false;
    this.a = 0x811c9dc5; // FNV-1a offset basis
    this.c = 0x9747b28c; // the second hash's seed (MurmurHash3-style mixing)
    let l4: number;
    const version = b[ip]! >> 4;
    if (version === 4) {
      const ihl = (b[ip]! & 0x0f) * 4;
      if (ihl < 20 || end - ip < ihl) return false;
      this.hash(b, ip, ip + 8); // version, IHL, TOS, total length, identification, flags, offset
      this.hash(b, ip + 9, ip + 10); // protocol (byte 8, the TTL, is rewritten by routing)
      this.hash(b, ip + 12, ip + 20); // addresses (bytes 10-11, the checksum, follow the TTL)
      l4 = ip + ihl;
    } else if (version === 6) {
      if (end - ip < 40) return false;
      this.hash(b, ip, ip + 7); // version, class, flow label, payload length, next header
      this.hash(b, ip + 8, ip + 40); // addresses (byte 7 is the hop limit)
      l4 = ip + 40;
    } else {
      return false;
    }
    // The transport header: TCP's with options when it looks like one (data offset 6..15 words),
    // else the first 20 bytes (UDP's 8 and the start of the payload; ICMP's header).
    let l4len = 20;
    if (end - l4 >= 20) {
      const off = (b[l4 + 12]! >> 4) * 4;
      if (off > 20 && end - l4 >= off) l4len = off;
    }
    this.hash(b, l4, Math.min(end, l4 + l4len));
    const a = this.a >>> 0;
    const c = fmix(this.c) >>> 0;

    const base = ((a ^ (a >>> 16)) & this.mask) * WAYS;
    const ts = pkt.tsMicros;
    let oldest = base;
    for (let w = base; w < base + WAYS; w++) {
      if (this.h1[w] === a && this.h2[w] === c && this.iface[w] !== -1) {
        if (this.iface[w] !== ifaceId && Math.abs(ts - this.ts[w]!) <= this.windowMicros) {
          this.duplicates++;
          return true;
        }
        // Seen again on the same interface (or long ago): this copy is now the reference.
        this.iface[w] = ifaceId;
        this.ts[w] = ts;
        return false;
      }
      if (this.ts[w]! < this.ts[oldest]!) oldest = w;
    }
    this.h1[oldest] = a;
    this.h2[oldest] = c;
    this.ts[oldest] = ts;
    this.iface[oldest] = ifaceId;
    return false;
  }

  private hash(b: Uint8Array, from: number, to: number): void {
    let a = this.a;
    let c = this.c;
    for (let i = from; i < to; i++) {
      const x = b[i]!;
      a = Math.imul(a ^ x, 0x01000193);
      c = mix(c, x);
    }
    this.a = a;
    this.c = c;
  }
}

function mix(h: number, byte: number): number {
  const k = Math.imul(byte + 1, 0xcc9e2d51);
  const x = h ^ Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  return Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64;
}

function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}
