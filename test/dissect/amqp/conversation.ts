/**
 * A whole AMQP 0-9-1 connection as RabbitMQ and a client speak it (the order of the spec's
 * §2.2.4 connection and channel life-cycles): handshake, a queue, a published message with every
 * basic property in two body frames, a consumer and a delivery with its ack, heartbeats, a
 * basic.get answered empty then with an empty message, and the closes.
 */
import { body, c, HEARTBEAT, header, message, method, PROTOCOL_HEADER, s, type Wire } from './build.js';

export const PASSWORD = 'correct-horse-battery';

export const PROPERTIES = {
  contentType: 'application/json',
  contentEncoding: 'identity',
  headers: { 'x-retry': 2, tenant: 'acme' },
  deliveryMode: 2,
  priority: 5,
  correlationId: 'corr-1',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'msg-1',
  timestamp: 1700000000,
  type: 'order.created',
  userId: 'guest',
  appId: 'shop',
};

export const BODY = '{"order":42,"items":[1,2]}';

/** The conversation, one message per segment, a millisecond apart. */
export function conversation(): Wire[] {
  let t = 1_000_000;
  const at = () => (t += 1000);
  return [
    c(PROTOCOL_HEADER, at()),
    s(
      method('connection.start', 0, {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: {
          product: 'RabbitMQ',
          version: '3.12.1',
          capabilities: { publisher_confirms: true },
        },
        mechanisms: Buffer.from('PLAIN AMQPLAIN'),
        locales: Buffer.from('en_US'),
      }),
      at(),
    ),
    c(
      method('connection.start-ok', 0, {
        clientProperties: { product: 'test-client', version: '1.0', connection_name: 'orders' },
        mechanism: 'PLAIN',
        response: Buffer.from(`\0guest\0${PASSWORD}`),
        locale: 'en_US',
      }),
      at(),
    ),
    s(method('connection.tune', 0, { channelMax: 2047, frameMax: 131072, heartbeat: 60 }), at()),
    c(method('connection.tune-ok', 0, { channelMax: 2047, frameMax: 131072, heartbeat: 60 }), at()),
    c(method('connection.open', 0, { virtualHost: '/' }), at()),
    s(method('connection.open-ok', 0, {}), at()),
    c(method('channel.open', 1, {}), at()),
    s(method('channel.open-ok', 1, {}), at()),
    c(
      method('queue.declare', 1, { queue: 'orders', durable: true, arguments: { 'x-max-length': 1000 } }),
      at(),
    ),
    s(method('queue.declare-ok', 1, { queue: 'orders', messageCount: 3, consumerCount: 1 }), at()),
    c(method('basic.qos', 1, { prefetchCount: 10 }), at()),
    s(method('basic.qos-ok', 1, {}), at()),
    // Two body frames: 10 bytes then the rest.
    c(
      Buffer.concat([
        method('basic.publish', 1, { exchange: 'shop', routingKey: 'order.created', mandatory: true }),
        header(1, BODY.length, PROPERTIES),
        body(1, BODY.slice(0, 10)),
        body(1, BODY.slice(10)),
      ]),
      at(),
    ),
    c(method('basic.consume', 1, { queue: 'orders', consumerTag: 'ctag-1', noAck: false }), at()),
    s(method('basic.consume-ok', 1, { consumerTag: 'ctag-1' }), at()),
    s(
      message(
        'basic.deliver',
        1,
        {
          consumerTag: 'ctag-1',
          deliveryTag: 1,
          redelivered: false,
          exchange: 'shop',
          routingKey: 'order.created',
        },
        BODY,
        { contentType: 'application/json' },
      ),
      at(),
    ),
    c(method('basic.ack', 1, { deliveryTag: 1, multiple: false }), at()),
    s(HEARTBEAT, at()),
    c(HEARTBEAT, at()),
    c(method('basic.get', 1, { queue: 'orders', noAck: true }), at()),
    s(method('basic.get-empty', 1, {}), at()),
    c(method('basic.get', 1, { queue: 'orders', noAck: true }), at()),
    s(
      message(
        'basic.get-ok',
        1,
        { deliveryTag: 2, redelivered: true, exchange: '', routingKey: 'orders', messageCount: 0 },
        '',
      ),
      at(),
    ),
    c(method('channel.close', 1, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 }), at()),
    s(method('channel.close-ok', 1, {}), at()),
    c(method('connection.close', 0, { replyCode: 200, replyText: 'Goodbye', classId: 0, methodId: 0 }), at()),
    s(method('connection.close-ok', 0, {}), at()),
  ];
}

/** What the conversation's entries are, in order: method, path, status, reply method. */
export const EXPECTED: [string, string, number | null, string | null][] = [
  ['connection.start', '', null, 'connection.start-ok'],
  ['connection.tune', '', null, 'connection.tune-ok'],
  ['connection.open', '/', null, 'connection.open-ok'],
  ['channel.open', '', null, 'channel.open-ok'],
  ['queue.declare', 'orders', null, 'queue.declare-ok'],
  ['basic.qos', '', null, 'basic.qos-ok'],
  ['basic.publish', 'shop/order.created', null, null],
  ['basic.consume', 'orders', null, 'basic.consume-ok'],
  ['basic.deliver', 'shop/order.created', null, null],
  ['basic.ack', '', null, null],
  ['basic.get', 'orders', null, 'basic.get-empty'],
  ['basic.get', 'orders', null, 'basic.get-ok'],
  ['channel.close', '', 200, 'channel.close-ok'],
  ['connection.close', '', 200, 'connection.close-ok'],
];
