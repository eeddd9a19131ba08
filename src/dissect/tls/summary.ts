/**
 * What users see of a handshake: the entry (DESIGN.md: method `handshake`, path = SNI, status = the
 * negotiated version such as `1.3`) and the connection's `tls` summary, whose field names follow
 * k8spacket's TLS API (CONTRACTS.md: domain, clientTLSVersions, clientCipherSuites, usedTLSVersion,
 * usedCipherSuite, certificate { notBefore, notAfter, serverChain }) so that API can be fed from it.
 */
import type { SessionContext } from '../dissector.js';
import { type CertificateSummary, chainText } from './certificate.js';
import {
  alertName,
  cipherSuiteName,
  extensionName,
  groupName,
  hex4,
  isGrease,
  versionName,
  versionStatus,
} from './constants.js';
import { ja3, ja3s, ja4, ja4s } from './fingerprint.js';
import type { Handshake } from './matcher.js';
import type { ClientHello, ServerHello } from './messages.js';

type EntryFields = Parameters<SessionContext['emit']>[0];

const noGrease = (xs: readonly number[]) => xs.filter((x) => !isGrease(x));

/** The versions a client offers: supported_versions when present, else its legacy_version. */
function offeredVersions(h: ClientHello): string[] {
  const vs = noGrease(h.supportedVersions);
  return (vs.length > 0 ? vs : [h.legacyVersion]).map(versionName);
}

export function clientView(h: ClientHello): Record<string, unknown> {
  return {
    sni: h.sni,
    version: versionName(h.legacyVersion),
    supportedVersions: offeredVersions(h),
    cipherSuites: noGrease(h.cipherSuites).map(cipherSuiteName),
    extensions: noGrease(h.extensions).map(extensionName),
    alpn: h.alpn,
    supportedGroups: noGrease(h.supportedGroups).map(groupName),
    signatureAlgorithms: noGrease(h.signatureAlgorithms).map(hex4),
    ech: h.ech,
    ...(h.sslv2 ? { sslv2: true } : {}),
    ...ja3(h),
    ...ja4(h),
  };
}

function negotiated(h: ServerHello): number {
  return h.selectedVersion ?? h.legacyVersion;
}

export function serverView(h: ServerHello): Record<string, unknown> {
  return {
    version: versionName(negotiated(h)),
    cipherSuite: cipherSuiteName(h.cipherSuite),
    alpn: h.alpn,
    extensions: h.extensions.map(extensionName),
    ...(h.keyShareGroup !== null ? { keyShareGroup: groupName(h.keyShareGroup) } : {}),
    ...ja3s(h),
    ...ja4s(h),
  };
}

export function toEntry(h: Handshake): EntryFields {
  const problems = [...h.problems];
  const request: Record<string, unknown> = h.client ? clientView(h.client) : {};
  if (h.retry) request.retry = clientView(h.retry);
  let response: Record<string, unknown> | null = null;
  if (h.server || h.helloRetryRequest || h.alert) {
    response = h.server ? serverView(h.server) : {};
    if (h.helloRetryRequest) response.helloRetryRequest = serverView(h.helloRetryRequest);
    if (h.certificates) response.certificates = h.certificates;
    if (h.alert)
      response.alert = {
        from: h.alert.from,
        level: h.alert.level === 2 ? 'fatal' : 'warning',
        description: alertName(h.alert.description),
      };
  }
  if (!h.server)
    problems.push(h.helloRetryRequest ? 'no ServerHello after HelloRetryRequest' : 'no ServerHello');
  if (h.alert?.level === 2) problems.push(`${h.alert.from} alert ${alertName(h.alert.description)}`);
  const sni = h.retry?.sni ?? h.client?.sni ?? '';
  return {
    protocol: 'tls',
    timestamp: h.ts,
    elapsedMs: h.serverTs !== null && h.client ? (h.serverTs - h.ts) / 1000 : null,
    method: 'handshake',
    path: sni,
    status: h.server ? versionStatus(negotiated(h.server)) : null,
    request,
    response,
    requestSize: h.requestSize,
    responseSize: h.responseSize,
    error: problems.length > 0 ? problems.join('; ') : null,
  };
}

export interface RecordCounts {
  records: number;
  bytes: number;
}

/** The connection record's `tls` summary, from its latest handshake. */
export function toAnnotation(
  h: Handshake,
  handshakes: number,
  appData: { client: RecordCounts; server: RecordCounts },
): Record<string, unknown> {
  const client = h.retry ?? h.client;
  const certs: CertificateSummary[] = h.certificates ?? [];
  const leaf = certs[0];
  return {
    domain: client?.sni ?? null,
    clientTLSVersions: client ? offeredVersions(client) : [],
    clientCipherSuites: client ? noGrease(client.cipherSuites).map(cipherSuiteName) : [],
    usedTLSVersion: h.server ? versionName(negotiated(h.server)) : null,
    usedCipherSuite: h.server ? cipherSuiteName(h.server.cipherSuite) : null,
    alpn: h.server?.alpn ?? null,
    ja3Hash: client ? ja3(client).ja3Hash : null,
    ja4: client ? ja4(client).ja4 : null,
    ja3sHash: h.server ? ja3s(h.server).ja3sHash : null,
    ja4s: h.server ? ja4s(h.server).ja4s : null,
    ech: client?.ech ?? false,
    ...(leaf
      ? {
          certificate: {
            subject: leaf.subject,
            issuer: leaf.issuer,
            san: leaf.san,
            notBefore: leaf.notBefore,
            notAfter: leaf.notAfter,
            serverChain: chainText(certs),
          },
        }
      : {}),
    handshakes,
    appData,
  };
}
