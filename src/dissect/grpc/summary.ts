/**
 * The gRPC part of an entry: service and method from the path, the messages of each side
 * (Length-Prefixed-Messages decoded as protobuf without a schema, decompressed when the stream's
 * grpc-encoding is gzip or deflate) and the status from the trailers (PROTOCOL-HTTP2.md).
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { header, type Side, type Stream } from '../http2/matcher.js';
import { decodeProtobuf } from '../protobuf/decode.js';
import type { GrpcMessage } from './messages.js';
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

export function messageDetail(m: GrpcMessage, encoding: string | undefined): Record<string, unknown> {
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
  if (bytes && whole) {
    const pb = decodeProtobuf(bytes);
    out.protobuf = pb.fields;
    if (pb.error) out.protobufError = pb.error;
  }
  return out;
}

function sideDetail(side: Side): Record<string, unknown> {
  const encoding = header(side.headers, 'grpc-encoding');
  const count = side.grpc?.count ?? 0;
  return {
    messageCount: count,
    ...(encoding ? { encoding } : {}),
    messages: side.messages.map((m) => messageDetail(m, encoding)),
    ...(count > side.messages.length ? { messagesNotShown: count - side.messages.length } : {}),
    ...(side.grpc?.partial ? { partialMessage: true } : {}),
  };
}

export function grpcDetail(s: Stream, g: { code: number | null; message: string | null }): GrpcDetail {
  const path = header(s.request.headers, ':path') ?? '';
  const names = splitPath(path);
  return {
    request: {
      path,
      ...(names ?? {}),
      ...(header(s.request.headers, 'grpc-timeout')
        ? { timeout: header(s.request.headers, 'grpc-timeout') }
        : {}),
      ...sideDetail(s.request),
    },
    response: {
      grpcStatus: g.code,
      ...(g.code !== null ? { grpcStatusName: grpcStatusName(g.code) } : {}),
      grpcMessage: g.message,
      ...sideDetail(s.response),
    },
  };
}
