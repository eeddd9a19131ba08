/**
 * Writes capture files byte by byte from their specifications and records, for every packet, what
 * a correct reader must report (timestamp in whole microseconds, lengths, link type, interface,
 * offset of its record). The expected timestamps are computed here with BigInt, exactly, and
 * independently of the reader's arithmetic.
 *
 * pcap:   https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html
 * pcapng: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
 *         (the obsolete Packet Block is in its Appendix A)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export type ByteOrder = 'le' | 'be';

/** One packet as the writer wrote it: what the reader must report. */
export interface WrittenPacket {
  tsMicros: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  interfaceId: number;
  /** File offset of the packet's record or block. */
  recordOffset: number;
  /** The captured bytes. */
  data: Uint8Array;
}

/** A record (pcap: file header or packet record; pcapng: any block) and where it sits. */
export interface WrittenRecord {
  offset: number;
  length: number;
  what: string;
}

export interface CaptureBytes {
  format: 'pcap' | 'pcapng';
  /** The file as written (gzipped when `gzipped`). */
  bytes: Uint8Array;
  /** Offsets below are in the uncompressed file. */
  packets: WrittenPacket[];
  records: WrittenRecord[];
  gzipped: boolean;
}

/** Little helper that appends integers in one byte order. */
class Encoder {
  private readonly parts: Uint8Array[] = [];
  length = 0;
  constructor(readonly le: boolean) {}

