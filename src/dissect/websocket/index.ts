/**
 * WebSocket (RFC 6455) with permessage-deflate (RFC 7692). A connection becomes WebSocket through
 * the HTTP/1.x Upgrade handshake, which the http1 dissector reads and then hands over; frames carry
 * no marker to detect them by reliably, so `detect` never claims a stream and a capture that starts
 * after the handshake needs decode-as (`tcp.port==N,websocket`, as tshark).
 */
import type { TcpDissector } from '../dissector.js';
import { WebSocketSession } from './session.js';

export const websocketDissector: TcpDissector = {
  name: 'websocket',
  protocol: 'websocket',
  ports: [],
  spec: 'RFC 6455; RFC 7692',
  detect: () => 'no',
  createSession: (ctx) => new WebSocketSession(ctx),
};
