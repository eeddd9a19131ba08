/**
 * Client and server fingerprints: JA3/JA3S (salesforce/ja3, as Wireshark's tls.handshake.ja3_full
 * and ja3s_full print them) and JA4/JA4S (FoxIO-LLC/ja4, technical_details/JA4.md and JA4S.md).
 */
import { createHash } from 'node:crypto';
import { Ext, isGrease } from './constants.js';
import type { ClientHello, ServerHello } from './messages.js';

const noGrease = (xs: readonly number[]) => xs.filter((x) => !isGrease(x));

/**
 * JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal values joined
 * by '-', GREASE (RFC 8701) left out of every list; the version is ClientHello.legacy_version.
 */
export function ja3(h: ClientHello): { ja3: string; ja3Hash: string } {
  const text = [
    String(h.legacyVersion),
    noGrease(h.cipherSuites).join('-'),
    noGrease(h.extensions).join('-'),
    noGrease(h.supportedGroups).join('-'),
    h.ecPointFormats.join('-'),
  ].join(',');
  return { ja3: text, ja3Hash: md5(text) };
}

/** JA3S: `SSLVersion,Cipher,SSLExtension` (ServerHello.legacy_version, decimal). */
export function ja3s(h: ServerHello): { ja3s: string; ja3sHash: string } {
  const text = [String(h.legacyVersion), String(h.cipherSuite), noGrease(h.extensions).join('-')].join(',');
  return { ja3s: text, ja3sHash: md5(text) };
}

export interface Ja4 {
  ja4: string;
  ja4_r: string;
  /** Original order (`-o` of FoxIO's tools): nothing sorted, SNI and ALPN kept. */
  ja4_o: string;
  ja4_ro: string;
}

/** JA4 `a` part's version: the highest supported_versions entry, else legacy_version. */
function ja4Version(v: number): string {
  switch (v) {
    case 0x0304:
      return '13';
    case 0x0303:
      return '12';
    case 0x0302:
      return '11';
    case 0x0301:
      return '10';
    case 0x0300:
      return 's3';
    case 0x0002:
      return 's2';
    case 0xfeff:
      return 'd1';
    case 0xfefd:
      return 'd2';
    case 0xfefc:
      return 'd3';
    default:
      return '00';
  }
}

/**
 * The two ALPN characters: first and last of the first protocol name, '00' without one. A single
 * character counts as both first and last. Bytes outside ASCII become '9', as FoxIO's reference
 * implementations print them (the corpus' tls-non-ascii-alpn capture, ALPN 0xbaad: "99").
 */
function alpnChars(raw: Uint8Array | null): string {
  if (!raw || raw.length === 0) return '00';
  const ch = (b: number) => (b < 0x80 ? String.fromCharCode(b) : '9');
  return ch(raw[0]!) + ch(raw[raw.length - 1]!);
}

const hex = (v: number) => v.toString(16).padStart(4, '0');
const EMPTY_HASH = '000000000000';

function hash12(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 12);
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

export function ja4(h: ClientHello, transport: 't' | 'q' | 'd' = 't'): Ja4 {
  const ciphers = noGrease(h.cipherSuites);
  const exts = noGrease(h.extensions);
  const sigs = noGrease(h.signatureAlgorithms);
  const versions = noGrease(h.supportedVersions);
  const version = versions.length > 0 ? Math.max(...versions) : h.legacyVersion;
  const a =
    transport +
    ja4Version(version) +
    (exts.includes(Ext.serverName) ? 'd' : 'i') +
    String(Math.min(ciphers.length, 99)).padStart(2, '0') +
    String(Math.min(exts.length, 99)).padStart(2, '0') +
    alpnChars(h.alpnFirst);
  const sigText = sigs.map(hex).join(',');
  const withSigs = (e: string) => (sigText ? `${e}_${sigText}` : e);

  const sortedCiphers = ciphers.map(hex).sort().join(',');
  // The sorted extension list leaves out SNI and ALPN (their presence is already in `a`).
  const sortedExts = exts
    .filter((e) => e !== Ext.serverName && e !== Ext.alpn)
    .map(hex)
    .sort()
    .join(',');
  const origCiphers = ciphers.map(hex).join(',');
  const origExts = exts.map(hex).join(',');

  const b = (list: string) => (list ? hash12(list) : EMPTY_HASH);
  const c = (list: string) => (list || sigText ? hash12(withSigs(list)) : EMPTY_HASH);
  return {
    ja4: `${a}_${b(sortedCiphers)}_${c(sortedExts)}`,
    ja4_r: `${a}_${sortedCiphers}_${withSigs(sortedExts)}`,
    ja4_o: `${a}_${b(origCiphers)}_${c(origExts)}`,
    ja4_ro: `${a}_${origCiphers}_${withSigs(origExts)}`,
  };
}

/** JA4S: transport, version, extension count, ALPN chars _ cipher _ hash of extensions in order. */
export function ja4s(h: ServerHello, transport: 't' | 'q' | 'd' = 't'): { ja4s: string; ja4s_r: string } {
  const version = h.selectedVersion ?? h.legacyVersion;
  const a =
    transport +
    ja4Version(version) +
    String(Math.min(h.extensions.length, 99)).padStart(2, '0') +
    alpnChars(h.alpnRaw);
  const exts = h.extensions.map(hex).join(',');
  const prefix = `${a}_${hex(h.cipherSuite)}`;
  return { ja4s: `${prefix}_${exts ? hash12(exts) : EMPTY_HASH}`, ja4s_r: `${prefix}_${exts}` };
}
