/**
 * Fixture builders that write DNS messages byte for byte (RFC 1035 §4.1), for the parser, split and
 * fuzz tests. Names are written uncompressed unless a raw byte array is given (to place pointers).
 */

export function name(n: string): number[] {
  if (n === '.' || n === '') return [0];
  const out: number[] = [];
  for (const label of n.split('.')) {
    const bytes = [...Buffer.from(label, 'utf8')];
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

export const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
export const u32 = (n: number): number[] => [
  (n >>> 24) & 0xff,
  (n >>> 16) & 0xff,
  (n >>> 8) & 0xff,
  n & 0xff,
];

export interface Flags {
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  ad?: boolean;
  cd?: boolean;
  rcode?: number;
}

export function flags(f: Flags): number {
  return (
    (f.qr ? 0x8000 : 0) |
    ((f.opcode ?? 0) << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    (f.ad ? 0x0020 : 0) |
    (f.cd ? 0x0010 : 0) |
    ((f.rcode ?? 0) & 0x0f)
  );
}

export interface Question {
  name: string | number[];
  type: number;
  class?: number;
}

export interface Rr {
  name: string | number[];
  type: number;
  class?: number;
  ttl?: number;
  rdata: number[];
}

export interface MessageSpec {
  id: number;
  flags?: Flags;
  questions?: Question[];
  answers?: Rr[];
  authority?: Rr[];
  additional?: Rr[];
}

const nameBytes = (n: string | number[]): number[] => (typeof n === 'string' ? name(n) : n);

function rr(r: Rr): number[] {
  return [
    ...nameBytes(r.name),
    ...u16(r.type),
    ...u16(r.class ?? 1),
    ...u32(r.ttl ?? 300),
    ...u16(r.rdata.length),
    ...r.rdata,
  ];
}

export function message(m: MessageSpec): Uint8Array {
  const qs = m.questions ?? [];
  const an = m.answers ?? [];
  const ns = m.authority ?? [];
  const ar = m.additional ?? [];
  const bytes = [
    ...u16(m.id),
    ...u16(flags(m.flags ?? {})),
    ...u16(qs.length),
    ...u16(an.length),
    ...u16(ns.length),
    ...u16(ar.length),
  ];
  for (const q of qs) bytes.push(...nameBytes(q.name), ...u16(q.type), ...u16(q.class ?? 1));
  for (const r of [...an, ...ns, ...ar]) bytes.push(...rr(r));
  return Uint8Array.from(bytes);
}

/** RFC 1035 §4.2.2: the two-byte length prefix of DNS over TCP. */
export function tcpFrame(msg: Uint8Array): Uint8Array {
  return Uint8Array.from([...u16(msg.length), ...msg]);
}

export const a = (ip: string): number[] => ip.split('.').map(Number);

/** An OPT pseudo-record (RFC 6891 §6.1.2). */
export function opt(payload: number, options: number[] = [], ttl = 0): Rr {
  return { name: '.', type: 41, class: payload, ttl, rdata: options };
}

/** A query: A record, RD set. */
export function query(id: number, qname: string, type = 1): Uint8Array {
  return message({ id, flags: { rd: true }, questions: [{ name: qname, type }] });
}

/** The matching response with one A answer per address. */
export function response(id: number, qname: string, addresses: string[], rcode = 0, type = 1): Uint8Array {
  return message({
    id,
    flags: { qr: true, rd: true, ra: true, rcode },
    questions: [{ name: qname, type }],
    answers: addresses.map((ip) => ({ name: qname, type: 1, rdata: a(ip) })),
  });
}
