/**
 * The server certificate's expiry as the TLS dissector reports it (src/dissect/tls/summary.ts): on a
 * `tls` entry, `response.certificates[0]` is the leaf; on a connection record,
 * `l7.tls.certificate` is the leaf of its latest handshake and `l7.tls.domain` the SNI. Certificates
 * are on the wire up to TLS 1.2 only (TLS 1.3 encrypts them), so 1.3 handshakes leave no expiry.
 * `notAfter` is ISO 8601; k8spacket's gauge is epoch milliseconds (`NotAfter.UnixMilli()`).
 */
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';

function epochMs(notAfter: unknown): number | null {
  if (typeof notAfter !== 'string') return null;
  const t = Date.parse(notAfter);
  return Number.isNaN(t) ? null : t;
}

/** The leaf certificate's notAfter (epoch ms) carried by a `tls` entry, or null. */
export function entryCertExpiry(e: Entry): number | null {
  const certs = (e.response as { certificates?: unknown } | null)?.certificates;
  if (!Array.isArray(certs) || certs.length === 0) return null;
  return epochMs((certs[0] as { notAfter?: unknown } | null)?.notAfter);
}

/** The connection's TLS summary: the SNI and the leaf certificate's notAfter (epoch ms), or null. */
export function connectionCert(rec: ConnectionRecord): { domain: string; expiry: number } | null {
  const tls = rec.l7?.tls as { domain?: unknown; certificate?: { notAfter?: unknown } } | undefined;
  if (!tls?.certificate) return null;
  const expiry = epochMs(tls.certificate.notAfter);
  if (expiry === null) return null;
  return { domain: typeof tls.domain === 'string' ? tls.domain : '', expiry };
}
