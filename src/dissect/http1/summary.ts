/**
 * An HTTP/1.x exchange as an entry (DESIGN.md: method, path with query, status code), or as a
 * GraphQL entry when the request carries a GraphQL document (method = operation type, path =
 * operation name, status = HTTP status).
 */
import type { SessionContext } from '../dissector.js';
import { graphqlRequest } from '../graphql/detect.js';
import { graphqlColumns, graphqlResults } from '../graphql/summary.js';
import { type BodyCollector, bodyText, displayBody } from './body.js';
import type { Exchange } from './matcher.js';
import { type HeaderList, header, headerRecord } from './messages.js';

export type EntryFields = Parameters<SessionContext['emit']>[0];

function bodyFields(body: BodyCollector, headers: HeaderList): Record<string, unknown> {
  const d = displayBody(body, header(headers, 'content-type'), header(headers, 'content-encoding'));
  if (!d) return { bodySize: 0 };
  const out: Record<string, unknown> = {
    body: d.body,
    bodyEncoding: d.bodyEncoding,
    bodySize: d.bodySize,
    bodyTruncated: d.truncated,
  };
  if (d.decodedSize !== undefined) out.decodedSize = d.decodedSize;
  if (d.contentEncoding !== undefined) out.contentEncoding = d.contentEncoding;
  if (d.decodeError !== undefined) out.decodeError = d.decodeError;
  return out;
}

export function buildEntry(ex: Exchange): EntryFields {
  const { req, resp } = ex;
  const request: Record<string, unknown> = req
    ? {
        httpVersion: req.version,
        method: req.method,
        path: req.target,
        headers: headerRecord(req.headers),
        ...bodyFields(ex.reqBody, req.headers),
      }
    : {};
  const response: Record<string, unknown> | null = resp
    ? {
        httpVersion: resp.version,
        status: resp.status,
        statusText: resp.reason,
        headers: headerRecord(resp.headers),
        ...bodyFields(ex.respBody, resp.headers),
      }
    : null;
  if (response && ex.interim.length > 0)
    response.informational = ex.interim.map((h) => ({
      status: h.status,
      statusText: h.reason,
      headers: headerRecord(h.headers),
    }));
  const errors = [...ex.errors];
  if (!resp && req) errors.push('no response');
  const entry: EntryFields = {
    protocol: 'http',
    timestamp: req ? ex.reqTs : ex.respTs,
    elapsedMs: req && resp ? Math.max(0, ex.respTs - ex.reqTs) / 1000 : null,
    method: req?.method ?? '',
    path: req?.target ?? '',
    status: resp?.status ?? null,
    request,
    response,
    requestSize: ex.reqSize,
    responseSize: ex.respSize,
    error: errors.length > 0 ? errors.join('; ') : null,
  };
  if (req) asGraphql(entry, ex);
  return entry;
}

/** Turns `entry` into a GraphQL entry when its request carries a GraphQL document. */
function asGraphql(entry: EntryFields, ex: Exchange): void {
  const req = ex.req!;
  const ct = header(req.headers, 'content-type');
  const text =
    req.method === 'GET' ? null : bodyText(ex.reqBody, ct, header(req.headers, 'content-encoding'));
  const gq = graphqlRequest(req.method, req.target, ct, text);
  if (!gq) return;
  const { method, path } = graphqlColumns(gq);
  entry.protocol = 'graphql';
  entry.method = method;
  entry.path = path;
  entry.request.graphql = gq;
  if (ex.resp && entry.response) {
    const results = graphqlResults(
      bodyText(
        ex.respBody,
        header(ex.resp.headers, 'content-type'),
        header(ex.resp.headers, 'content-encoding'),
      ),
    );
    if (results) {
      entry.response.graphql = gq.batched ? results : results[0];
      entry.response.errors = results.flatMap((r) => r.errors);
    }
  }
}
