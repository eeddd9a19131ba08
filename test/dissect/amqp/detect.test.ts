/**
 * Detection by content: AMQP 0-9-1's protocol header and whole frames that check out claim a
 * stream; other protocols' first bytes (HTTP, TLS, AMQP 1.0, Kafka, PostgreSQL, MQTT, Redis, NATS)
 * and frames that do not end in 0xCE where their size says are turned down.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectAmqp } from '../../../src/dissect/amqp/detect.js';
import { body, frame, HEARTBEAT, header, method, PROTOCOL_HEADER } from './build.js';

const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const start = method('connection.start', 0, {
  versionMajor: 0,
  versionMinor: 9,
  serverProperties: { product: 'RabbitMQ' },
  mechanisms: Buffer.from('PLAIN'),
  locales: Buffer.from('en_US'),
});

describe('AMQP detection', () => {
  test('the client`s protocol header, AMQP 0-9-1 and 0-9; a prefix asks for more', () => {
    assert.equal(detectAmqp(0, PROTOCOL_HEADER), 'yes');
    assert.equal(detectAmqp(0, Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9)), 'yes');
    assert.equal(detectAmqp(0, PROTOCOL_HEADER.subarray(0, 5)), 'more');
    assert.equal(detectAmqp(0, new Uint8Array(0)), 'more');
  });

  test('the server`s connection.start, whole; a part of it asks for more', () => {
    assert.equal(detectAmqp(1, start), 'yes');
    assert.equal(detectAmqp(1, start.subarray(0, 30)), 'more');
  });

  test('mid-stream: a method frame, a content header or a heartbeat', () => {
    assert.equal(detectAmqp(0, method('basic.ack', 1, { deliveryTag: 5 })), 'yes');
    assert.equal(detectAmqp(1, header(1, 10, { contentType: 'text/plain' })), 'yes');
    assert.equal(detectAmqp(0, HEARTBEAT), 'yes');
  });

  test('frames that do not check out', () => {
    const qos = method('basic.qos', 1, { prefetchCount: 1 });
    const badEnd = qos.slice();
    badEnd[badEnd.length - 1] = 0;
    assert.equal(detectAmqp(0, badEnd), 'no', 'frame-end not 0xCE');
    assert.equal(detectAmqp(0, frame(1, 1, [0, 99, 0, 10])), 'no', 'unknown class');
    assert.equal(detectAmqp(0, method('connection.open', 0, { virtualHost: '/' }).fill(5, 1, 3)), 'no');
    assert.equal(detectAmqp(0, frame(1, 1, [0, 10, 0, 40, 0, 0, 0])), 'no', 'connection class off channel 0');
    assert.equal(detectAmqp(0, body(1, 'hello')), 'no', 'a body frame says nothing');
    assert.equal(detectAmqp(0, frame(8, 0, [1])), 'no', 'heartbeats are empty');
  });

  test('other protocols are turned down', () => {
    const others: [string, Uint8Array][] = [
      ['HTTP/1.1', bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['HTTP response', bytes('HTTP/1.1 200 OK\r\n\r\n')],
      ['HTTP/2 preface', bytes('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
      ['TLS ClientHello', Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03)],
      ['AMQP 1.0', Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0)],
      ['AMQP 1.0 SASL', Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0)],
      [
        'Kafka ApiVersions',
        Uint8Array.of(0, 0, 0, 0x14, 0, 0x12, 0, 3, 0, 0, 0, 1, 0, 4, 0x74, 0x65, 0x73, 0x74),
      ],
      ['PostgreSQL startup', Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f)],
      ['MQTT CONNECT', Uint8Array.of(0x10, 0x0c, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 0)],
      ['Redis', bytes('*1\r\n$4\r\nPING\r\n')],
      ['NATS', bytes('INFO {"server_id":"x"}\r\n')],
      ['MySQL greeting', Uint8Array.of(0x4a, 0, 0, 0, 0x0a, 0x35, 0x2e, 0x35)],
    ];
    for (const [name, data] of others) {
      assert.equal(detectAmqp(0, data), 'no', name);
      assert.equal(detectAmqp(1, data), 'no', name);
    }
  });
});
