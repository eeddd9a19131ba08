/**
 * The handshake messages podwire reads, as plain data, and their parsers. Each parser takes one
 * complete message body (the bytes after the 4-byte handshake header) and answers the message or a
 * malformed verdict that cites the section it broke. Values that outlive the call (names, lists) are
 * copied out; nothing keeps a view of the input.
 */
import { Ext, HRR_RANDOM } from './constants.js';
import { Cursor } from './cursor.js';

export interface ClientHello {
  /** ClientHello.legacy_version (RFC 8446 §4.1.2), e.g. 0x0303. */
  legacyVersion: number;
  /** Offered cipher suites in order, GREASE included (fingerprints filter it). */
  cipherSuites: number[];
  compressionMethods: number[];
  /** Extension types in order, GREASE included. */
  extensions: number[];
  /** The first host_name of server_name (RFC 6066 §3), or null. */
  sni: string | null;
  /** ALPN protocol names (RFC 7301 §3.1) in order. */
  alpn: string[];
  /** The first ALPN name's raw bytes (JA4 reads bytes, not decoded text). */
  alpnFirst: Uint8Array | null;
  /** supported_versions (RFC 8446 §4.2.1), GREASE included; empty when absent. */
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  /** An encrypted_client_hello extension was offered: the real SNI is inside, not visible. */
  ech: boolean;
  /** SSLv2-compatible ClientHello (RFC 5246 §E.2). */
  sslv2: boolean;
  /** Problems in individual extensions; the hello is still usable. */
  warnings: string[];
}

