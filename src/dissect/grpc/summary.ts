/**
 * The gRPC part of an entry: service and method from the path, the messages of each side
 * (Length-Prefixed-Messages decompressed when the stream's grpc-encoding is gzip or deflate, then
 * decoded as protobuf: with field names when a schema has the method, else without a schema) and the
 * status from the trailers (PROTOCOL-HTTP2.md). README.md in this folder describes the fields.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { header, type Side, type Stream } from '../http2/matcher.js';
import { decodeProtobuf } from '../protobuf/decode.js';
import type { GrpcMessage } from './messages.js';
import type { GrpcMethod, GrpcSchema, MessageType } from './schema.js';
import { grpcStatusName } from './status.js';

/** Largest decompressed message decoded for display. */
const MAX_INFLATED = 256 * 1024;

export interface GrpcDetail {
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

/** `/package.Service/Method` -> service and method (PROTOCOL-HTTP2.md: Path). */
export function splitPath(path: string): { service: string; rpc: string } | null {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1]!, rpc: m[2]! } : null;
}

/**
 * One message: its prefix, then `json` when it decodes as `type`, else `protobuf` (schema-less) with
 * `schemaError` saying why the type did not fit (only when there was a type to try).
 */
export function messageDetail(
  m: GrpcMessage,
  encoding: string | undefined,
  type: MessageType | null = null,
): Record<string, unknown> {
  const out: Record<string, unknown> = { compressed: m.compressed, length: m.length };
  const whole = m.data.length === m.length;
  if (!whole) out.truncated = true;
  let bytes: Uint8Array | null = m.data;
  if (m.compressed) {
    bytes = null;
    if (whole && (encoding === 'gzip' || encoding === 'deflate')) {
      try {
        const opts = { maxOutputLength: MAX_INFLATED };
        bytes = encoding === 'gzip' ? gunzipSync(m.data, opts) : inflateSync(m.data, opts);
        out.decompressedLength = bytes.length;
      } catch (err) {
        out.decompressError = `${encoding}: ${(err as Error).message}`;
      }
    } else if (!whole) out.decompressError = 'message larger than what is kept: not decompressed';
    else out.decompressError = `grpc-encoding ${encoding ?? '(none)'} not supported`;
  }
  if (bytes && whole && type) {
    const typed = type.decode(bytes);
    if (typed.json) {
      out.json = typed.json;
      if (typed.cut) out.jsonCut = true;
      return out;
    }
    out.schemaError = typed.error;
  } else if (type && !whole)
    out.schemaError = `message longer than the ${m.data.length} bytes kept: not decoded`;
  if (bytes && whole) {
    const pb = decodeProtobuf(bytes);
    out.protobuf = pb.fields;
    if (pb.error) out.protobufError = pb.error;
  }
  return out;
}

function sideDetail(side: Side, type: MessageType | null): Record<string, unknown> {
  const encoding = header(side.headers, 'grpc-encoding');
  const count = side.grpc?.count ?? 0;
  return {
    messageCount: count,
    ...(encoding ? { encoding } : {}),
    messages: side.messages.map((m) => messageDetail(m, encoding, type)),
    ...(count > side.messages.length ? { messagesNotShown: count - side.messages.length } : {}),
    ...(side.grpc?.partial ? { partialMessage: true } : {}),
  };
}

/**
 * What the schema says of the call: nothing without a schema (the entry is as it always was),
 * `schema: 'proto'` with the method's full name, streaming kind and request type when it has the
 * method, else `schema: 'none'` and why.
 */
function schemaDetail(
  path: string,
  schema: GrpcSchema | null,
  method: GrpcMethod | null,
): Record<string, unknown> {
  if (!schema) return {};
  if (!method)
    return {
      schema: 'none',
      schemaError: splitPath(path)
        ? `no method ${path} in the .proto files`
        : `path '${path}' is not /package.Service/Method`,
    };
  return {
    schema: 'proto',
    fullMethod: method.fullName,
    streaming: method.streaming,
    requestType: method.request.name,
  };
}

export function grpcDetail(
  s: Stream,
  g: { code: number | null; message: string | null },
  schema: GrpcSchema | null = null,
): GrpcDetail {
  const path = header(s.request.headers, ':path') ?? '';
  const names = splitPath(path);
  const method = schema?.method(path) ?? null;
  return {
    request: {
      path,
      ...(names ?? {}),
      ...schemaDetail(path, schema, method),
      ...(header(s.request.headers, 'grpc-timeout')
        ? { timeout: header(s.request.headers, 'grpc-timeout') }
        : {}),
      ...sideDetail(s.request, method?.request ?? null),
    },
    response: {
      grpcStatus: g.code,
      ...(g.code !== null ? { grpcStatusName: grpcStatusName(g.code) } : {}),
      grpcMessage: g.message,
      ...(method ? { responseType: method.response.name } : {}),
      ...sideDetail(s.response, method?.response ?? null),
    },
  };
}
