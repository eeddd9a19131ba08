/**
 * One DNS message (RFC 1035 §4.1) from its bytes: header, questions, and the three record sections.
 * Every read is bounds-checked against the message. A message broken part-way is still reported: the
 * parser returns what it read before the break and the first error (a truncated answer section still
 * tells the query name and rcode), and the caller counts the error.
 */
import { u16be, u32be } from '../../wire/bytes.js';
import {
  className,
  type DnsHeader,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  type Edns,
  HEADER_LENGTH,
  MAX_RECORDS_PER_SECTION,
  opcodeName,
  TYPE_OPT,
  typeName,
} from './messages.js';
import { readName } from './names.js';
import { decodeRdata, hex } from './rdata.js';

export interface ParseOptions {
  /** Multicast DNS (RFC 6762): the top bit of a CLASS is the QU bit (§5.4) or cache-flush bit (§10.2). */
  mdns?: boolean;
}

export interface ParseResult {
  /** Null only when the bytes do not hold a header. */
  message: DnsMessage | null;
  /** The first error met, or null for a well-formed message. */
  error: string | null;
}

/** RFC 1035 §4.1.1. `b` must hold at least HEADER_LENGTH bytes from `off`. */
export function parseHeader(b: Uint8Array, off = 0): DnsHeader {
  const f1 = b[off + 2]!;
  const f2 = b[off + 3]!;
  const opcode = (f1 >> 3) & 0x0f;
  return {
    id: u16be(b, off),
    opcode,
    flags: {
      qr: (f1 & 0x80) !== 0,
      opcode: opcodeName(opcode),
      aa: (f1 & 0x04) !== 0,
      tc: (f1 & 0x02) !== 0,
      rd: (f1 & 0x01) !== 0,
      ra: (f2 & 0x80) !== 0,
      z: (f2 & 0x40) !== 0,
      ad: (f2 & 0x20) !== 0,
      cd: (f2 & 0x10) !== 0,
    },
    rcode: f2 & 0x0f,
    qdcount: u16be(b, off + 4),
    ancount: u16be(b, off + 6),
    nscount: u16be(b, off + 8),
    arcount: u16be(b, off + 10),
  };
}

export function parseMessage(msg: Uint8Array, opts: ParseOptions = {}): ParseResult {
  if (msg.length < HEADER_LENGTH)
    return { message: null, error: `${msg.length} bytes, shorter than the header (RFC 1035 §4.1.1)` };
  const mdns = opts.mdns === true;
  const header = parseHeader(msg);
  const message: DnsMessage = {
    header,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
    edns: null,
    rcode: header.rcode,
  };
  let error: string | null = null;
  let pos = HEADER_LENGTH;

  // RFC 1035 §4.1.2
  for (let i = 0; i < header.qdcount; i++) {
    const n = readName(msg, pos);
    if (!n.ok) return { message, error: `question ${i + 1}: ${n.error}` };
    if (n.next + 4 > msg.length) return { message, error: `question ${i + 1}: type and class cut off` };
    const qclass = u16be(msg, n.next + 2);
    const q: DnsQuestion = {
      name: n.name,
      type: typeName(u16be(msg, n.next)),
      class: className(mdns ? qclass & 0x7fff : qclass),
    };
    if (mdns) q.unicastResponse = (qclass & 0x8000) !== 0;
    if (message.questions.length < MAX_RECORDS_PER_SECTION) message.questions.push(q);
    pos = n.next + 4;
  }

  // RFC 1035 §4.1.3
  const sections: [DnsRecord[], number, string][] = [
    [message.answers, header.ancount, 'answer'],
    [message.authority, header.nscount, 'authority'],
    [message.additional, header.arcount, 'additional'],
  ];
  for (const [list, count, section] of sections) {
    for (let i = 0; i < count; i++) {
      const n = readName(msg, pos);
      if (!n.ok) return { message, error: `${section} ${i + 1}: ${n.error}` };
      const p = n.next;
      if (p + 10 > msg.length) return { message, error: `${section} ${i + 1}: record header cut off` };
      const type = u16be(msg, p);
      const rclass = u16be(msg, p + 2);
      const ttl = u32be(msg, p + 4);
      const rdlength = u16be(msg, p + 8);
      const from = p + 10;
      const to = from + rdlength;
      if (to > msg.length) return { message, error: `${section} ${i + 1}: RDATA runs past the message` };
      pos = to;
      const rd = decodeRdata(msg, type, from, to);
      if (!rd.ok) error ??= `${section} ${i + 1}: ${rd.error}`;
      if (type === TYPE_OPT && section === 'additional' && rd.ok && message.edns === null) {
        // RFC 6891 §6.1.3: CLASS is the requestor's UDP payload size; TTL holds EXTENDED-RCODE,
        // VERSION, the DO bit and Z.
        const edns = rd.data as Edns;
        edns.udpPayloadSize = rclass;
        edns.extendedRcode = ttl >>> 24;
        edns.version = (ttl >>> 16) & 0xff;
        edns.dnssecOk = (ttl & 0x8000) !== 0;
        message.edns = edns;
        message.rcode = (edns.extendedRcode << 4) | header.rcode;
        continue;
      }
      if (list.length >= MAX_RECORDS_PER_SECTION) continue;
      const rec: DnsRecord = {
        name: n.name,
        type: typeName(type),
        class: className(mdns && type !== TYPE_OPT ? rclass & 0x7fff : rclass),
        ttl,
        data: rd.ok ? rd.data : { hex: hex(msg, from, to), length: rdlength },
      };
      if (mdns && type !== TYPE_OPT) rec.cacheFlush = (rclass & 0x8000) !== 0;
      list.push(rec);
    }
  }
  if (pos !== msg.length && error === null) error = `${msg.length - pos} bytes after the last record`;
  return { message, error };
}
