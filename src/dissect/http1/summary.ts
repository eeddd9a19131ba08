/**
 * An HTTP/1.x exchange as an entry (DESIGN.md: method, path with query, status code), or as a
 * GraphQL entry when the request carries a GraphQL document (method = operation type, path =
 * operation name, status = HTTP status).
 */
import { NO_DETAIL } from '../dissector.js';
import type { Entry, EntryEndpoint } from '../entry.js';
import { graphqlRequest } from '../graphql/detect.js';
import { graphqlColumns, graphqlResults } from '../graphql/summary.js';
import { type BodyCollector, bodyText, displayBody } from './body.js';
import type { Exchange } from './matcher.js';
import { type HeaderList, header, headerRecord } from './messages.js';

/** The connection's client and server, as an exchange's entry names them. */
export interface Endpoints {
  readonly client: EntryEndpoint;
  readonly server: EntryEndpoint;
}

/** A message's body fields, added to `out` (its start-line fields and headers) in the entry's order. */
function addBody(
  out: Record<string, unknown>,
  body: BodyCollector,
  headers: HeaderList,
): Record<string, unknown> {
  const d = displayBody(body, header(headers, 'content-type'), header(headers, 'content-encoding'));
  if (!d) {
    out.bodySize = 0;
    return out;
  }
  out.body = d.body;
  out.bodyEncoding = d.bodyEncoding;
  out.bodySize = d.bodySize;
  out.bodyTruncated = d.truncated;
  if (d.decodedSize !== undefined) out.decodedSize = d.decodedSize;
  if (d.contentEncoding !== undefined) out.contentEncoding = d.contentEncoding;
  if (d.decodeError !== undefined) out.decodeError = d.decodeError;
  return out;
}

/**
 * The exchange's entry, whole (SessionContext.emit): the router sets its id and connection.
 * Without `detail` (SessionContext.detail), request and response are NO_DETAIL: no headers nor
 * bodies, though a GraphQL request is still told apart (its protocol, method and path differ).
 */
export function buildEntry(ex: Exchange, at: Endpoints, detail = true): Entry {
  const { req, resp } = ex;
  const request: Record<string, unknown> = !detail
    ? NO_DETAIL
    : req
      ? addBody(
          {
            httpVersion: req.version,
            method: req.method,
            path: req.target,
            headers: headerRecord(req.headers),
          },
          ex.reqBody,
          req.headers,
        )
      : {};
  const response: Record<string, unknown> | null = !resp
    ? null
    : !detail
      ? NO_DETAIL
      : addBody(
          {
            httpVersion: resp.version,
            status: resp.status,
            statusText: resp.reason,
            headers: headerRecord(resp.headers),
          },
          ex.respBody,
          resp.headers,
        );
  if (detail && response && ex.interim.length > 0)
    response.informational = ex.interim.map((h) => ({
      status: h.status,
      statusText: h.reason,
      headers: headerRecord(h.headers),
    }));
  let error: string | null = null;
  if (ex.errors.length > 0 || (!resp && req)) {
    const errors = [...ex.errors];
    if (!resp && req) errors.push('no response');
    error = errors.join('; ');
  }
  // The keys in the order every entry is written (router.ts).
  const entry: Entry = {
    type: 'entry',
    id: '',
    connectionId: 0,
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
    error,
    src: at.client,
    dst: at.server,
  };
  if (req) asGraphql(entry, ex, detail);
  return entry;
}

/** Turns `entry` into a GraphQL entry when its request carries a GraphQL document. */
function asGraphql(entry: Entry, ex: Exchange, detail: boolean): void {
  const req = ex.req!;
  // Neither a GET without a query string nor a request without a body carries a document
  // (graphqlRequest answers null for both): skip the lookups.
  if (req.method === 'GET' ? !req.target.includes('?') : ex.reqBody.size === 0) return;
  const ct = header(req.headers, 'content-type');
  const text =
    req.method === 'GET' ? null : bodyText(ex.reqBody, ct, header(req.headers, 'content-encoding'));
  const gq = graphqlRequest(req.method, req.target, ct, text);
  if (!gq) return;
  const { method, path } = graphqlColumns(gq);
  entry.protocol = 'graphql';
  entry.method = method;
  entry.path = path;
  if (!detail) return;
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
