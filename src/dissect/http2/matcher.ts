/**
 * Request/response matching for HTTP/2: a stream is one exchange (RFC 9113 §5, §8.1). Each stream
 * collects the request side (frames from the client, or a PUSH_PROMISE's header block) and the
 * response side (frames from the server): the header blocks, informational responses, the body or
 * gRPC messages, trailers, and the bytes on the wire. A stream is done when the server ends it,
 * either side resets it, or the connection closes.
 */

import { type GrpcMessage, GrpcMessageReader } from '../grpc/messages.js';
import { decodeGrpcMessage } from '../grpc/status.js';
import type { HeaderField } from './hpack.js';

/** Body bytes kept per side for display (the size is always counted in full). */
export const MAX_BODY_KEPT = 64 * 1024;
/** gRPC messages kept per side for display (all are counted), and bytes kept of each. */
export const MAX_MESSAGES_KEPT = 16;
export const MAX_MESSAGE_KEPT = 16 * 1024;

export interface Side {
  /** Timestamp (µs) of the side's first frame; null when none was seen. */
  ts: number | null;
  /** The header block (the final response for the response side); null when not seen. */
  headers: HeaderField[] | null;
  /** RFC 9113 §8.1: 1xx responses before the final one. */
  informational: HeaderField[][];
  trailers: HeaderField[] | null;
  /** HEADERS, CONTINUATION, PUSH_PROMISE and DATA frames of this side, 9-byte headers included. */
  wireBytes: number;
  /** DATA payload bytes (padding excluded). */
  bodySize: number;
  /** The first MAX_BODY_KEPT bytes of the body (copies), for non-gRPC streams. */
  body: Uint8Array[];
  bodyKept: number;
  grpc: GrpcMessageReader | null;
  messages: GrpcMessage[];
  /** END_STREAM seen. */
  ended: boolean;
}

export interface Stream {
  id: number;
  request: Side;
  response: Side;
  /** gRPC when the request's (or, unseen, the response's) content-type is application/grpc*. */
  grpc: boolean;
  reset: { by: 'client' | 'server'; code: number } | null;
  /** Problems met on this stream (a lost header block, a gap, a parse error), in order. */
  errors: string[];
  /** Promised by the server (RFC 9113 §8.4). */
  pushed: boolean;
  /** The request came over HTTP/1.1 before an h2c upgrade (RFC 7540 §3.2). */
  upgraded: boolean;
  /** Stream 1 after an h2c upgrade whose HTTP/1.1 request was not handed over (`upgradeRequest`). */
  upgradedUnknown: boolean;
}

export function newSide(): Side {
  return {
    ts: null,
    headers: null,
    informational: [],
    trailers: null,
    wireBytes: 0,
    bodySize: 0,
    body: [],
    bodyKept: 0,
    grpc: null,
    messages: [],
    ended: false,
  };
}

export function newStream(id: number): Stream {
  return {
    id,
    request: newSide(),
    response: newSide(),
    grpc: false,
    reset: null,
    errors: [],
    pushed: false,
    upgraded: false,
    upgradedUnknown: false,
  };
}

/** Records a problem on the stream once (a repeated gap is one note). */
export function addError(s: Stream, detail: string): void {
  if (!s.errors.includes(detail) && s.errors.length < 8) s.errors.push(detail);
}

export function header(fields: HeaderField[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (const [n, v] of fields) if (n === name) return v;
  return undefined;
}

export function isGrpcContentType(ct: string | undefined): boolean {
  return ct !== undefined && /^application\/grpc(?:[+;]|$)/i.test(ct);
}

/**
 * A complete header block for one side of the stream. Which of headers, informational or trailers
 * it is follows RFC 9113 §8.1: a response is zero or more 1xx blocks, one final block, then at most
 * one trailer block; a request is one block and at most one trailer block.
 */
export function applyHeaders(s: Stream, side: 'request' | 'response', fields: HeaderField[]): void {
  const x = s[side];
  if (x.headers === null) {
    const status = side === 'response' ? header(fields, ':status') : undefined;
    if (status !== undefined && /^1\d\d$/.test(status) && status !== '101') {
      x.informational.push(fields);
      return;
    }
    x.headers = fields;
    if (!s.grpc) {
      const ct = header(fields, 'content-type');
      if (isGrpcContentType(ct) && (side === 'request' || s.request.headers === null)) startGrpc(s);
    }
    return;
  }
  x.trailers = fields;
}

function startGrpc(s: Stream): void {
  s.grpc = true;
  for (const side of ['request', 'response'] as const) {
    const x = s[side];
    x.grpc = new GrpcMessageReader(
      (m) => {
        if (x.messages.length < MAX_MESSAGES_KEPT) x.messages.push(m);
      },
      (detail) => addError(s, detail),
      MAX_MESSAGE_KEPT,
    );
    // Body bytes collected before the content-type was known are replayed as messages.
    for (const chunk of x.body) x.grpc.feed(chunk);
    x.body = [];
    x.bodyKept = 0;
  }
}

/** DATA payload for one side; `chunk` is a view valid only during the call. */
export function applyData(s: Stream, side: 'request' | 'response', chunk: Uint8Array): void {
  const x = s[side];
  x.bodySize += chunk.length;
  if (x.grpc) {
    x.grpc.feed(chunk);
    return;
  }
  const room = MAX_BODY_KEPT - x.bodyKept;
  if (room > 0) {
    // A copy (a Buffer's slice would be a view): the body outlives the capture buffer.
    const part = new Uint8Array(chunk.subarray(0, room));
    x.body.push(part);
    x.bodyKept += part.length;
  }
}

/** grpc-status and grpc-message: from the trailers, or from a Trailers-Only response's headers. */
export function grpcStatus(s: Stream): { code: number | null; message: string | null } {
  const src = s.response.trailers ?? s.response.headers;
  const code = header(src, 'grpc-status');
  const message = header(src, 'grpc-message');
  const n = code !== undefined && /^\d+$/.test(code) ? Number(code) : null;
  return { code: n, message: message === undefined ? null : decodeGrpcMessage(message) };
}
