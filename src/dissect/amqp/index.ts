/**
 * AMQP 0-9-1 (RabbitMQ's dialect, with its extensions: exchange-to-exchange bindings, basic.nack,
 * publisher confirms, connection.blocked, update-secret). One entry per synchronous request and its
 * reply, per message (publish, deliver, return, get), and per asynchronous method.
 */
import type { TcpDissector } from '../dissector.js';
import { detectAmqp } from './detect.js';
import { AmqpSession } from './session.js';

export const amqpDissector: TcpDissector = {
  name: 'amqp',
  protocol: 'amqp',
  ports: [5672],
  spec: 'AMQP 0-9-1 (amqp0-9-1.xml) with RabbitMQ extensions and errata',
  detect: detectAmqp,
  createSession: (ctx) => new AmqpSession(ctx),
};
