/**
 * TLS handshakes as k8spacket's TLS API shows them (CONTRACTS.md, "TLS list row" and "TLS details";
 * k8spacket's tlsparser model): one row per client, server and SNI, with the latest handshake's
 * negotiated version and cipher, and details with what the client offered and the server's
 * certificate. k8spacket keyed a row by (client IP, server IP) only, so a client reaching several
 * names on one address (a CDN) kept only the last; podwire keeps one row per (client IP, server
 * IP, server port, SNI).
 *
 * Certificates come from the wire (the Certificate message, visible up to TLS 1.2); k8spacket
 * dialled the server itself. Where none was seen (TLS 1.3 encrypts it), `serverChain` is
 * k8spacket's `UNAVAILABLE` and the dates are null.
 */
import type { Entry } from '../../dissect/entry.js';
import type { CertificateSummary } from '../../dissect/tls/certificate.js';
import { rfc3339Micros } from '../nodegraph/aggregate.js';
import { endpointNamespace, endpointTitle, NOT_AVAILABLE } from '../nodegraph/names.js';
import { certificateText } from './certificate.js';
import type { DialedCertificate } from './dialer.js';

/** k8spacket's TLSConnection. */
export interface TlsRow {
  id: string;
  src: string;
  srcName: string;
  srcNamespace: string;
  dst: string;
  dstName: string;
  dstPort: number;
  /** SNI, `''` when the client sent none. */
  domain: string;
  usedTLSVersion: string;
  usedCipherSuite: string;
  lastSeen: string;
}

/** k8spacket's Certificate. */
export interface TlsCertificate {
  notBefore: string | null;
  notAfter: string | null;
  serverChain: string;
  /** When the certificate was last seen on the wire (k8spacket: when it last dialled the server). */
  lastScrape: string | null;
}

/** k8spacket's TLSDetails. */
export interface TlsDetails {
  id: string;
  domain: string;
  dst: string;
  port: number;
  clientTLSVersions: string[];
  clientCipherSuites: string[];
  usedTLSVersion: string;
  usedCipherSuite: string;
  certificate: TlsCertificate;
}

export const CHAIN_UNAVAILABLE = 'UNAVAILABLE';

export interface TlsView {
  rows: TlsRow[];
  details: Map<string, TlsDetails>;
}

/** FNV-1a, 64 bits, as a decimal string: a row's id, stable for its key across requests and hubs. */
export function rowId(key: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString();
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The ClientHello that counts: the second one after a HelloRetryRequest, else the first. */
export function clientHello(e: Entry): Record<string, unknown> {
  const retry = e.request.retry;
  return typeof retry === 'object' && retry !== null ? (retry as Record<string, unknown>) : e.request;
}

export function certificates(e: Entry): CertificateSummary[] {
  const c = e.response?.certificates;
  return Array.isArray(c) ? (c as CertificateSummary[]) : [];
}

function isoToRfc3339(iso: string): string | null {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : rfc3339Micros(ms * 1000);
}

interface Group {
  key: string;
  latest: Entry;
  /** The latest with a ServerHello, with a ClientHello, with certificates. */
  server: Entry | null;
  client: Entry | null;
  certified: Entry | null;
}

function later(a: Entry | null, b: Entry): Entry {
  return a === null || b.timestamp >= a.timestamp ? b : a;
}

/**
 * Rows and details of the handshakes (entries of other protocols are ignored). `dialed` gives the
 * chain read by dialling a server (src/hub/tlsparser/dialer.ts, `--tls-dial`), used when no
 * handshake of the row showed one on the wire.
 */
export function tlsView(
  entries: readonly Entry[],
  dialed?: (ip: string, port: number, domain: string) => DialedCertificate | null,
): TlsView {
  const groups = new Map<string, Group>();
  for (const e of entries) {
    if (e.protocol !== 'tls') continue;
    const domain = str(clientHello(e).sni) ?? '';
    const key = `${e.src.ip}|${e.dst.ip}|${e.dst.port}|${domain}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, latest: e, server: null, client: null, certified: null };
      groups.set(key, g);
    }
    g.latest = later(g.latest, e);
    if (str(e.response?.version)) g.server = later(g.server, e);
    if (Array.isArray(clientHello(e).cipherSuites)) g.client = later(g.client, e);
    if (certificates(e).length > 0) g.certified = later(g.certified, e);
  }
  const rows: TlsRow[] = [];
  const details = new Map<string, TlsDetails>();
  for (const g of groups.values()) {
    const id = rowId(g.key);
    const e = g.latest;
    const domain = str(clientHello(e).sni) ?? '';
    const usedTLSVersion = str(g.server?.response?.version) ?? NOT_AVAILABLE;
    const usedCipherSuite = str(g.server?.response?.cipherSuite) ?? NOT_AVAILABLE;
    rows.push({
      id,
      src: e.src.ip,
      srcName: endpointTitle(e.src),
      srcNamespace: endpointNamespace(e.src),
      dst: e.dst.ip,
      dstName: endpointTitle(e.dst),
      dstPort: e.dst.port,
      domain,
      usedTLSVersion,
      usedCipherSuite,
      lastSeen: rfc3339Micros(e.timestamp),
    });
    const hello = g.client ? clientHello(g.client) : {};
    const fromDial = g.certified ? null : (dialed?.(e.dst.ip, e.dst.port, domain) ?? null);
    const chain = g.certified ? certificates(g.certified) : (fromDial?.chain ?? []);
    const leaf = chain[0];
    // When it was read: the handshake that showed it, or the dial.
    const scrapedUs = g.certified ? g.certified.timestamp : (fromDial?.at ?? 0) * 1000;
    details.set(id, {
      id,
      domain,
      dst: e.dst.ip,
      port: e.dst.port,
      clientTLSVersions: strings(hello.supportedVersions),
      clientCipherSuites: strings(hello.cipherSuites),
      usedTLSVersion,
      usedCipherSuite,
      certificate: leaf
        ? {
            notBefore: isoToRfc3339(leaf.notBefore),
            notAfter: isoToRfc3339(leaf.notAfter),
            serverChain: certificateText(chain),
            lastScrape: rfc3339Micros(scrapedUs),
          }
        : { notBefore: null, notAfter: null, serverChain: CHAIN_UNAVAILABLE, lastScrape: null },
    });
  }
  rows.sort(
    (a, b) => cmp(a.src, b.src) || cmp(a.dst, b.dst) || a.dstPort - b.dstPort || cmp(a.domain, b.domain),
  );
  return { rows, details };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
