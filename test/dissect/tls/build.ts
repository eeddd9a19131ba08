/**
 * Fixture builders that write exact TLS bytes (RFC 8446 §4, RFC 5246 §7.4), and a SessionContext that
 * records what a session reports, for driving the TLS session without a capture.
 */
import type { SessionContext } from '../../../src/dissect/dissector.js';
import type { Entry } from '../../../src/dissect/entry.js';
import type { Direction } from '../../../src/flows/stream.js';

/**
 * A self-signed P-256 certificate, made once by
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650
 *  -subj "/CN=fixture.podwire.test/O=podwire"
 *  -addext "subjectAltName=DNS:fixture.podwire.test,DNS:alt.podwire.test,IP:198.18.13.10"`
 * (notBefore 2026-11-23T02:38:12Z, notAfter 2036-11-20T02:38:12Z), as DER.
 */
export const FIXTURE_CERT = Buffer.from(
  'MIIB8jCCAZigAwIBAgIUJqJKMf3Nxgc1zVMxSiBSEn+QZyAwCgYIKoZIzj0EAwIwMTEdMBsGA1UEAwwUZml4dHVyZS5wb2R3aXJl' +
    'LnRlc3QxEDAOBgNVBAoMB3BvZHdpcmUwHhcNMjYxMTIzMDIzODEyWhcNMzYxMTIwMDIzODEyWjAxMR0wGwYDVQQDDBRmaXh0dXJl' +
    'LnBvZHdpcmUudGVzdDEQMA4GA1UECgwHcG9kd2lyZTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEqPG9MUzxRvlgOppF2Fnqaj' +
    'KFq4s+IrrMMPP3hGPNVbwrAAReoZCS/LEt5A6ini4wfxZ2ZTgMZ8pLNyr35t8N+jgY0wgYowHQYDVR0OBBYEFNo1NEvcq+3dhgvo' +
    'SO7Bi+vke3BYMB8GA1UdIwQYMBaAFNo1NEvcq+3dhgvoSO7Bi+vke3BYMA8GA1UdEwEB/wQFMAMBAf8wNwYDVR0RBDAwLoIUZml4' +
    'dHVyZS5wb2R3aXJlLnRlc3SCEGFsdC5wb2R3aXJlLnRlc3SHBMYSDQowCgYIKoZIzj0EAwIDSAAwRQIhALeGS7/MdPXeICIHs5LR' +
    '9YI7X1VQMG3FGwsoqH24nphIAiBloBcJ2RBXAknsOLWqbhNJo7pXqA4wxo1Kg0izjsZPQA==',
  'base64',
);

const u8 = (n: number) => Buffer.from([n & 0xff]);
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n: number) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vec = (len: 1 | 2 | 3, body: Buffer) =>
  Buffer.concat([len === 1 ? u8(body.length) : len === 2 ? u16(body.length) : u24(body.length), body]);
const u16s = (xs: number[]) => Buffer.concat(xs.map(u16));

export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec(2, data)]);
}

export interface ClientHelloSpec {
  version?: number;
  ciphers?: number[];
  sni?: string | null;
  alpn?: string[];
  groups?: number[];
  pointFormats?: number[];
  sigAlgs?: number[];
  versions?: number[];
  /** Extensions appended as given (after the ones above). */
  extra?: Buffer[];
  /** Leading GREASE extension (RFC 8701). */
  grease?: boolean;
}