export interface ServerHello {
  legacyVersion: number;
  cipherSuite: number;
  compressionMethod: number;
  extensions: number[];
  /** supported_versions' selected_version (RFC 8446 §4.2.1), or null. */
  selectedVersion: number | null;
  alpn: string | null;
  alpnRaw: Uint8Array | null;
  /** key_share's group: the group asked for in a HelloRetryRequest, else the server's share. */
  keyShareGroup: number | null;
  /** random = SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
  helloRetryRequest: boolean;
  warnings: string[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function fail<T>(error: string): Parsed<T> {
  return { ok: false, error };
}

/** Protocol names are opaque bytes; shown as text when they are printable ASCII, else as hex. */
function protocolName(b: Uint8Array): string {
  for (const x of b) if (x < 0x20 || x > 0x7e) return `0x${Buffer.from(b).toString('hex')}`;
  return Buffer.from(b).toString('latin1');
}

/** ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for versions below 1.3). */
export function parseClientHello(body: Uint8Array): Parsed<ClientHello> {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  c.bytes(32); // random
  c.vector(1); // legacy_session_id
  const suites = c.vector(2);
  const cipherSuites = suites.u16list();
  const compressionMethods = c.vector(1).u8list();
  if (!c.ok || !suites.ok) return fail('RFC 8446 §4.1.2: ClientHello shorter than its fixed fields');
  const hello: ClientHello = {
    legacyVersion,
    cipherSuites,
    compressionMethods,
    extensions: [],
    sni: null,
    alpn: [],
    alpnFirst: null,
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    ech: false,
    sslv2: false,
    warnings: [],
  };
  // RFC 5246 §7.4.1.2: extensions may be absent altogether (an SSL 3.0-style hello).
  if (c.left === 0) return { ok: true, value: hello };
  const exts = c.vector(2);
  if (!c.ok) return fail('RFC 8446 §4.1.2: ClientHello extensions vector runs past the message');
  while (exts.left > 0) {
    const type = exts.u16();
    const data = exts.vector(2);
    if (!exts.ok) return fail(`RFC 8446 §4.2: extension ${type} runs past the extensions vector`);
    hello.extensions.push(type);
    if (!readClientExtension(hello, type, data))
      hello.warnings.push(`RFC 8446 §4.2: malformed client extension ${type}`);
  }
  return { ok: true, value: hello };
}

function readClientExtension(h: ClientHello, type: number, d: Cursor): boolean {
  switch (type) {
    case Ext.serverName: {
      // RFC 6066 §3: ServerNameList; name_type 0 is host_name. An empty extension is legal in a
      // ServerHello only, but servers' echoes aside, tolerate it.
      if (d.left === 0) return true;
      const list = d.vector(2);
      while (list.ok && list.left > 0) {
        const nameType = list.u8();
        const name = list.vector(2);
        if (nameType === 0 && h.sni === null && list.ok)
          h.sni = Buffer.from(name.bytes(name.left)).toString('latin1');
      }
      return list.ok && d.ok;
    }
    case Ext.supportedGroups:
      h.supportedGroups = d.vector(2).u16list();
      return d.ok;
    case Ext.ecPointFormats:
      h.ecPointFormats = d.vector(1).u8list();
      return d.ok;
    case Ext.signatureAlgorithms: {
      const v = d.vector(2);
      h.signatureAlgorithms = v.u16list();
      return d.ok && v.ok;
    }
    case Ext.alpn: {
      const list = d.vector(2);
      while (list.ok && list.left > 0) {
        const name = list.vector(1);
        const raw = name.bytes(name.left);
        if (!list.ok) break;
        if (h.alpnFirst === null) h.alpnFirst = Uint8Array.from(raw);
        h.alpn.push(protocolName(raw));
      }
      return list.ok && d.ok;
    }
    case Ext.supportedVersions: {
      const v = d.vector(1);
      h.supportedVersions = v.u16list();
      return d.ok && v.ok;
    }
    case Ext.encryptedClientHello:
      h.ech = true;
      return true;
    default:
      return true;
  }
}

/** ServerHello and HelloRetryRequest (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3). */
export function parseServerHello(body: Uint8Array): Parsed<ServerHello> {
  const c = new Cursor(body);
  const legacyVersion = c.u16();
  const random = c.bytes(32);
  c.vector(1); // legacy_session_id_echo
  const cipherSuite = c.u16();
  const compressionMethod = c.u8();
  if (!c.ok) return fail('RFC 8446 §4.1.3: ServerHello shorter than its fixed fields');
  const hello: ServerHello = {
    legacyVersion,
    cipherSuite,
    compressionMethod,
    extensions: [],
    selectedVersion: null,
    alpn: null,
    alpnRaw: null,
    keyShareGroup: null,
    helloRetryRequest: Buffer.from(random).equals(HRR_RANDOM),
    warnings: [],
  };
  if (c.left === 0) return { ok: true, value: hello };
  const exts = c.vector(2);
  if (!c.ok) return fail('RFC 8446 §4.1.3: ServerHello extensions vector runs past the message');
  while (exts.left > 0) {
    const type = exts.u16();
    const d = exts.vector(2);
    if (!exts.ok) return fail(`RFC 8446 §4.2: extension ${type} runs past the extensions vector`);
    hello.extensions.push(type);
    let ok = true;
    if (type === Ext.supportedVersions) {
      hello.selectedVersion = d.u16();
      ok = d.ok;
    } else if (type === Ext.alpn) {
      // RFC 7301 §3.1: the server answers with exactly one protocol name.
      const list = d.vector(2);
      const name = list.vector(1);
      const raw = name.bytes(name.left);
      ok = list.ok && d.ok;
      if (ok) {
        hello.alpnRaw = Uint8Array.from(raw);
        hello.alpn = protocolName(raw);
      }
    } else if (type === Ext.keyShare) {
      // RFC 8446 §4.2.8: a HelloRetryRequest carries the selected group alone; a ServerHello a
      // KeyShareEntry, which starts with the group.
      hello.keyShareGroup = d.u16();
      ok = d.ok;
    }
    if (!ok) hello.warnings.push(`RFC 8446 §4.2: malformed server extension ${type}`);
  }
  return { ok: true, value: hello };
}

/**
 * Certificate (RFC 5246 §7.4.2): certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>. Returns views
 * of the DER certificates, valid as long as `body` is; at most `max` of them.
 */
export function parseCertificateList(body: Uint8Array, max = 10): Parsed<Uint8Array[]> {
  const c = new Cursor(body);
  const list = c.vector(3);
  if (!c.ok) return fail('RFC 5246 §7.4.2: certificate_list runs past the Certificate message');
  const certs: Uint8Array[] = [];
  while (list.left > 0) {
    const der = list.vector(3);
    if (!list.ok) return fail('RFC 5246 §7.4.2: an ASN.1Cert runs past certificate_list');
    if (certs.length < max) certs.push(der.bytes(der.left));
  }
  return { ok: true, value: certs };
}

/**
 * An SSLv2-compatible ClientHello (RFC 5246 §E.2, "Version 2 Client Hello"): `body` starts at
 * msg_type (after the 2-byte record length). Cipher specs are 3 bytes; those whose first byte is 0
 * are TLS cipher suites and are the ones kept (the SSL 2.0 kinds have no TLS meaning).
 */
export function parseSslv2ClientHello(body: Uint8Array): Parsed<ClientHello> {
  const c = new Cursor(body);
  const msgType = c.u8();
  const version = c.u16();
  const specLength = c.u16();
  const sessionIdLength = c.u16();
  const challengeLength = c.u16();
  if (!c.ok || msgType !== 1) return fail('RFC 5246 §E.2: not a V2 ClientHello');
  if (specLength % 3 !== 0) return fail('RFC 5246 §E.2: cipher_spec_length is not a multiple of 3');
  const specs = c.bytes(specLength);
  c.bytes(sessionIdLength);
  c.bytes(challengeLength);
  if (!c.ok) return fail('RFC 5246 §E.2: V2 ClientHello shorter than its lengths say');
  const cipherSuites: number[] = [];
  for (let i = 0; i + 3 <= specs.length; i += 3)
    if (specs[i] === 0) cipherSuites.push((specs[i + 1]! << 8) | specs[i + 2]!);
  return {
    ok: true,
    value: {
      legacyVersion: version,
      cipherSuites,
      compressionMethods: [0],
      extensions: [],
      sni: null,
      alpn: [],
      alpnFirst: null,
      supportedVersions: [],
      supportedGroups: [],
      ecPointFormats: [],
      signatureAlgorithms: [],
      ech: false,
      sslv2: true,
      warnings: [],
    },
  };
}
