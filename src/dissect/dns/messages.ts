/**
 * DNS messages as podwire reports them (RFC 1035 §4.1), and the wire code tables that name their
 * numbers (IANA "Domain Name System (DNS) Parameters"). Everything here is plain data that outlives
 * the capture buffer: names and record data are decoded into strings, never views.
 */

/** RFC 1035 §4.1.1: the fixed 12-byte header. */
export const HEADER_LENGTH = 12;
/** RFC 1035 §2.3.4: a name is at most 255 octets on the wire. */
export const MAX_NAME_WIRE_LENGTH = 255;
/** RFC 1035 §2.3.4: a label is at most 63 octets. */
export const MAX_LABEL_LENGTH = 63;
/** Records listed per section; the header counts still say how many the message carried. */
export const MAX_RECORDS_PER_SECTION = 512;
/** Bytes of undecoded record data shown as hex; the rest is cut (the data size is kept). */
export const MAX_HEX_BYTES = 1024;

export const TYPE_OPT = 41;
export const TYPE_SVCB = 64;
export const TYPE_HTTPS = 65;

/** RR TYPEs (RFC 1035 §3.2.2 and the IANA registry). Unknown ones print as `TYPE<n>` (RFC 3597 §5). */
export const TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'A',
  2: 'NS',
  3: 'MD',
  4: 'MF',
  5: 'CNAME',
  6: 'SOA',
  7: 'MB',
  8: 'MG',
  9: 'MR',
  10: 'NULL',
  11: 'WKS',
  12: 'PTR',
  13: 'HINFO',
  14: 'MINFO',
  15: 'MX',
  16: 'TXT',
  17: 'RP',
  18: 'AFSDB',
  19: 'X25',
  20: 'ISDN',
  21: 'RT',
  22: 'NSAP',
  23: 'NSAP-PTR',
  24: 'SIG',
  25: 'KEY',
  26: 'PX',
  27: 'GPOS',
  28: 'AAAA', // RFC 3596 §2.1
  29: 'LOC',
  30: 'NXT',
  33: 'SRV', // RFC 2782
  35: 'NAPTR',
  36: 'KX',
  37: 'CERT',
  38: 'A6',
  39: 'DNAME',
  41: 'OPT', // RFC 6891 §6.1.1
  42: 'APL',
  43: 'DS',
  44: 'SSHFP',
  45: 'IPSECKEY',
  46: 'RRSIG',
  47: 'NSEC',
  48: 'DNSKEY',
  49: 'DHCID',
  50: 'NSEC3',
  51: 'NSEC3PARAM',
  52: 'TLSA',
  53: 'SMIMEA',
  55: 'HIP',
  59: 'CDS',
  60: 'CDNSKEY',
  61: 'OPENPGPKEY',
  62: 'CSYNC',
  63: 'ZONEMD',
  64: 'SVCB', // RFC 9460 §2
  65: 'HTTPS', // RFC 9460 §9
  99: 'SPF',
  108: 'EUI48',
  109: 'EUI64',
  249: 'TKEY',
  250: 'TSIG',
  251: 'IXFR',
  252: 'AXFR',
  253: 'MAILB',
  254: 'MAILA',
  255: 'ANY',
  256: 'URI',
  257: 'CAA', // RFC 8659
  32768: 'TA',
  32769: 'DLV',
};

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `TYPE${t}`;
}

/** RFC 1035 §3.2.4, RFC 2136 §1.3 (NONE), RFC 1035 §3.2.5 (ANY). */
const CLASS_NAMES: Readonly<Record<number, string>> = { 1: 'IN', 3: 'CH', 4: 'HS', 254: 'NONE', 255: 'ANY' };

export function className(c: number): string {
  return CLASS_NAMES[c] ?? `CLASS${c}`;
}

/** Classes a real question or record uses; detection requires one of them. */
export function isKnownClass(c: number): boolean {
  return c in CLASS_NAMES;
}

/** RFC 1035 §4.1.1, RFC 1996 (NOTIFY), RFC 2136 (UPDATE), RFC 8490 (DSO). */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'QUERY',
  1: 'IQUERY',
  2: 'STATUS',
  4: 'NOTIFY',
  5: 'UPDATE',
  6: 'DSO',
};

export function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `OPCODE${op}`;
}

export function isKnownOpcode(op: number): boolean {
  return op in OPCODE_NAMES;
}

/** RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 6891 §9 (BADVERS), RFC 8945, RFC 7873 (BADCOOKIE). */
const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  11: 'DSOTYPENI',
  16: 'BADVERS',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
  23: 'BADCOOKIE',
};

export function rcodeName(r: number): string {
  return RCODE_NAMES[r] ?? `RCODE${r}`;
}

/** EDNS option codes (RFC 6891 §6.1.2 and the IANA registry). */
const EDNS_OPTION_NAMES: Readonly<Record<number, string>> = {
  3: 'NSID', // RFC 5001
  5: 'DAU', // RFC 6975
  6: 'DHU',
  7: 'N3U',
  8: 'ECS', // RFC 7871 edns-client-subnet
  9: 'EXPIRE', // RFC 7314
  10: 'COOKIE', // RFC 7873
  11: 'TCP-KEEPALIVE', // RFC 7828
  12: 'PADDING', // RFC 7830
  13: 'CHAIN', // RFC 7901
  14: 'KEY-TAG', // RFC 8145
  15: 'EDE', // RFC 8914
  16: 'CLIENT-TAG',
  17: 'SERVER-TAG',
};

export function ednsOptionName(code: number): string {
  return EDNS_OPTION_NAMES[code] ?? `OPTION${code}`;
}

/** SvcParamKeys (RFC 9460 §14.3.2, RFC 9461 dohpath, RFC 9540 ohttp); unknown ones are `key<n>` (§2.1). */
const SVC_PARAM_NAMES: Readonly<Record<number, string>> = {
  0: 'mandatory',
  1: 'alpn',
  2: 'no-default-alpn',
  3: 'port',
  4: 'ipv4hint',
  5: 'ech',
  6: 'ipv6hint',
  7: 'dohpath',
  8: 'ohttp',
};

export function svcParamName(key: number): string {
  return SVC_PARAM_NAMES[key] ?? `key${key}`;
}

/** The header flags (RFC 1035 §4.1.1; AD and CD from RFC 4035 §3.2). */
export interface DnsFlags {
  qr: boolean;
  opcode: string;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
}

export interface DnsHeader {
  id: number;
  flags: DnsFlags;
  opcode: number;
  /** The 4-bit header RCODE; with EDNS the full code is `edns.extendedRcode << 4 | rcode`. */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface DnsQuestion {
  name: string;
  type: string;
  class: string;
  /** mDNS only: the QU bit, top bit of QCLASS (RFC 6762 §5.4). */
  unicastResponse?: boolean;
}

export interface MxData {
  preference: number;
  exchange: string;
}
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}
export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
export interface CaaData {
  flags: number;
  critical: boolean;
  tag: string;
  value: string;
}
export interface SvcbData {
  priority: number;
  /** '.' is the owner name itself (RFC 9460 §2.5). */
  target: string;
  /** AliasMode when priority is 0 (RFC 9460 §2.4.2). */
  mode: 'alias' | 'service';
  params: Record<string, unknown>;
}
export interface HinfoData {
  cpu: string;
  os: string;
}

export interface EdnsOption {
  code: number;
  name: string;
  /** Decoded fields for the options podwire knows; `hex` for the rest. */
  [field: string]: unknown;
}

/** The OPT pseudo-record (RFC 6891 §6.1.2-§6.1.3). */
export interface Edns {
  udpPayloadSize: number;
  extendedRcode: number;
  version: number;
  /** The DO bit (RFC 3225). */
  dnssecOk: boolean;
  options: EdnsOption[];
}

/**
 * Decoded RDATA: a string for addresses and single names (A, AAAA, CNAME, NS, PTR, DNAME), string[]
 * for TXT, an object for structured types, and for the rest the bytes in hex (RFC 3597 §5 style).
 */
export type RecordData =
  | string
  | string[]
  | MxData
  | SrvData
  | SoaData
  | CaaData
  | SvcbData
  | HinfoData
  | Edns
  | { hex: string; length: number };

export interface DnsRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: RecordData;
  /** mDNS only: the cache-flush bit, top bit of CLASS (RFC 6762 §10.2). */
  cacheFlush?: boolean;
}

export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  /** Additional records except the OPT pseudo-record, which is `edns`. */
  additional: DnsRecord[];
  edns: Edns | null;
  /** The full response code, extended by EDNS (RFC 6891 §6.1.3). */
  rcode: number;
}
