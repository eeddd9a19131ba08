/**
 * A certificate chain as text for k8spacket's TLS details panel (`serverChain`; k8spacket printed
 * each certificate with certinfo, as `openssl x509 -text` does). podwire shows what the TLS
 * dissector kept of each certificate (src/dissect/tls/certificate.ts), leaf first.
 */
import type { CertificateSummary } from '../../dissect/tls/certificate.js';

export function certificateText(chain: readonly CertificateSummary[]): string {
  return chain
    .map((c, i) =>
      [
        `Certificate ${i}${i === 0 ? ' (server)' : ''}:`,
        `    Serial Number: ${c.serialNumber}`,
        `    Issuer: ${c.issuer}`,
        '    Validity',
        `        Not Before: ${c.notBefore}`,
        `        Not After : ${c.notAfter}`,
        `    Subject: ${c.subject}`,
        ...(c.san.length ? [`    X509v3 Subject Alternative Name: ${c.san.join(', ')}`] : []),
        `    SHA256 Fingerprint: ${c.fingerprint256}`,
      ].join('\n'),
    )
    .join('\n');
}
