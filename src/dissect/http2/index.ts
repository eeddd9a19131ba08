/**
 * The HTTP/2 dissector (RFC 9113, HPACK RFC 7541), gRPC included: streams whose content-type is
 * application/grpc become `grpc` entries, the others `http` entries with request.httpVersion '2'.
 * tshark's `http2` and `grpc` decode-as names both map here (registry.ts).
 */
import type { TcpDissector } from '../dissector.js';
import { detectHttp2 } from './detect.js';
import { Http2Session } from './session.js';

export const http2Dissector: TcpDissector = {
  name: 'http2',
  protocol: 'http',
  // h2c has no registered port; these are where prior-knowledge h2c and gRPC are usually served.
  ports: [50051],
  spec: 'RFC 9113 (HTTP/2), RFC 7541 (HPACK), gRPC PROTOCOL-HTTP2.md',
  detect: detectHttp2,
  createSession: (ctx) => new Http2Session(ctx),
};

export { Http2Session, type UpgradedRequest } from './session.js';
