/**
 * TLS wire constants (RFC 8446 §B.1–B.3, RFC 5246 §A.1) and the names users read: versions as
 * k8spacket prints them ('TLS 1.0'…'TLS 1.3'), cipher suites in IANA form.
 */
import { CIPHER_SUITE_NAMES, EXTENSION_NAMES, GROUP_NAMES } from './names.generated.js';

/** ContentType (RFC 8446 §5.1; heartbeat: RFC 6520 §2). */
export const ContentType = {
  changeCipherSpec: 20,
  alert: 21,
  handshake: 22,
  applicationData: 23,
  heartbeat: 24,
} as const;

/** HandshakeType (RFC 8446 §4; RFC 5246 §7.4 for the TLS 1.2 messages). */
export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateStatus: 22,
} as const;

/** ExtensionType values this dissector reads (IANA "TLS ExtensionType Values"). */
export const Ext = {
  serverName: 0x0000, // RFC 6066 §3
  supportedGroups: 0x000a, // RFC 8422 §5.1.1, RFC 8446 §4.2.7
  ecPointFormats: 0x000b, // RFC 8422 §5.1.2
  signatureAlgorithms: 0x000d, // RFC 8446 §4.2.3
  alpn: 0x0010, // RFC 7301 §3.1
  supportedVersions: 0x002b, // RFC 8446 §4.2.1
  keyShare: 0x0033, // RFC 8446 §4.2.8
  encryptedClientHello: 0xfe0d, // draft-ietf-tls-esni §5
} as const;

/** Record length limit: TLSCiphertext may exceed 2^14 by up to 2048 bytes (RFC 5246 §6.2.3). */
export const MAX_RECORD_LENGTH = (1 << 14) + 2048;

/**
 * ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
 */
export const HRR_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

/** GREASE values (RFC 8701 §2): 0x?a?a with both bytes equal. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

const VERSION_NAMES: Record<number, string> = {
  2: 'SSL 2.0',
  768: 'SSL 3.0',
  769: 'TLS 1.0',
  770: 'TLS 1.1',
  771: 'TLS 1.2',
  772: 'TLS 1.3',
};

/** 'TLS 1.2' (k8spacket's names), or the hex code for anything else (drafts, DTLS). */
export function versionName(v: number): string {
  return VERSION_NAMES[v] ?? hex4(v);
}

/** The status column of a tls entry (DESIGN.md): '1.3', '1.2'…, 'ssl3', 'ssl2'. */
export function versionStatus(v: number): string {
  const name = VERSION_NAMES[v];
  if (!name) return hex4(v);
  return name.startsWith('TLS ') ? name.slice(4) : `ssl${name.charAt(4)}`;
}

export function cipherSuiteName(v: number): string {
  return CIPHER_SUITE_NAMES.get(v) ?? hex4(v);
}

export function extensionName(v: number): string {
  if (isGrease(v)) return 'GREASE';
  if (v === Ext.encryptedClientHello) return 'encrypted_client_hello';
  return EXTENSION_NAMES.get(v) ?? hex4(v);
}

export function groupName(v: number): string {
  if (isGrease(v)) return 'GREASE';
  return GROUP_NAMES.get(v) ?? hex4(v);
}

/** `0x1301`. */
export function hex4(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** AlertDescription names (RFC 8446 §6; RFC 5246 §7.2). */
const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  22: 'record_overflow',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

export function alertName(v: number): string {
  return ALERTS[v] ?? `alert_${v}`;
}
