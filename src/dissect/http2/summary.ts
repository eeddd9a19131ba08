/**
 * A finished HTTP/2 stream as an Entry (DESIGN.md: `http` with method, :path, :status and
 * `request.httpVersion` '2'; `grpc` with 'POST', /package.Service/Method and the grpc-status code).
 */
import type { SessionContext } from '../dissector.js';
import type { GrpcSchema } from '../grpc/schema.js';
import { grpcDetail } from '../grpc/summary.js';
import type { HeaderField } from './hpack.js';
import { grpcStatus, header, type Side, type Stream } from './matcher.js';
import { errorCodeName } from './messages.js';

type EntryFields = Parameters<SessionContext['emit']>[0];

/** Header fields as a map, pseudo-headers left out (they have fields of their own). */
export function headerMap(fields: HeaderField[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fields) return out;
  for (const [n, v] of fields) {
    if (n.startsWith(':')) continue;
    const prev = out[n];
    // RFC 9113 §8.2.3: split cookie fields are joined with "; "; other repeats with ", " (RFC 9110 §5.3).
    out[n] = prev === undefined ? v : `${prev}${n === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

const TEXT_TYPES =
  /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:json|xml|javascript|x-www-form-urlencoded|graphql)\b)/i;

export function bodyDetail(side: Side): Record<string, unknown> | undefined {
  if (side.bodySize === 0) return undefined;
  const bytes = Buffer.concat(side.body);
  const mimeType = header(side.headers, 'content-type') ?? '';
  const truncated = bytes.length < side.bodySize;
  const encoding = header(side.headers, 'content-encoding');
  if (!encoding && TEXT_TYPES.test(mimeType)) {
    const text = new TextDecoder('utf-8').decode(bytes);
    if (!text.includes('\uFFFD') || truncated)
      return { size: side.bodySize, mimeType, encoding: 'utf8', text, truncated };
  }
  return { size: side.bodySize, mimeType, encoding: 'base64', text: bytes.toString('base64'), truncated };
}

function elapsed(s: Stream): number | null {
  if (s.request.ts === null || s.response.ts === null) return null;
  return (s.response.ts - s.request.ts) / 1000;
}

/** Why the entry is incomplete or odd, or null. */
function errorOf(s: Stream, closing: string | null): string | null {
  const parts = [...s.errors];
  if (s.reset) parts.push(`RST_STREAM ${errorCodeName(s.reset.code)} from the ${s.reset.by}`);
  if (s.upgradedUnknown)
    parts.push('request sent over HTTP/1.1 before the h2c upgrade (RFC 7540 §3.2): see the 101 entry');
  else if (s.request.headers === null && !s.upgraded)
    parts.push('request headers not seen (stream began before the capture)');
  if (closing) parts.push(closing);
  return parts.length ? parts.join('; ') : null;
}

export function toEntry(
  s: Stream,
  closing: string | null,
  grpcSchema: GrpcSchema | null = null,
): EntryFields {
  const req = s.request;
  const res = s.response;
  const reqHeaders = req.headers;
  const method = header(reqHeaders, ':method') ?? '';
  const authority = header(reqHeaders, ':authority') ?? header(reqHeaders, 'host');
  // RFC 9113 §8.5: CONNECT has no :path; its target is :authority.
  const path = header(reqHeaders, ':path') ?? (method === 'CONNECT' ? (authority ?? '') : '');
  const statusText = header(res.headers, ':status');
  const httpStatus = statusText !== undefined && /^\d{3}$/.test(statusText) ? Number(statusText) : null;
  const timestamp = req.ts ?? res.ts ?? 0;
  const common = {
    timestamp,
    elapsedMs: elapsed(s),
    requestSize: req.wireBytes,
    responseSize: res.wireBytes,
    error: errorOf(s, closing),
  };
  const responseSeen = res.headers !== null || res.ts !== null;
  if (s.grpc) {
    const g = grpcStatus(s);
    const detail = grpcDetail(s, g, grpcSchema);
    return {
      ...common,
      protocol: 'grpc',
      method: 'POST',
      path,
      status: g.code,
      request: {
        httpVersion: '2',
        streamId: s.id,
        authority,
        ...detail.request,
        headers: headerMap(reqHeaders),
        ...(req.trailers ? { trailers: headerMap(req.trailers) } : {}),
      },
      response: responseSeen
        ? {
            httpVersion: '2',
            httpStatus,
            ...detail.response,
            headers: headerMap(res.headers),
            ...(res.trailers ? { trailers: headerMap(res.trailers) } : {}),
          }
        : null,
    };
  }
  const reqBody = bodyDetail(req);
  const resBody = bodyDetail(res);
  return {
    ...common,
    protocol: 'http',
    method,
    path,
    status: httpStatus,
    request: {
      httpVersion: '2',
      streamId: s.id,
      method,
      scheme: header(reqHeaders, ':scheme'),
      authority,
      path,
      headers: headerMap(reqHeaders),
      ...(req.trailers ? { trailers: headerMap(req.trailers) } : {}),
      bodySize: req.bodySize,
      ...(reqBody ? { body: reqBody } : {}),
      ...(s.pushed ? { pushed: true } : {}),
      ...(s.upgraded ? { upgradedFrom: 'HTTP/1.1' } : {}),
    },
    response: responseSeen
      ? {
          httpVersion: '2',
          status: httpStatus,
          ...(res.informational.length
            ? { informational: res.informational.map((f) => Number(header(f, ':status'))) }
            : {}),
          headers: headerMap(res.headers),
          ...(res.trailers ? { trailers: headerMap(res.trailers) } : {}),
          bodySize: res.bodySize,
          ...(resBody ? { body: resBody } : {}),
        }
      : null,
  };
}