  bytes(b: Uint8Array): this {
    this.parts.push(b.slice());
    this.length += b.length;
    return this;
  }
  u8(v: number): this {
    return this.bytes(Uint8Array.of(v & 0xff));
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v & 0xffff, this.le);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, this.le);
    return this.bytes(b);
  }
  i64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigInt64(0, v, this.le);
    return this.bytes(b);
  }
  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, this.le);
    return this.bytes(b);
  }
  /** Zero bytes up to a multiple of 4. */
  pad4(): this {
    return this.bytes(new Uint8Array((4 - (this.length % 4)) % 4));
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// pcap

export const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOS = 0xa1b23c4d;

export interface PcapOptions {
  byteOrder?: ByteOrder;
  /** Nanosecond timestamps (magic 0xA1B23C4D) instead of microseconds. */
  nanos?: boolean;
  linkType: number;
  snaplen?: number;
}

export interface PcapPacket {
  data: Uint8Array;
  sec: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  frac?: number;
  /** Original length (default: data.length). */
  wirelen?: number;
}

/**
 * Classic pcap (draft-ietf-opsawg-pcap §4, §5): a 24-byte file header (magic, version 2.4,
 * reserved, snap length, link type) in the writer's byte order, then per packet a 16-byte record
 * header (seconds, micro- or nanoseconds, captured length, original length) and the bytes.
 */
export function writePcap(o: PcapOptions, packets: PcapPacket[]): CaptureBytes {
  const le = (o.byteOrder ?? 'le') === 'le';
  const parts: Uint8Array[] = [];
  const records: WrittenRecord[] = [];
  const written: WrittenPacket[] = [];
  const header = new Encoder(le)
    .u32(o.nanos ? PCAP_MAGIC_NANOS : PCAP_MAGIC_MICROS)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(o.snaplen ?? 262144)
    .u32(o.linkType)
    .done();
  parts.push(header);
  records.push({ offset: 0, length: 24, what: 'pcap file header' });
  let offset = 24;
  for (const p of packets) {
    const frac = p.frac ?? 0;
    const rec = new Encoder(le)
      .u32(p.sec)
      .u32(frac)
      .u32(p.data.length)
      .u32(p.wirelen ?? p.data.length)
      .bytes(p.data)
      .done();
    parts.push(rec);
    records.push({ offset, length: rec.length, what: 'pcap packet record' });
    written.push({
      tsMicros: p.sec * 1_000_000 + (o.nanos ? Math.floor(frac / 1000) : frac),
      caplen: p.data.length,
      wirelen: p.wirelen ?? p.data.length,
      linkType: o.linkType,
      interfaceId: 0,
      recordOffset: offset,
      data: p.data,
    });
    offset += rec.length;
  }
  return { format: 'pcap', bytes: concatAll(parts), packets: written, records, gzipped: false };
}

// ---------------------------------------------------------------------------------------------
// pcapng

/** An option (pcapng §3.5): code, value; the writer adds length and padding, and opt_endofopt. */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

export const IF_TSRESOL_MICROS = 6;
export const IF_TSRESOL_NANOS = 9;
/** if_tsresol for 2^-n seconds (most significant bit set). */
export const ifTsresolPow2 = (n: number): number => 0x80 | n;

export interface InterfaceOptions {
  linkType: number;
  snaplen?: number;
  /** Raw if_tsresol byte (§4.2); absent means 10^-6. */
  tsresol?: number;
  /** if_tsoffset in seconds (§4.2), added to every timestamp of the interface. */
  tsoffset?: number;
  name?: string;
}

interface InterfaceState {
  linkType: number;
  snaplen: number;
  unitsPerSecond: bigint;
  offsetSeconds: bigint;
}

const te = new TextEncoder();

export function stringOption(code: number, s: string): PcapngOption {
  return { code, value: te.encode(s) };
}

/**
 * Builds a pcapng file block by block. Each block (§3.1) is type, total length, body, total
 * length again; bodies are padded to 32 bits. A new `section` starts a new Section Header Block,
 * possibly in the other byte order; interface ids restart at 0 in each section (§4.2).
 */
export class PcapngWriter {
  private readonly parts: Uint8Array[] = [];
  private offset = 0;
  private le = true;
  private interfaces: InterfaceState[] = [];
  /** What an SPB's packet reports as its time: podwire keeps the previous packet's timestamp. */
  private lastTs = 0;
  readonly packets: WrittenPacket[] = [];
  readonly records: WrittenRecord[] = [];

  private enc(): Encoder {
    return new Encoder(this.le);
  }

  private options(e: Encoder, options: PcapngOption[]): void {
    if (options.length === 0) return;
    for (const o of options) e.u16(o.code).u16(o.value.length).bytes(o.value).pad4();
    e.u16(0).u16(0); // opt_endofopt
  }

  /** Appends a block: type, total length, body (padded), total length. */
  block(type: number, body: Uint8Array, what = `block 0x${type.toString(16)}`): this {
    const padded = (body.length + 3) & ~3;
    const total = 12 + padded;
    const e = this.enc().u32(type).u32(total).bytes(body).pad4().u32(total);
    return this.raw(e.done(), what);
  }

  /** Appends bytes as they are (for corrupt files); counted as one record. */
  raw(bytes: Uint8Array, what = 'raw bytes'): this {
    this.parts.push(bytes);
    this.records.push({ offset: this.offset, length: bytes.length, what });
    this.offset += bytes.length;
    return this;
  }

  /**
   * Section Header Block (§4.1): byte-order magic 0x1A2B3C4D, version 1.0, section length (-1:
   * not given), options (shb_hardware, shb_os, shb_userappl).
   */
  section(byteOrder: ByteOrder = 'le', options: PcapngOption[] = []): this {
    this.le = byteOrder === 'le';
    this.interfaces = [];
    const e = this.enc().u32(0x1a2b3c4d).u16(1).u16(0).i64(-1n);
    this.options(e, options);
    return this.block(0x0a0d0d0a, e.done(), 'section header block');
  }

  /** Interface Description Block (§4.2): link type, reserved, snap length, options
   * (if_name 2, if_tsresol 9, if_tsoffset 14). Returns the interface id within the section. */
  interface(o: InterfaceOptions): number {
    const e = this.enc()
      .u16(o.linkType)
      .u16(0)
      .u32(o.snaplen ?? 0);
    const opts: PcapngOption[] = [];
    if (o.name !== undefined) opts.push(stringOption(2, o.name));
    if (o.tsresol !== undefined) opts.push({ code: 9, value: Uint8Array.of(o.tsresol) });
    if (o.tsoffset !== undefined) opts.push({ code: 14, value: this.enc().i64(BigInt(o.tsoffset)).done() });
    this.options(e, opts);
    this.block(1, e.done(), 'interface description block');
    const r = o.tsresol ?? IF_TSRESOL_MICROS;
    this.interfaces.push({
      linkType: o.linkType,
      snaplen: o.snaplen ?? 0,
      unitsPerSecond: r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r & 0x7f),
      offsetSeconds: BigInt(o.tsoffset ?? 0),
    });
    return this.interfaces.length - 1;
  }

  /** Exact microseconds for `ticks` of an interface: floor(ticks * 10^6 / units) + offset. */
  micros(interfaceId: number, ticks: bigint): number {
    const i = this.interfaces[interfaceId];
    if (!i) throw new Error(`no interface ${interfaceId} in this section`);
    return Number((ticks * 1_000_000n) / i.unitsPerSecond + i.offsetSeconds * 1_000_000n);
  }

  /** Ticks of an interface's resolution for a time in seconds plus nanoseconds (floor). */
  ticks(interfaceId: number, seconds: number, nanos = 0): bigint {
    const i = this.interfaces[interfaceId];
    if (!i) throw new Error(`no interface ${interfaceId} in this section`);
    return (
      (BigInt(seconds) - i.offsetSeconds) * i.unitsPerSecond +
      (BigInt(nanos) * i.unitsPerSecond) / 1_000_000_000n
    );
  }

  private record(interfaceId: number, ticks: bigint | null, data: Uint8Array, wirelen: number): void {
    const iface = this.interfaces[interfaceId];
    const tsMicros = ticks === null ? this.lastTs : this.micros(interfaceId, ticks);
    this.lastTs = tsMicros;
    this.packets.push({
      tsMicros,
      caplen: data.length,
      wirelen,
      linkType: iface?.linkType ?? -1,
      interfaceId,
      recordOffset: this.offset,
      data,
    });
  }

  /** Enhanced Packet Block (§4.3): interface id, timestamp (high, low 32 bits), captured length,
   * original length, data, options (opt_comment 1). */
  epb(o: { interfaceId: number; ticks: bigint; data: Uint8Array; wirelen?: number; comment?: string }): this {
    const wirelen = o.wirelen ?? o.data.length;
    const e = this.enc()
      .u32(o.interfaceId)
      .u32(Number(o.ticks >> 32n))
      .u32(Number(o.ticks & 0xffffffffn))
      .u32(o.data.length)
      .u32(wirelen)
      .bytes(o.data)
      .pad4();
    this.options(e, o.comment === undefined ? [] : [stringOption(1, o.comment)]);
    this.record(o.interfaceId, o.ticks, o.data, wirelen);
    return this.block(6, e.done(), 'enhanced packet block');
  }

  /** Obsolete Packet Block (Appendix A, type 2): 16-bit interface id, 16-bit drops count, then as EPB. */
  opb(o: { interfaceId: number; ticks: bigint; data: Uint8Array; wirelen?: number; drops?: number }): this {
    const wirelen = o.wirelen ?? o.data.length;
    const e = this.enc()
      .u16(o.interfaceId)
      .u16(o.drops ?? 0)
      .u32(Number(o.ticks >> 32n))
      .u32(Number(o.ticks & 0xffffffffn))
      .u32(o.data.length)
      .u32(wirelen)
      .bytes(o.data)
      .pad4();
    this.record(o.interfaceId, o.ticks, o.data, wirelen);
    return this.block(2, e.done(), 'obsolete packet block');
  }

  /**
   * Simple Packet Block (§4.4): original length, then the packet; its captured length is the smaller
   * of the original length and the interface 0's snap length. It carries no timestamp.
   */
  spb(o: { data: Uint8Array; wirelen?: number }): this {
    const wirelen = o.wirelen ?? o.data.length;
    const snap = this.interfaces[0]?.snaplen ?? 0;
    const caplen = Math.min(wirelen, snap > 0 ? snap : wirelen);
    if (o.data.length < caplen) throw new Error('SPB data shorter than its captured length');
    const e = this.enc().u32(wirelen).bytes(o.data).pad4();
    this.record(0, null, o.data.subarray(0, caplen), wirelen);
    return this.block(3, e.done(), 'simple packet block');
  }

  /** Name Resolution Block (§4.5): nrb_record_ipv4 (1) / nrb_record_ipv6 (2) records, each an
   * address and zero-terminated names, then nrb_record_end. */
  nrb(entries: Array<{ address: Uint8Array; names: string[] }>): this {
    const e = this.enc();
    for (const en of entries) {
      const names = en.names.map((n) => te.encode(`${n}\0`));
      const value = concatAll([en.address, ...names]);
      e.u16(en.address.length === 4 ? 1 : 2)
        .u16(value.length)
        .bytes(value)
        .pad4();
    }
    e.u16(0).u16(0);
    return this.block(4, e.done(), 'name resolution block');
  }

  /** Interface Statistics Block (§4.6): interface id, timestamp, options (isb_ifrecv 4, isb_ifdrop 5). */
  isb(interfaceId: number, ticks: bigint, received = 0n, dropped = 0n): this {
    const e = this.enc()
      .u32(interfaceId)
      .u32(Number(ticks >> 32n))
      .u32(Number(ticks & 0xffffffffn));
    this.options(e, [
      { code: 4, value: this.enc().u64(received).done() },
      { code: 5, value: this.enc().u64(dropped).done() },
    ]);
    return this.block(5, e.done(), 'interface statistics block');
  }

  /** Custom Block: type 0x00000BAD (may be copied) or 0x40000BAD (must not), PEN, data. */
  custom(pen: number, data: Uint8Array, copyable = true): this {
    const e = this.enc().u32(pen).bytes(data);
    return this.block(copyable ? 0x00000bad : 0x40000bad, e.done(), 'custom block');
  }

  /** Decryption Secrets Block (type 0x0A): secrets type, length, data. */
  dsb(secretsType: number, secrets: Uint8Array): this {
    const e = this.enc().u32(secretsType).u32(secrets.length).bytes(secrets).pad4();
    return this.block(0x0a, e.done(), 'decryption secrets block');
  }

  result(): CaptureBytes {
    return {
      format: 'pcapng',
      bytes: concatAll(this.parts),
      packets: [...this.packets],
      records: [...this.records],
      gzipped: false,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Files

/** The same capture, gzipped (offsets stay those of the uncompressed bytes). */
export function gzipCapture(c: CaptureBytes): CaptureBytes {
  return { ...c, bytes: new Uint8Array(gzipSync(c.bytes)), gzipped: true };
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'podwire-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
