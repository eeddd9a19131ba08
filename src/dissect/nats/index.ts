/**
 * NATS, the client protocol (docs.nats.io "Client Protocol"): INFO, CONNECT, PUB, HPUB, SUB, UNSUB,
 * MSG, HMSG, PING, PONG, +OK, -ERR. tshark has no NATS dissector.
 */
import type { TcpDissector } from '../dissector.js';
import { detectNats } from './detect.js';
import { NatsSession } from './session.js';

export const natsDissector: TcpDissector = {
  name: 'nats',
  protocol: 'nats',
  ports: [4222],
  spec: 'docs.nats.io/reference/reference-protocols/nats-protocol',
  detect: detectNats,
  createSession: (ctx) => new NatsSession(ctx),
};

export { NatsSession } from './session.js';
