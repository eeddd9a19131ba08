/**
 * RDATA decoding, type by type. Every decoder gets the record's bounds [off, end) inside the whole
 * message (names in RDATA may point back into it) and checks every read against `end`. A decoder that
 * meets bytes its RFC forbids answers an error string; the record's framing (RDLENGTH) is intact, so
 * the parser goes on with the next record.
 */
import { formatIp, u16be, u32be } from '../../wire/bytes.js';
import {
  type CaaData,
  type Edns,
  type EdnsOption,
  ednsOptionName,
  type HinfoData,
  MAX_HEX_BYTES,
  type MxData,
  type RecordData,
  type SoaData,
  type SrvData,
  type SvcbData,
  svcParamName,
  typeName,
} from './messages.js';
import { readName } from './names.js';

export type RdataResult = { ok: true; data: RecordData } | { ok: false; error: string };

const lossyUtf8 = new TextDecoder('utf-8');

export function hex(b: Uint8Array, from: number, to: number, max = MAX_HEX_BYTES): string {
  let s = '';
  const stop = Math.min(to, from + max);
  for (let i = from; i < stop; i++) s += b[i]!.toString(16).padStart(2, '0');
  return stop < to ? `${s}…` : s;
}

export function ipv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text; IPv4-mapped addresses keep their `::ffff:` prefix (§5). */
export function ipv6(b: Uint8Array, off: number): string {
  const w0 = u32be(b, off);
  const w1 = u32be(b, off + 4);
  const w2 = u32be(b, off + 8);
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${ipv4(b, off + 12)}`;
  return formatIp(w0, w1, w2, u32be(b, off + 12));
}

const fail = (type: number, why: string): RdataResult => ({
  ok: false,
  error: `${typeName(type)} record: ${why}`,
});

/** Decodes the RDATA of a record of `type` at [off, end) in `msg`. */
export function decodeRdata(msg: Uint8Array, type: number, off: number, end: number): RdataResult {
  const len = end - off;
  switch (type) {
    case 1: // A, RFC 1035 §3.4.1
      return len === 4 ? { ok: true, data: ipv4(msg, off) } : fail(type, `${len} bytes, not 4`);
    case 28: // AAAA, RFC 3596 §2.2
      return len === 16 ? { ok: true, data: ipv6(msg, off) } : fail(type, `${len} bytes, not 16`);
    case 2: // NS
    case 3: // MD
    case 4: // MF
    case 5: // CNAME
    case 7: // MB
    case 8: // MG
    case 9: // MR
    case 12: // PTR
    case 39: // DNAME, RFC 6672 §2.1
      return singleName(msg, type, off, end);
    case 15: // MX, RFC 1035 §3.3.9
      return mx(msg, off, end);
    case 16: // TXT, RFC 1035 §3.3.14
    case 99: // SPF, RFC 7208 §3.1
      return txt(msg, type, off, end);
    case 6: // SOA, RFC 1035 §3.3.13
      return soa(msg, off, end);
    case 13: // HINFO, RFC 1035 §3.3.2
      return hinfo(msg, off, end);
    case 33: // SRV, RFC 2782
      return srv(msg, off, end);
    case 41: // OPT, RFC 6891 §6.1.2 (the fixed fields come from CLASS and TTL: see parser)
      return options(msg, off, end);
    case 64: // SVCB, RFC 9460 §2.2
    case 65: // HTTPS, RFC 9460 §9
      return svcb(msg, type, off, end);
    case 257: // CAA, RFC 8659 §4.1
      return caa(msg, off, end);
    default:
      return { ok: true, data: { hex: hex(msg, off, end), length: len } };
  }
}

function singleName(msg: Uint8Array, type: number, off: number, end: number): RdataResult {
  const n = readName(msg, off, end);
  if (!n.ok) return fail(type, n.error);
  if (n.next !== end) return fail(type, `${end - n.next} bytes after the name`);
  return { ok: true, data: n.name };
}

function mx(msg: Uint8Array, off: number, end: number): RdataResult {
  if (end - off < 3) return fail(15, 'shorter than preference and exchange');
  const n = readName(msg, off + 2, end);
  if (!n.ok) return fail(15, n.error);
  const data: MxData = { preference: u16be(msg, off), exchange: n.name };
  return { ok: true, data };
}

/** <character-string>s: a length octet and that many octets (RFC 1035 §3.3). */
function characterStrings(msg: Uint8Array, off: number, end: number): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let pos = off;
  while (pos < end) {
    const n = msg[pos]!;
    if (pos + 1 + n > end) return null;
    out.push(msg.subarray(pos + 1, pos + 1 + n));
    pos += 1 + n;
  }
  return out;
}

function txt(msg: Uint8Array, type: number, off: number, end: number): RdataResult {
  const parts = characterStrings(msg, off, end);
  if (!parts) return fail(type, 'a character-string runs past the record');
  return { ok: true, data: parts.map((p) => lossyUtf8.decode(p)) };
}

function hinfo(msg: Uint8Array, off: number, end: number): RdataResult {
  const parts = characterStrings(msg, off, end);
  if (parts?.length !== 2) return fail(13, 'not two character-strings');
  const data: HinfoData = { cpu: lossyUtf8.decode(parts[0]), os: lossyUtf8.decode(parts[1]) };
  return { ok: true, data };
}

function soa(msg: Uint8Array, off: number, end: number): RdataResult {
  const m = readName(msg, off, end);
  if (!m.ok) return fail(6, m.error);
  const r = readName(msg, m.next, end);
  if (!r.ok) return fail(6, r.error);
  if (end - r.next !== 20) return fail(6, `${end - r.next} bytes of counters, not 20`);
  const p = r.next;
  const data: SoaData = {
    mname: m.name,
    rname: r.name,
    serial: u32be(msg, p),
    refresh: u32be(msg, p + 4),
    retry: u32be(msg, p + 8),
    expire: u32be(msg, p + 12),
    minimum: u32be(msg, p + 16),
  };
  return { ok: true, data };
}

function srv(msg: Uint8Array, off: number, end: number): RdataResult {
  if (end - off < 7) return fail(33, 'shorter than priority, weight, port and target');
  const n = readName(msg, off + 6, end);
  if (!n.ok) return fail(33, n.error);
  const data: SrvData = {
    priority: u16be(msg, off),
    weight: u16be(msg, off + 2),
    port: u16be(msg, off + 4),
    target: n.name,
  };
  return { ok: true, data };
}

function caa(msg: Uint8Array, off: number, end: number): RdataResult {
  if (end - off < 2) return fail(257, 'shorter than flags and tag length');
  const flags = msg[off]!;
  const tagLen = msg[off + 1]!;
  // RFC 8659 §4.1.1: the tag is 1-15 characters.
  if (tagLen === 0 || off + 2 + tagLen > end) return fail(257, 'bad tag length');
  const data: CaaData = {
    flags,
    critical: (flags & 0x80) !== 0,
    tag: lossyUtf8.decode(msg.subarray(off + 2, off + 2 + tagLen)),
    value: lossyUtf8.decode(msg.subarray(off + 2 + tagLen, end)),
  };
  return { ok: true, data };
}

function svcb(msg: Uint8Array, type: number, off: number, end: number): RdataResult {
  if (end - off < 3) return fail(type, 'shorter than priority and target');
  const priority = u16be(msg, off);
  const t = readName(msg, off + 2, end);
  if (!t.ok) return fail(type, t.error);
  const params: Record<string, unknown> = {};
  let pos = t.next;
  while (pos < end) {
    if (pos + 4 > end) return fail(type, 'SvcParam header cut off (RFC 9460 §2.2)');
    const key = u16be(msg, pos);
    const len = u16be(msg, pos + 2);
    const from = pos + 4;
    const to = from + len;
    if (to > end) return fail(type, `SvcParam ${svcParamName(key)} runs past the record`);
    const value = svcParam(msg, key, from, to);
    if (value === undefined) return fail(type, `malformed SvcParam ${svcParamName(key)} (RFC 9460 §7)`);
    params[svcParamName(key)] = value;
    pos = to;
  }
  const data: SvcbData = { priority, target: t.name, mode: priority === 0 ? 'alias' : 'service', params };
  return { ok: true, data };
}

/** One SvcParamValue in its wire format (RFC 9460 §7); undefined when malformed. */
function svcParam(msg: Uint8Array, key: number, from: number, to: number): unknown {
  const len = to - from;
  switch (key) {
    case 0: {
      // mandatory: a list of keys (§8)
      if (len === 0 || len % 2) return undefined;
      const keys: string[] = [];
      for (let i = from; i < to; i += 2) keys.push(svcParamName(u16be(msg, i)));
      return keys;
    }
    case 1: {
      // alpn: character-strings (§7.1.1)
      const parts = characterStrings(msg, from, to);
      return parts?.length ? parts.map((p) => lossyUtf8.decode(p)) : undefined;
    }
    case 2: // no-default-alpn: empty (§7.1.1)
    case 8: // ohttp: empty (RFC 9540 §4)
      return len === 0 ? true : undefined;
    case 3: // port (§7.2)
      return len === 2 ? u16be(msg, from) : undefined;
    case 4: {
      // ipv4hint (§7.3)
      if (len === 0 || len % 4) return undefined;
      const out: string[] = [];
      for (let i = from; i < to; i += 4) out.push(ipv4(msg, i));
      return out;
    }
    case 6: {
      // ipv6hint (§7.3)
      if (len === 0 || len % 16) return undefined;
      const out: string[] = [];
      for (let i = from; i < to; i += 16) out.push(ipv6(msg, i));
      return out;
    }
    case 5: // ech: an ECHConfigList, shown in base64 as in presentation format (§7.3... RFC 9848)
      return Buffer.from(msg.buffer, msg.byteOffset + from, len).toString('base64');
    case 7: // dohpath: a URI template (RFC 9461 §5)
      return lossyUtf8.decode(msg.subarray(from, to));
    default:
      return hex(msg, from, to);
  }
}

/** The OPT RDATA: {code, length, data} options (RFC 6891 §6.1.2). */
function options(msg: Uint8Array, off: number, end: number): RdataResult {
  const out: EdnsOption[] = [];
  let pos = off;
  while (pos < end) {
    if (pos + 4 > end) return fail(41, 'option header cut off (RFC 6891 §6.1.2)');
    const code = u16be(msg, pos);
    const len = u16be(msg, pos + 2);
    const from = pos + 4;
    const to = from + len;
    if (to > end) return fail(41, `option ${ednsOptionName(code)} runs past the record`);
    out.push(ednsOption(msg, code, from, to));
    pos = to;
  }
  // The caller fills the fixed fields from CLASS and TTL.
  const data: Edns = { udpPayloadSize: 0, extendedRcode: 0, version: 0, dnssecOk: false, options: out };
  return { ok: true, data };
}

function ednsOption(msg: Uint8Array, code: number, from: number, to: number): EdnsOption {
  const len = to - from;
  const o: EdnsOption = { code, name: ednsOptionName(code) };
  switch (code) {
    case 8: {
      // RFC 7871 §6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS (truncated to the prefix)
      if (len < 4) break;
      const family = u16be(msg, from);
      const source = msg[from + 2]!;
      const scope = msg[from + 3]!;
      const size = family === 1 ? 4 : family === 2 ? 16 : 0;
      const addrLen = len - 4;
      if (size === 0 || addrLen > size) break;
      const full = new Uint8Array(size);
      full.set(msg.subarray(from + 4, to));
      o.family = family === 1 ? 'IPv4' : 'IPv6';
      o.sourcePrefix = source;
      o.scopePrefix = scope;
      o.address = size === 4 ? ipv4(full, 0) : ipv6(full, 0);
      return o;
    }
    case 10:
      // RFC 7873 §4: an 8-byte client cookie, then an optional 8-32 byte server cookie
      if (len < 8) break;
      o.client = hex(msg, from, from + 8);
      if (len > 8) o.server = hex(msg, from + 8, to);
      return o;
    case 12: // RFC 7830 §3: padding, its content is meaningless
      o.length = len;
      return o;
    case 15: // RFC 8914 §2: INFO-CODE and EXTRA-TEXT
      if (len < 2) break;
      o.infoCode = u16be(msg, from);
      o.extraText = lossyUtf8.decode(msg.subarray(from + 2, to));
      return o;
    case 11: // RFC 7828 §3.1: TIMEOUT in units of 100 ms, absent in queries
      if (len === 2) o.timeoutMs = u16be(msg, from) * 100;
      else if (len !== 0) break;
      return o;
    case 9: // RFC 7314 §2: EXPIRE, empty in queries
      if (len === 4) o.expire = u32be(msg, from);
      else if (len !== 0) break;
      return o;
    case 5:
    case 6:
    case 7: // RFC 6975 §3: a list of algorithm numbers
      o.algorithms = Array.from(msg.subarray(from, to));
      return o;
  }
  o.hex = hex(msg, from, to);
  return o;
}
