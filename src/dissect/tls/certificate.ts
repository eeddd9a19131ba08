/**
 * A server certificate as users read it: subject, SANs, issuer and validity (what k8spacket's TLS
 * dashboards show as notBefore/notAfter and serverChain). DER is parsed by node:crypto's
 * X509Certificate; only strings are kept.
 */
import { X509Certificate } from 'node:crypto';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  /** subjectAltName entries as OpenSSL prints them: `DNS:example.com`, `IP Address:10.0.0.1`. */
  san: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  /** SHA-256 of the DER, colon-separated hex (as `openssl x509 -fingerprint -sha256`). */
  fingerprint256: string;
}

/** OpenSSL's multi-line DN (`CN=a\nO=b`) as one line, most specific first as it printed it. */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).join(', ');
}

/** `Mar 11 23:27:53 2015 GMT` -> ISO 8601 (the raw text when it does not parse). */
function isoDate(s: string): string {
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : new Date(t).toISOString();
}

export function summarizeCertificate(
  der: Uint8Array,
): { ok: true; value: CertificateSummary } | { ok: false; error: string } {
  let cert: X509Certificate;
  try {
    // X509Certificate copies what it parses; the DER view may be released afterwards.
    cert = new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.byteLength));
  } catch (err) {
    // A library boundary: OpenSSL reports bad DER by throwing; here it becomes a counted value.
    return { ok: false, error: `RFC 5280 §4.1: certificate does not parse (${(err as Error).message})` };
  }
  return {
    ok: true,
    value: {
      subject: oneLine(cert.subject),
      issuer: oneLine(cert.issuer),
      san: cert.subjectAltName ? cert.subjectAltName.split(/,\s*/).filter(Boolean) : [],
      notBefore: isoDate(cert.validFrom),
      notAfter: isoDate(cert.validTo),
      serialNumber: cert.serialNumber,
      fingerprint256: cert.fingerprint256,
    },
  };
}

/** The chain as text, one certificate per line (k8spacket's `serverChain`). */
export function chainText(chain: readonly CertificateSummary[]): string {
  return chain
    .map((c, i) => `${i}: subject=${c.subject}; issuer=${c.issuer}; notAfter=${c.notAfter}`)
    .join('\n');
}
