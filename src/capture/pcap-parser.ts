/**
 * A push parser for capture files: classic pcap (both byte orders, micro- and nanosecond) and pcapng
 * (sections, several interfaces with their own link types and time resolutions, Enhanced, Simple
 * and obsolete Packet Blocks; unknown blocks skipped). It parses only whole records and tells the
 * driver how many bytes it needs for the next one, so any file streams through a bounded buffer.
 *
 * Formats: pcap https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html,
 * pcapng https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html.
 */
import { u16be, u16le, u32be, u32le } from '../wire/bytes.js';
import type { ErrorCounters } from '../wire/errors.js';
import { CapturedPacket, type PacketHandler } from './packet.js';

/** Raised when the file cannot be read past `offset`; every packet before it has been delivered. */
export class CaptureFormatError extends Error {
  constructor(
    readonly code: 'capture.truncated' | 'capture.corrupt',
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'CaptureFormatError';
  }
}

/** Largest record accepted; bigger lengths are corruption, not packets (LINKTYPE max snaplen is 256 KiB). */
export const MAX_RECORD = 16 * 1024 * 1024;
const MAX_PACKET = 1024 * 1024;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BOM = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_OPB = 2; // obsolete Packet Block (pcapng draft, Appendix A)
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

interface Interface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol). */
  unitsPerSecond: number;
  /**
   * For 10^-6..10^-12 resolutions, d = units / 10^6 and 2^32 = q * d + r, so that microseconds are
   * hi * q + floor((hi * r + lo) / d) in exact integer arithmetic; 0 for other resolutions.
   */
  d: number;
  q: number;
  r: number;
  offsetMicros: number;
}

/**
 * A 64-bit pcapng timestamp (high and low words) in whole microseconds, truncated like tshark.
 * Fix: this was `hi * (2^32 * 10^6 / units) + lo * (10^6 / units)` in floating point, whose error
 * (about 0.25 µs at today's dates) put 15% of nanosecond timestamps 1 µs off tshark's.
 */
function ticksToMicros(hi: number, lo: number, i: Interface): number {
  if (i.d === 1) return hi * 4294967296 + lo;
  if (i.d > 0) return hi * i.q + Math.floor((hi * i.r + lo) / i.d);
  // 2^-n and coarser-than-µs resolutions are rare: exact in BigInt, off the common path.
  return Number((((BigInt(hi) << 32n) | BigInt(lo)) * 1_000_000n) / BigInt(i.unitsPerSecond));
}

type Format = 'unknown' | 'pcap' | 'pcapng';

export class CapturePacketParser {
  format: Format = 'unknown';
  /** Bytes the next record needs in all, from the first unconsumed byte; the driver grows its buffer to it. */
  needed = 24;
  packets = 0;

