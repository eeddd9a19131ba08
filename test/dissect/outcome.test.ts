/**
 * isErrorEntry per protocol, case by case from each protocol's specification of its status codes
 * (the clause is named beside each row). Real captures' errors are counted in hub-metrics.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry, Protocol } from '../../src/dissect/entry.js';
import { isErrorEntry } from '../../src/dissect/outcome.js';

function entry(
  protocol: Protocol,
  status: Entry['status'],
  extra: { method?: string; response?: Record<string, unknown> | null } = {},
): Entry {
  return {
    type: 'entry',
    id: '1-1',
    protocol,
    timestamp: 0,
    elapsedMs: 1,
    src: { ip: '10.0.0.1', port: 40000 },
    dst: { ip: '10.0.0.2', port: 80 },
    method: extra.method ?? 'GET',
    path: '/',
    status,
    request: {},
    response: extra.response === undefined ? {} : extra.response,
    requestSize: 1,
    responseSize: 1,
    connectionId: 1,
    error: null,
  };
}

type Row = [string, Entry, boolean];

const ROWS: Row[] = [
  // RFC 9110 §15.6: 5xx, the server failed; 4xx is the client's error, not the service's.
  ['http 500', entry('http', 500), true],
  ['http 503', entry('http', 503), true],
  ['http 404', entry('http', 404), false],
  ['http 200', entry('http', 200), false],
  ['http without response', entry('http', null, { response: null }), false],
  // gRPC status codes (grpc/doc/statuscodes.md): 0 OK, anything else failed.
  ['grpc 0 OK', entry('grpc', 0), false],
  ['grpc 2 UNKNOWN', entry('grpc', 2), true],
  ['grpc 14 UNAVAILABLE', entry('grpc', 14), true],
  ['grpc no trailers', entry('grpc', null), false],
  // GraphQL over HTTP: a 200 whose result lists errors failed.
  [
    'graphql 200 with errors',
    entry('graphql', 200, { response: { graphql: { hasData: true, errors: [{ message: 'x' }] } } }),
    true,
  ],
  [
    'graphql 200 clean',
    entry('graphql', 200, { response: { graphql: { hasData: true, errors: [] } } }),
    false,
  ],
  [
    'graphql batch, one failed',
    entry('graphql', 200, { response: { graphql: [{ errors: [] }, { errors: [{}] }] } }),
    true,
  ],
  ['graphql 502', entry('graphql', 502), true],
  // RFC 6455 §7.4.1: 1000 normal, 1001 going away; 1002/1003/1007-1011 failures; 4000+ private.
  ['websocket close 1000', entry('websocket', 1000, { method: 'close' }), false],
  ['websocket close 1001', entry('websocket', 1001, { method: 'close' }), false],
  ['websocket close 1002', entry('websocket', 1002, { method: 'close' }), true],
  ['websocket close 1011', entry('websocket', 1011, { method: 'close' }), true],
  ['websocket close 4000', entry('websocket', 4000, { method: 'close' }), false],
  ['websocket text', entry('websocket', null, { method: 'text' }), false],
  // RFC 8446 §6.2: a fatal alert ends the handshake.
  [
    'tls fatal alert',
    entry('tls', null, {
      response: { alert: { from: 'server', level: 'fatal', description: 'handshake_failure' } },
    }),
    true,
  ],
  [
    'tls warning alert',
    entry('tls', '1.2', {
      response: { alert: { from: 'client', level: 'warning', description: 'close_notify' } },
    }),
    false,
  ],
  ['tls 1.3 handshake', entry('tls', '1.3', { response: { version: 'TLS 1.3' } }), false],
  ['tls ClientHello only', entry('tls', null, { response: null }), false],
  // RFC 1035 §4.1.1 rcodes.
  ['dns NOERROR', entry('dns', 'NOERROR'), false],
  // An answer, not a failure: Kubernetes' search path (ndots:5) makes most lookups produce several.
  ['dns NXDOMAIN', entry('dns', 'NXDOMAIN'), false],
  ['dns SERVFAIL', entry('dns', 'SERVFAIL'), true],
  ['dns no response', entry('dns', null, { response: null }), false],
  // RESP: an error reply (`-ERR ...`, blob error).
  ['redis ERROR', entry('redis', 'ERROR'), true],
  ['redis OK', entry('redis', 'OK'), false],
  ['redis NIL', entry('redis', 'NIL'), false],
  // PostgreSQL: an ErrorResponse's SQLSTATE; SSLRequest answers are letters.
  ['postgres OK', entry('postgres', 'OK'), false],
  ['postgres 28P01', entry('postgres', '28P01'), true],
  ['postgres 22012', entry('postgres', '22012'), true],
  ['postgres 01000 (warning class)', entry('postgres', '01000'), false],
  ['postgres ERROR (ErrorResponse without a code)', entry('postgres', 'ERROR'), true],
  ['postgres SSLRequest S', entry('postgres', 'S', { method: 'SSLREQUEST' }), false],
  ['postgres SSLRequest N', entry('postgres', 'N', { method: 'SSLREQUEST' }), false],
  // MySQL: ERR_Packet's error number.
  ['mysql OK', entry('mysql', 'OK'), false],
  ['mysql 1064', entry('mysql', 1064), true],
  // Kafka: error code names, NONE for 0.
  ['kafka NONE', entry('kafka', 'NONE'), false],
  ['kafka UNKNOWN_TOPIC_OR_PARTITION', entry('kafka', 'UNKNOWN_TOPIC_OR_PARTITION'), true],
  // AMQP 0-9-1 reply codes: 200 reply-success; 312 no-route, 404 not-found, 530 not-allowed fail.
  ['amqp 200', entry('amqp', 200), false],
  ['amqp 312', entry('amqp', 312), true],
  ['amqp 404', entry('amqp', 404), true],
  ['amqp 530', entry('amqp', 530), true],
  // MQTT 5.0 §2.4: reason codes >= 0x80 fail; MQTT 3.1.1 §3.2.2.3: CONNACK return codes 1-5 refuse.
  ['mqtt CONNECT 0', entry('mqtt', 0, { method: 'CONNECT' }), false],
  ['mqtt CONNECT 5 (3.1.1 not authorized)', entry('mqtt', 5, { method: 'CONNECT' }), true],
  ['mqtt CONNECT 0x87 (5.0 not authorized)', entry('mqtt', 0x87, { method: 'CONNECT' }), true],
  ['mqtt PUBLISH 0x10 (no matching subscribers)', entry('mqtt', 0x10, { method: 'PUBLISH' }), false],
  ['mqtt SUBSCRIBE 1 (granted QoS 1)', entry('mqtt', 1, { method: 'SUBSCRIBE' }), false],
  ['mqtt SUBSCRIBE 0x80 (failure)', entry('mqtt', 0x80, { method: 'SUBSCRIBE' }), true],
  ['mqtt DISCONNECT 0x04 (with will)', entry('mqtt', 0x04, { method: 'DISCONNECT' }), false],
  ['mqtt PUBLISH QoS 0', entry('mqtt', null, { method: 'PUBLISH' }), false],
  // NATS client protocol: -ERR.
  ['nats +OK', entry('nats', '+OK'), false],
  ['nats -ERR', entry('nats', '-ERR'), true],
];

for (const [name, e, want] of ROWS) {
  test(`isErrorEntry: ${name} -> ${want}`, () => {
    assert.equal(isErrorEntry(e), want);
  });
}