/** A ClientHello handshake message (header included). */
export function clientHello(s: ClientHelloSpec = {}): Buffer {
  const exts: Buffer[] = [];
  if (s.grease) exts.push(extension(0x1a1a, Buffer.alloc(0)));
  if (s.sni !== null) {
    const name = Buffer.from(s.sni ?? 'example.test');
    exts.push(extension(0, vec(2, Buffer.concat([u8(0), vec(2, name)]))));
  }
  if (s.groups) exts.push(extension(10, vec(2, u16s(s.groups))));
  if (s.pointFormats) exts.push(extension(11, vec(1, Buffer.from(s.pointFormats))));
  if (s.sigAlgs) exts.push(extension(13, vec(2, u16s(s.sigAlgs))));
  if (s.alpn) exts.push(extension(16, vec(2, Buffer.concat(s.alpn.map((p) => vec(1, Buffer.from(p)))))));
  if (s.versions) exts.push(extension(43, vec(1, u16s(s.versions))));
  exts.push(...(s.extra ?? []));
  const body = Buffer.concat([
    u16(s.version ?? 0x0303),
    Buffer.alloc(32, 7), // random
    vec(1, Buffer.alloc(32, 9)), // legacy_session_id
    vec(2, u16s(s.ciphers ?? [0x1301, 0xc02f])),
    vec(1, Buffer.from([0])),
    vec(2, Buffer.concat(exts)),
  ]);
  return handshake(1, body);
}

export interface ServerHelloSpec {
  version?: number;
  cipher?: number;
  selectedVersion?: number;
  alpn?: string;
  hrr?: boolean;
  keyShareGroup?: number;
}

export const HRR_RANDOM = Buffer.from(
  'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c',
  'hex',
);

export function serverHello(s: ServerHelloSpec = {}): Buffer {
  const exts: Buffer[] = [];
  if (s.selectedVersion) exts.push(extension(43, u16(s.selectedVersion)));
  if (s.alpn) exts.push(extension(16, vec(2, vec(1, Buffer.from(s.alpn)))));
  if (s.keyShareGroup !== undefined) exts.push(extension(51, u16(s.keyShareGroup)));
  const body = Buffer.concat([
    u16(s.version ?? 0x0303),
    s.hrr ? HRR_RANDOM : Buffer.alloc(32, 3),
    vec(1, Buffer.alloc(32, 9)),
    u16(s.cipher ?? 0xc02f),
    u8(0),
    vec(2, Buffer.concat(exts)),
  ]);
  return handshake(2, body);
}

export function certificate(ders: Buffer[]): Buffer {
  return handshake(11, vec(3, Buffer.concat(ders.map((d) => vec(3, d)))));
}

export const serverHelloDone = () => handshake(14, Buffer.alloc(0));

export function handshake(type: number, body: Buffer): Buffer {
  return Buffer.concat([u8(type), u24(body.length), body]);
}

/** Wraps bytes in records of `type`, at most `max` bytes of body each (RFC 8446 §5.1). */
export function records(type: number, payload: Buffer, max = 1 << 14, version = 0x0303): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < payload.length || (i === 0 && payload.length === 0); i += max) {
    const part = payload.subarray(i, Math.min(i + max, payload.length));
    out.push(Buffer.concat([u8(type), u16(version), u16(part.length), part]));
    if (payload.length === 0) break;
  }
  return Buffer.concat(out);
}

export const ccs = () => records(20, Buffer.from([1]));
export const appData = (n: number) => records(23, Buffer.alloc(n, 0xaa));
export const alert = (level: number, description: number) => records(21, Buffer.from([level, description]));

/** What a session reported. */
export interface Recorded {
  entries: Entry[];
  parseErrors: string[];
  annotations: Record<string, unknown>;
}

export function recordingContext(): { ctx: SessionContext; out: Recorded } {
  const out: Recorded = { entries: [], parseErrors: [], annotations: {} };
  const client = { ip: '198.18.13.10', port: 40000 };
  const server = { ip: '198.18.13.11', port: 443 };
  let n = 0;
  const ctx: SessionContext = {
    connectionId: 1,
    client,
    server,
    emit(e) {
      out.entries.push({
        type: 'entry',
        id: `1-${++n}`,
        connectionId: 1,
        src: client,
        dst: server,
        ...e,
      } as Entry);
    },
    parseError(detail) {
      out.parseErrors.push(detail);
    },
    annotate(key, value) {
      out.annotations[key] = value;
    },
    switchTo() {
      return null;
    },
  };
  return { ctx, out };
}

/** One direction's bytes of a conversation, in order. */
export type Flight = { dir: Direction; bytes: Buffer };