  private le = true;
  private pcapLinkType = 0;
  private pcapFracToMicros = 1;
  private interfaces: Interface[] = [];
  /** Link types of every interface of every section (a new section forgets the earlier interfaces). */
  private allLinkTypes: number[] = [];
  private readonly pkt = new CapturedPacket();

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly errors: ErrorCounters,
  ) {}

  /** The capture's link types (one per pcapng interface), known once the header has been parsed. */
  linkTypes(): number[] {
    // Fix: this listed only the last section's interfaces.
    return this.format === 'pcap' ? [this.pcapLinkType] : [...this.allLinkTypes];
  }

  /**
   * Parses whole records in `buf[start, end)`, where `buf[start]` sits at `fileOffset` in the file.
   * Returns the index of the first byte not consumed (the start of an incomplete record).
   */
  parse(buf: Uint8Array, start: number, end: number, fileOffset: number): number {
    let pos = start;
    if (this.format === 'unknown') {
      if (end - pos < 12) {
        this.needed = 24;
        return pos;
      }
      const magicBE = u32be(buf, pos);
      const magicLE = u32le(buf, pos);
      if (magicBE === PCAPNG_SHB) {
        this.format = 'pcapng';
      } else if (
        magicLE === PCAP_MAGIC_US ||
        magicLE === PCAP_MAGIC_NS ||
        magicBE === PCAP_MAGIC_US ||
        magicBE === PCAP_MAGIC_NS
      ) {
        // Fix: the format is settled only once the whole 24-byte header is here. It used to be set
        // before this check, so a first read of 12 to 23 bytes (a small chunk size) made the next
        // call parse the file header as a packet record.
        if (end - pos < 24) {
          this.needed = 24;
          return pos;
        }
        this.format = 'pcap';
        this.le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS;
      } else {
        throw new CaptureFormatError(
          'capture.corrupt',
          fileOffset,
          `not a pcap or pcapng file (magic 0x${magicBE.toString(16).padStart(8, '0')} at offset 0)`,
        );
      }
      if (this.format === 'pcap') {
        const magic = this.le ? magicLE : magicBE;
        this.pcapFracToMicros = magic === PCAP_MAGIC_NS ? 1 / 1000 : 1;
        this.pcapLinkType = this.r32(buf, pos + 20) & 0xffff;
        pos += 24;
      }
    }
    return this.format === 'pcap'
      ? this.parsePcap(buf, pos, end, fileOffset - start)
      : this.parsePcapng(buf, pos, end, fileOffset - start);
  }

  private r32(b: Uint8Array, i: number): number {
    return this.le ? u32le(b, i) : u32be(b, i);
  }

  private r16(b: Uint8Array, i: number): number {
    return this.le ? u16le(b, i) : u16be(b, i);
  }

  /** `base` is the file offset of buf[0]. */
  private parsePcap(buf: Uint8Array, pos: number, end: number, base: number): number {
    const pkt = this.pkt;
    pkt.data = buf;
    pkt.linkType = this.pcapLinkType;
    pkt.interfaceId = 0;
    const frac = this.pcapFracToMicros;
    while (end - pos >= 16) {
      const caplen = this.r32(buf, pos + 8);
      if (caplen > MAX_PACKET) {
        throw new CaptureFormatError(
          'capture.corrupt',
          base + pos,
          `corrupt pcap record at offset ${base + pos}: captured length ${caplen} exceeds ${MAX_PACKET}`,
        );
      }
      if (end - pos < 16 + caplen) {
        this.needed = 16 + caplen;
        return pos;
      }
      pkt.tsMicros = this.r32(buf, pos) * 1_000_000 + Math.floor(this.r32(buf, pos + 4) * frac);
      pkt.caplen = caplen;
      pkt.wirelen = this.r32(buf, pos + 12);
      pkt.offset = pos + 16;
      pkt.recordOffset = base + pos;
      this.packets++;
      this.onPacket(pkt);
      pos += 16 + caplen;
    }
    this.needed = 16;
    return pos;
  }

  private parsePcapng(buf: Uint8Array, pos: number, end: number, base: number): number {
    while (end - pos >= 12) {
      const typeBE = u32be(buf, pos);
      if (typeBE === PCAPNG_SHB) {
        // The byte-order magic tells how to read this section, its own length included.
        const bomLE = u32le(buf, pos + 8);
        if (bomLE === PCAPNG_BOM) this.le = true;
        else if (u32be(buf, pos + 8) === PCAPNG_BOM) this.le = false;
        else {
          throw new CaptureFormatError(
            'capture.corrupt',
            base + pos,
            `corrupt pcapng section header at offset ${base + pos}: bad byte-order magic`,
          );
        }
      }
      const type = this.r32(buf, pos);
      const len = this.r32(buf, pos + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
        throw new CaptureFormatError(
          'capture.corrupt',
          base + pos,
          `corrupt pcapng block at offset ${base + pos}: block length ${len} (type 0x${type.toString(16)})`,
        );
      }
      if (end - pos < len) {
        this.needed = len;
        return pos;
      }
      if (this.r32(buf, pos + len - 4) !== len) {
        throw new CaptureFormatError(
          'capture.corrupt',
          base + pos,
          `corrupt pcapng block at offset ${base + pos}: trailing length does not match ${len}`,
        );
      }
      if (type === PCAPNG_SHB) this.interfaces = [];
      else if (type === BLOCK_IDB) this.readInterface(buf, pos, len, base);
      else if (type === BLOCK_EPB || type === BLOCK_OPB) this.readEnhanced(buf, pos, len, base, type);
      else if (type === BLOCK_SPB) this.readSimple(buf, pos, len, base);
      // Every other block (name resolution, statistics, decryption secrets, custom) is skipped.
      pos += len;
    }
    this.needed = 12;
    return pos;
  }

  private readInterface(buf: Uint8Array, pos: number, len: number, base: number): void {
    if (len < 20) {
      throw new CaptureFormatError(
        'capture.corrupt',
        base + pos,
        `corrupt pcapng interface block at offset ${base + pos}: length ${len}`,
      );
    }
    let unitsPerSecond = 1_000_000;
    let offsetSeconds = 0;
    // Options: code (2), length (2), value padded to 4 bytes (pcapng §3.5).
    let o = pos + 16;
    const optEnd = pos + len - 4;
    while (optEnd - o >= 4) {
      const code = this.r16(buf, o);
      const olen = this.r16(buf, o + 2);
      if (code === OPT_END || o + 4 + olen > optEnd) break;
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        const v = buf[o + 4]!;
        const exp = v & 0x7f;
        unitsPerSecond = v & 0x80 ? 2 ** exp : 10 ** exp;
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const hi = this.r32(buf, o + (this.le ? 8 : 4));
        const lo = this.r32(buf, o + (this.le ? 4 : 8));
        offsetSeconds = (hi | 0) * 4294967296 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    const d = unitsPerSecond / 1_000_000;
    const exact = Number.isInteger(d) && d >= 1 && d <= 1_000_000;
    const q = exact ? Math.floor(4294967296 / d) : 0;
    const linkType = this.r16(buf, pos + 8);
    this.interfaces.push({
      linkType,
      snaplen: this.r32(buf, pos + 12),
      unitsPerSecond,
      d: exact ? d : 0,
      q,
      r: exact ? 4294967296 - q * d : 0,
      offsetMicros: offsetSeconds * 1_000_000,
    });
    this.allLinkTypes.push(linkType);
  }

  private readEnhanced(buf: Uint8Array, pos: number, len: number, base: number, type: number): void {
    if (len < 32) {
      throw new CaptureFormatError(
        'capture.corrupt',
        base + pos,
        `corrupt pcapng packet block at offset ${base + pos}: length ${len}`,
      );
    }
    const ifId = type === BLOCK_EPB ? this.r32(buf, pos + 8) : this.r16(buf, pos + 8);
    const iface = this.interfaces[ifId];
    if (!iface) {
      this.errors.add('capture.unknown_interface');
      return;
    }
    const caplen = this.r32(buf, pos + 20);
    if (caplen > len - 32) {
      throw new CaptureFormatError(
        'capture.corrupt',
        base + pos,
        `corrupt pcapng packet block at offset ${base + pos}: captured length ${caplen} exceeds block length ${len}`,
      );
    }
    const pkt = this.pkt;
    pkt.data = buf;
    pkt.offset = pos + 28;
    pkt.caplen = caplen;
    pkt.wirelen = this.r32(buf, pos + 24);
    pkt.tsMicros =
      ticksToMicros(this.r32(buf, pos + 12), this.r32(buf, pos + 16), iface) + iface.offsetMicros;
    pkt.linkType = iface.linkType;
    pkt.interfaceId = ifId;
    pkt.recordOffset = base + pos;
    this.packets++;
    this.onPacket(pkt);
  }

  private readSimple(buf: Uint8Array, pos: number, len: number, base: number): void {
    const iface = this.interfaces[0];
    if (!iface) {
      this.errors.add('capture.unknown_interface');
      return;
    }
    if (len < 16) {
      throw new CaptureFormatError(
        'capture.corrupt',
        base + pos,
        `corrupt pcapng simple packet block at offset ${base + pos}: length ${len}`,
      );
    }
    const wirelen = this.r32(buf, pos + 8);
    // SPB has no captured length: it is the smaller of the original length and the snap length (§4.4).
    let caplen = Math.min(wirelen, len - 16);
    if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
    const pkt = this.pkt;
    pkt.data = buf;
    pkt.offset = pos + 12;
    pkt.caplen = caplen;
    pkt.wirelen = wirelen;
    // SPB carries no timestamp: the packet keeps the previous packet's, so flow timing stays monotonic.
    pkt.linkType = iface.linkType;
    pkt.interfaceId = 0;
    pkt.recordOffset = base + pos;
    this.packets++;
    this.onPacket(pkt);
  }
}
