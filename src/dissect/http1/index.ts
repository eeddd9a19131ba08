/**
 * HTTP/1.0 and 1.1 (RFC 9110 semantics, RFC 9112 message syntax): keep-alive and pipelining,
 * chunked and close-delimited bodies, interim responses, HEAD/204/304, CONNECT, and Upgrade to
 * WebSocket (RFC 6455) or h2c (RFC 7540 §3.2). GraphQL exchanges are recognised by their content.
 */
import type { TcpDissector } from '../dissector.js';
import { detectHttp1 } from './detect.js';
import { Http1Session } from './session.js';

export const http1Dissector: TcpDissector = {
  name: 'http1',
  protocol: 'http',
  ports: [80, 8080, 8000, 8008, 8888, 3000, 5000, 9090],
  spec: 'RFC 9110, RFC 9112; GraphQL over HTTP (draft 2024)',
  detect: detectHttp1,
  createSession: (ctx) => new Http1Session(ctx),
};
