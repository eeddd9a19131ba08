/**
 * TLS: one `tls` entry per handshake — SNI, offered and negotiated versions, cipher suites, ALPN,
 * extensions, JA3/JA4 and JA3S/JA4S fingerprints, and below TLS 1.3 the server's certificate chain —
 * and a `tls` summary on the connection record. Nothing is decrypted: after the handshake, records
 * are only counted.
 *
 * Decisions:
 * - A HelloRetryRequest handshake is one entry: `request` is the first ClientHello (FoxIO's JA4.1),
 *   `request.retry` the second (JA4.2), `response.helloRetryRequest` the HRR, `response` the final
 *   ServerHello. Corpus comparisons read hellos in that order.
 * - TLS 1.3 hides the chosen ALPN (EncryptedExtensions, RFC 8446 §4.3.1) and the certificate
 *   (§4.4.2): `response.alpn` is null and there is no chain; the offer is in `request.alpn`.
 * - JA4's ALPN characters: a byte ≥ 0x80 prints as '9' (FoxIO's reference output on
 *   tls-non-ascii-alpn), a one-character protocol name counts as first and last; GREASE is left out
 *   of every list, signature algorithms included (JA4.md: "ignore GREASE values anywhere").
 * - A handshake message is kept up to 256 KiB (handshake.ts); a longer one (zeek's 339,629-byte
 *   Certificate) is skipped as it streams past, counted as a parse error, and noted on the entry.
 * - Bytes that are not TLS records (a STARTTLS prelude under decode-as, garbage) are one parse error;
 *   parsing resumes at the next ClientHello/ServerHello record.
 */
import type { TcpDissector } from '../dissector.js';
import { detectTls } from './detect.js';
import { TlsSession } from './session.js';

export const tlsDissector: TcpDissector = {
  name: 'tls',
  protocol: 'tls',
  // HTTPS, LDAPS, IMAPS, POP3S, SMTPS, Kubernetes API/kubelet, common alternates.
  ports: [443, 465, 636, 993, 995, 6443, 8443, 10250],
  spec: 'RFC 8446 (TLS 1.3), RFC 5246 (TLS 1.2); JA3 (salesforce/ja3), JA4 (FoxIO-LLC/ja4)',
  detect: detectTls,
  createSession: (ctx) => new TlsSession(ctx),
};
