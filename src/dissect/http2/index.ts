/**
 * The HTTP/2 dissector (RFC 9113, HPACK RFC 7541), gRPC included: streams whose content-type is
 * application/grpc become `grpc` entries, the others `http` entries with request.httpVersion '2'.
 * tshark's `http2` and `grpc` decode-as names both map here (registry.ts).
 */
import type { TcpDissector } from '../dissector.js';
import type { GrpcSchema } from '../grpc/schema.js';
import { detectHttp2 } from './detect.js';
import { type Http2Options, Http2Session } from './session.js';

export const http2Dissector: TcpDissector = {
  name: 'http2',
  protocol: 'http',
  // h2c has no registered port; these are where prior-knowledge h2c and gRPC are usually served.
  ports: [50051],
  spec: 'RFC 9113 (HTTP/2), RFC 7541 (HPACK), gRPC PROTOCOL-HTTP2.md',
  detect: detectHttp2,
  createSession: (ctx) => new Http2Session(ctx),
};

/**
 * `dissectors` with the HTTP/2 one replaced by one whose sessions decode gRPC messages with `schema`
 * (a pipeline's own copy; the module's stays as is). Found by name, so that an h2c upgrade's
 * `switchTo('http2')` gets it too.
 */
export function withGrpcSchema(dissectors: readonly TcpDissector[], schema: GrpcSchema): TcpDissector[] {
  const options: Http2Options = { grpcSchema: schema };
  return dissectors.map((d) =>
    d.name === http2Dissector.name
      ? { ...http2Dissector, createSession: (ctx) => new Http2Session(ctx, options) }
      : d,
  );
}

export { type Http2Options, Http2Session, type UpgradedRequest } from './session.js';
