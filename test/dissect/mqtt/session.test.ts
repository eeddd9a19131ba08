/**
 * The MQTT session on fixtures written from the specifications: each version's packets and their
 * pairing, 5.0 properties and Topic Aliases, the framing cut at every point, gaps, malformed
 * headers, large packets, bounds, and detection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectMqtt } from '../../../src/dissect/mqtt/detect.js';
import { DEFAULT_KEEP } from '../../../src/dissect/mqtt/framer.js';
import { MqttSession } from '../../../src/dissect/mqtt/session.js';
import type { MqttEntry } from '../../../src/dissect/mqtt/summary.js';
import {
  ack,
  concat,
  connack,
  connect,
  disconnect,
  packet,
  pingreq,
  pingresp,
  publish,
  str,
  suback,
  subscribe,
  u16,
} from './build.js';
import { type Step, V5, V311 } from './fixtures.js';
import { BROKER, CLIENT, context } from './support.js';

/** Runs steps through a fresh session, each at its own capture time (1 ms apart). */
function play(steps: Step[], chunker?: (b: Uint8Array) => Uint8Array[]) {
  const ctx = context();
  const s = new MqttSession(ctx);
  steps.forEach(([dir, bytes], i) => {
    for (const chunk of chunker ? chunker(bytes) : [bytes]) s.onData(dir, chunk, 1_000_000 + i * 1000);
  });
  s.onClose(1_000_000 + steps.length * 1000);
  return { ...ctx, session: s };
}

const byMethod = (entries: MqttEntry[], m: string) => entries.filter((e) => e.method === m);
const one = (entries: MqttEntry[], m: string): MqttEntry => {
  const found = byMethod(entries, m);
  assert.equal(found.length, 1, `one ${m} entry`);
  return found[0]!;
};

describe('MQTT 3.1.1 session', () => {
  const { entries, errors, annotations } = play(V311);

  test('no parse errors; one entry per exchange', () => {
    assert.deepEqual(errors, []);
    assert.deepEqual(
      entries.map((e) => e.method),
      [
        'CONNECT',
        'SUBSCRIBE',
        'PUBLISH',
        'PUBLISH',
        'PUBLISH',
        'PUBLISH',
        'UNSUBSCRIBE',
        'PINGREQ',
        'DISCONNECT',
      ],
    );
    assert.deepEqual(annotations.mqtt, { version: '3.1.1', clientId: 'sensor-7' });
  });

  test('CONNECT ↔ CONNACK: client id as path, return code as status, password only "present"', () => {
    const e = one(entries, 'CONNECT');
    assert.equal(e.path, 'sensor-7');
    assert.equal(e.status, 0);
    assert.equal(e.response?.reasonName, 'Connection Accepted');
    assert.equal(e.response?.sessionPresent, true);
    assert.equal(e.request.username, 'alice');
    assert.equal(e.request.passwordPresent, true);
    assert.equal(e.request.keepAlive, 30);
    assert.equal(e.request.version, '3.1.1');
    assert.ok(!JSON.stringify(entries).includes('hunter2'), 'the password is nowhere');
    assert.equal(
      e.requestSize,
      connect({ level: 4, clientId: 'sensor-7', username: 'alice', password: 'hunter2', keepAlive: 30 })
        .length,
    );
    assert.equal(e.responseSize, 4);
    assert.equal(e.elapsedMs, 1);
  });

  test('SUBSCRIBE ↔ SUBACK: the first filter as path, per-filter QoS and codes, the failure as status', () => {
    const e = one(entries, 'SUBSCRIBE');
    assert.equal(e.path, 'home/+/temp');
    assert.deepEqual(e.request.subscriptions, [
      { topicFilter: 'home/+/temp', qos: 1 },
      { topicFilter: 'home/#', qos: 2 },
    ]);
    assert.deepEqual(e.response?.reasonCodes, [1, 0x80]);
    assert.deepEqual(e.response?.reasonNames, ['Granted QoS 1', 'Failure']);
    assert.equal(e.status, 0x80);
  });

  test('QoS 0 alone, QoS 1 with PUBACK, QoS 2 as one flow, broker PUBLISH from the broker', () => {
    const [q0, q1, q2, fromBroker] = byMethod(entries, 'PUBLISH');
    assert.equal(q0!.path, 'home/kitchen/temp');
    assert.equal(q0!.response, null);
    assert.equal(q0!.status, null);
    assert.equal(q0!.error, null);
    assert.equal(q0!.request.payloadPreview, '21.5');
    assert.equal(q0!.request.payloadSize, 4);

    assert.equal(q1!.response?.type, 'PUBACK');
    assert.equal(q1!.response?.packetId, 2);
    assert.equal(q1!.status, 0);

    assert.equal(q2!.request.retain, true);
    assert.deepEqual(
      (q2!.response!.flow as { type: string }[]).map((f) => f.type),
      ['PUBREC', 'PUBREL', 'PUBCOMP'],
    );
    assert.equal(q2!.response?.type, 'PUBCOMP');
    assert.equal(
      q2!.requestSize,
      publish({ topic: 'home/door', qos: 2, id: 3, retain: true, payload: 'open' }).length + 4,
    );
    assert.equal(q2!.responseSize, 8);
    assert.equal(q2!.elapsedMs, 1);

    assert.deepEqual(fromBroker!.src, BROKER);
    assert.deepEqual(fromBroker!.dst, CLIENT);
    assert.equal(fromBroker!.response?.type, 'PUBACK');
  });

  test('UNSUBSCRIBE ↔ UNSUBACK, PINGREQ ↔ PINGRESP, DISCONNECT alone', () => {
    assert.equal(one(entries, 'UNSUBSCRIBE').path, 'home/#');
    assert.equal(one(entries, 'UNSUBSCRIBE').status, 0);
    const ping = one(entries, 'PINGREQ');
    assert.equal(ping.response?.type, 'PINGRESP');
    assert.equal(ping.status, null);
    assert.equal(one(entries, 'DISCONNECT').response, null);
    assert.equal(one(entries, 'DISCONNECT').error, null);
  });

  test('every split of every packet gives the same entries', () => {
    const whole = JSON.stringify(entries);
    for (const [i, [, bytes]] of V311.entries()) {
      for (let cut = 1; cut < bytes.length; cut++) {
        const r = play(V311, (b) => (b === bytes ? [b.subarray(0, cut), b.subarray(cut)] : [b]));
        assert.equal(JSON.stringify(r.entries), whole, `step ${i} cut at ${cut}`);
      }
    }
  });

  test('random chunkings: several packets per segment, packets across segments', () => {
    // What one side sends before the other answers is one burst; each burst is cut anywhere.
    const bursts: Step[] = [];
    for (const [dir, b] of V311) {
      const last = bursts[bursts.length - 1];
      if (last && last[0] === dir) last[1] = concat(last[1], b);
      else bursts.push([dir, b]);
    }
    const total = V311.reduce((n, [, b]) => n + b.length, 0);
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat(), { maxLength: 6 }), {
          minLength: bursts.length,
          maxLength: bursts.length,
        }),
        (cutsPerBurst) => {
          const ctx = context();
          const s = new MqttSession(ctx);
          bursts.forEach(([dir, buf], i) => {
            const cuts = [...new Set(cutsPerBurst[i]!.map((x) => x % buf.length))]
              .filter((x) => x > 0)
              .sort((p, q) => p - q);
            const at = [0, ...cuts, buf.length];
            for (let k = 1; k < at.length; k++) s.onData(dir, buf.subarray(at[k - 1]!, at[k]!), i);
          });
          s.onClose(bursts.length);
          assert.deepEqual(ctx.errors, []);
          assert.deepEqual(
            ctx.entries.map((e) => `${e.method} ${e.status}`),
            entries.map((e) => `${e.method} ${e.status}`),
          );
          const sum = ctx.entries.reduce((n, e) => n + e.requestSize + e.responseSize, 0);
          assert.equal(sum, total, 'every byte in one entry');
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('MQTT 3.1 (MQIsdp)', () => {
  test('level 3, return codes, SUBSCRIBE with DUP set (3.1 §2.1)', () => {
    const { entries, errors } = play([
      [0, connect({ level: 3, clientId: 'old-client' })],
      [1, connack(5)],
      [0, subscribe(7, [['a/b', 0]], { byte0: 0x8a })],
      [1, suback(7, [0])],
    ]);
    assert.deepEqual(errors, []);
    const c = one(entries, 'CONNECT');
    assert.equal(c.request.protocolName, 'MQIsdp');
    assert.equal(c.request.version, '3.1');
    assert.equal(c.status, 5);
    assert.equal(c.response?.reasonName, 'Connection Refused, not authorized');
    assert.equal(c.response?.sessionPresent, undefined, '3.1 has no Session Present');
    assert.equal(one(entries, 'SUBSCRIBE').status, 0);
  });
});

describe('MQTT 5.0 session', () => {
  const steps = V5;
  const { entries, errors } = play(steps);

  test('no parse errors', () => {
    assert.deepEqual(errors, []);
  });

  test('CONNECT properties of every type, Will properties; credentials not kept', () => {
    const e = one(entries, 'CONNECT');
    assert.equal(e.request.version, '5.0');
    assert.deepEqual(e.request.properties, {
      sessionExpiryInterval: 3600,
      receiveMaximum: 20,
      maximumPacketSize: 1 << 20,
      topicAliasMaximum: 10,
      requestResponseInformation: 1,
      requestProblemInformation: 0,
      userProperties: [{ key: 'region', value: 'eu' }],
      authenticationMethod: 'SCRAM-SHA-1',
      authenticationData: { length: 4 },
    });
    assert.deepEqual(e.request.will, {
      topic: 'status/v5-client',
      qos: 1,
      retain: true,
      payloadSize: 4,
      properties: { willDelayInterval: 5, payloadFormatIndicator: 1, contentType: 'text/plain' },
    });
    assert.equal(e.request.passwordPresent, true);
    assert.ok(!JSON.stringify(entries).includes('p4ss'));
    assert.equal(e.status, 0);
    assert.equal(e.response?.reasonName, 'Success');
    assert.deepEqual(e.response?.properties, {
      assignedClientIdentifier: 'assigned-1',
      serverKeepAlive: 45,
      maximumQoS: 1,
      retainAvailable: 0,
      wildcardSubscriptionAvailable: 1,
      subscriptionIdentifierAvailable: 1,
      sharedSubscriptionAvailable: 0,
      responseInformation: 'resp/info',
      serverReference: 'other.example:1883',
      reasonString: 'welcome',
    });
  });

  test('AUTH packets are entries alone with their reason code', () => {
    const auths = byMethod(entries, 'AUTH');
    assert.equal(auths.length, 2);
    assert.deepEqual(
      auths.map((a) => a.status),
      [0x18, 0x18],
    );
    assert.equal(auths[0]!.request.reasonName, 'Continue authentication');
    assert.deepEqual(auths[0]!.src, BROKER);
  });

  test('SUBSCRIBE options and identifier, SUBACK reason code', () => {
    const e = one(entries, 'SUBSCRIBE');
    assert.deepEqual(e.request.subscriptions, [
      { topicFilter: 'sensors/#', qos: 2, noLocal: true, retainAsPublished: true, retainHandling: 2 },
    ]);
    assert.deepEqual(e.request.properties, { subscriptionIdentifier: 200 });
    assert.equal(e.status, 2);
    assert.equal(e.response?.reasonName, 'Granted QoS 2');
  });

  test('PUBLISH properties, a reason code with its name, Topic Alias set and resolved', () => {
    const [first, second, third] = byMethod(entries, 'PUBLISH');
    assert.deepEqual(first!.request.properties, {
      topicAlias: 4,
      userProperties: [
        { key: 'k', value: 'v' },
        { key: 'trace', value: '42' },
      ],
      responseTopic: 'replies/1',
      correlationData: { length: 2, hex: 'cafe' },
      messageExpiryInterval: 60,
    });
    assert.equal(first!.status, 0x10);
    assert.equal(first!.response?.reasonName, 'No matching subscribers');
    assert.deepEqual(first!.response?.properties, { reasonString: 'nobody listens' });
    assert.equal(second!.path, 'sensors/1');
    assert.equal(second!.request.topicFromAlias, true);
    assert.equal(second!.error, null);
    assert.equal(third!.path, '');
    assert.equal(third!.error, 'unknown Topic Alias 5');
  });

  test('QoS 2: a failing PUBREC ends the flow; a complete flow ends with PUBCOMP', () => {
    const refused = byMethod(entries, 'PUBLISH').find((e) => e.path === 'sensors/2')!;
    assert.equal(refused.status, 0x97);
    assert.equal(refused.response?.reasonName, 'Quota exceeded');
    assert.equal(refused.error, null);
    const ok = byMethod(entries, 'PUBLISH').find((e) => e.path === 'sensors/3')!;
    assert.equal(ok.status, 0);
    assert.equal((ok.response!.flow as unknown[]).length, 3);
  });

  test('a broker PUBLISH with two Subscription Identifiers; UNSUBACK codes; DISCONNECT reason', () => {
    const fromBroker = byMethod(entries, 'PUBLISH').find((e) => e.src.port === BROKER.port)!;
    assert.deepEqual(fromBroker.request.properties, { subscriptionIdentifier: [200, 3] });
    assert.equal(fromBroker.request.payloadSize, 0);
    const un = one(entries, 'UNSUBSCRIBE');
    assert.deepEqual(un.response?.reasonCodes, [0, 0x11]);
    assert.deepEqual(un.response?.reasonNames, ['Success', 'No subscription existed']);
    assert.equal(un.status, 0);
    const d = one(entries, 'DISCONNECT');
    assert.equal(d.status, 4);
    assert.equal(d.request.reasonName, 'Disconnect with Will Message');
  });
});

describe('MQTT session edge cases', () => {
  test('a Remaining Length of five bytes is malformed; the next segment starts afresh', () => {
    const bad = Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 1, 0x61]);
    const { entries, errors } = play([
      [0, connect()],
      [1, connack(0)],
      [0, bad],
      [0, publish({ topic: 'after', qos: 0 })],
    ]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /longer than 4 bytes/);
    assert.deepEqual(
      entries.map((e) => `${e.method} ${e.path}`),
      ['CONNECT client-1', 'PUBLISH after'],
    );
  });

  test('a gap: the packet it cut is counted, the unanswered request says so, reading resumes', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, connect(), 1);
    s.onData(1, connack(0), 2);
    s.onData(0, publish({ topic: 'lost/ack', qos: 1, id: 5 }), 3);
    const ackBytes = ack('PUBACK', 5);
    s.onData(1, ackBytes.subarray(0, 2), 4);
    s.onGap(1, 2, 5);
    s.onData(1, publish({ topic: 'resumed', qos: 0, payload: 'x' }), 6);
    s.onClose(7);
    assert.deepEqual(ctx.errors, ['mqtt: packet cut by a gap in the stream']);
    const lost = ctx.entries.find((e) => e.path === 'lost/ack')!;
    assert.equal(lost.error, 'no PUBACK (gap in the stream)');
    assert.equal(lost.response, null);
    assert.ok(ctx.entries.some((e) => e.path === 'resumed'));
  });

  test('after a gap, bytes in the middle of a packet are skipped until packets read well again', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, connect(), 1);
    s.onGap(0, 100, 2);
    const tail = Uint8Array.from([0x17, 0x00, 0x00, 0x42, 0x99]); // rest of a lost payload
    s.onData(0, concat(tail, publish({ topic: 'a', qos: 0 }), pingreq(), publish({ topic: 'b', qos: 0 })), 3);
    s.onClose(4);
    assert.deepEqual(
      ctx.entries.map((e) => e.method + (e.path ? ` ${e.path}` : '')),
      ['PUBLISH a', 'PUBLISH b', 'CONNECT client-1', 'PINGREQ'],
    );
    assert.deepEqual(ctx.errors, []);
  });

  test('a PUBLISH larger than what is kept: topic, size and preview, with bounded buffering', () => {
    const payload = new Uint8Array(DEFAULT_KEEP * 3).fill(0x41);
    const big = publish({ topic: 'big/blob', qos: 1, id: 77, payload });
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, connect(), 1);
    let most = 0;
    for (let at = 0; at < big.length; at += 1460) {
      s.onData(0, big.subarray(at, at + 1460), 2);
      most = Math.max(most, s.buffered);
    }
    s.onData(1, ack('PUBACK', 77), 3);
    s.onClose(4);
    assert.ok(most <= DEFAULT_KEEP + 5, `held ${most} bytes`);
    const e = ctx.entries.find((x) => x.method === 'PUBLISH')!;
    assert.equal(e.path, 'big/blob');
    assert.equal(e.request.payloadSize, payload.length);
    assert.equal(e.request.payloadPreview, 'A'.repeat(128));
    assert.equal(e.requestSize, big.length);
    assert.equal(e.status, 0);
    assert.deepEqual(ctx.errors, []);
  });

  test('binary payloads are previewed as hex; long topics are cut with their length', () => {
    const topic = 't/'.padEnd(5000, 'x');
    const { entries } = play([
      [0, publish({ topic: 'bin', payload: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 1]) })],
      [0, publish({ topic })],
    ]);
    assert.equal(entries[0]!.request.payloadEncoding, 'hex');
    assert.equal(entries[0]!.request.payloadPreview, 'ffd8ffe00001');
    assert.equal(entries[1]!.path.length, 4096);
    assert.equal(entries[1]!.request.topicLength, 5000);
  });

  test('acknowledgements without their request are entries that say so', () => {
    const { entries } = play([
      [1, ack('PUBACK', 3)],
      [1, suback(4, [0])],
      [0, ack('PUBREL', 5)],
      [1, ack('PUBCOMP', 5)],
      [1, pingresp()],
    ]);
    const [puback, sub, rel, ping] = entries;
    assert.equal(puback!.method, 'PUBACK');
    assert.equal(puback!.error, 'no PUBLISH seen');
    assert.deepEqual(puback!.src, CLIENT, 'the entry reads from the side that would have asked');
    assert.deepEqual(puback!.request, {});
    assert.equal(sub!.error, 'no SUBSCRIBE seen');
    assert.equal(rel!.method, 'PUBREL');
    assert.equal(rel!.response?.type, 'PUBCOMP');
    assert.equal(rel!.error, null);
    assert.equal(ping!.error, 'no PINGREQ seen');
  });

  test('unanswered requests are reported at close, in order', () => {
    const { entries } = play([
      [0, connect()],
      [0, subscribe(1, [['x', 0]])],
      [0, publish({ topic: 'q2', qos: 2, id: 2 })],
      [1, ack('PUBREC', 2)],
      [0, pingreq()],
    ]);
    assert.deepEqual(
      entries.map((e) => `${e.method} ${e.error}`),
      ['CONNECT no CONNACK', 'SUBSCRIBE no SUBACK', 'PUBLISH no PUBREL', 'PINGREQ no PINGRESP'],
    );
    assert.equal(entries[2]!.status, 0, 'the PUBREC seen');
  });

  test('a QoS 2 flow whose PUBREC was lost still completes, and says so', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, publish({ topic: 'q2', qos: 2, id: 8 }), 1);
    s.onGap(1, 4, 2);
    s.onData(0, ack('PUBREL', 8), 3);
    s.onData(1, ack('PUBCOMP', 8), 4);
    s.onClose(5);
    assert.equal(ctx.entries.length, 1);
    const e = ctx.entries[0]!;
    assert.equal(e.error, 'PUBREC not seen');
    assert.deepEqual(
      (e.response!.flow as { type: string }[]).map((f) => f.type),
      ['PUBREL', 'PUBCOMP'],
    );
    assert.equal(e.requestSize, publish({ topic: 'q2', qos: 2, id: 8 }).length + 4);
  });

  test('pending exchanges are bounded per connection', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, connect(), 0);
    for (let id = 1; id <= 2000; id++) s.onData(0, publish({ topic: 't', qos: 1, id }), id);
    assert.ok(s.pendingCount <= 1024);
    const evicted = ctx.entries.filter((e) => e.error === 'no PUBACK (too many exchanges pending)');
    assert.equal(evicted.length, 2000 - 1024);
    s.onClose(3000);
    assert.equal(ctx.entries.length, 2001);
  });

  test('a packet identifier used again before its acknowledgement', () => {
    const { entries } = play([
      [0, publish({ topic: 'a', qos: 1, id: 1 })],
      [0, publish({ topic: 'a', qos: 1, id: 1, dup: true })],
      [1, ack('PUBACK', 1)],
    ]);
    assert.equal(entries[0]!.error, 'no PUBACK (sent again with DUP)');
    assert.equal(entries[1]!.status, 0);
    assert.equal(entries[1]!.request.dup, true);
  });

  test('without a CONNECT, a 5.0-only shape tells the version', () => {
    const { entries } = play([
      [0, publish({ topic: 'a', qos: 1, id: 1 })],
      [1, ack('PUBACK', 1, 0x87)],
      [0, disconnect(0x8e)],
    ]);
    assert.equal(entries[0]!.status, 0x87);
    assert.equal(entries[0]!.response?.reasonName, 'Not authorized');
    assert.equal(entries[1]!.request.reasonName, 'Session taken over');
  });

  test('malformed bodies are counted and still reported', () => {
    const { entries, errors } = play([
      [0, connect({ level: 5, props: [5, 0x7f, 1, 2, 3, 4] })],
      [0, packet(0x36, [...str('q3'), ...u16(1)])],
      [0, packet(0xc0, [1])],
    ]);
    assert.equal(errors.length, 3);
    assert.match(errors[0]!, /unknown property 0x7f/);
    assert.match(errors[1]!, /QoS 3/);
    assert.match(errors[2]!, /left over in PINGREQ/);
    assert.match(entries.find((e) => e.method === 'CONNECT')!.error!, /malformed CONNECT/);
  });
});

describe('MQTT detection', () => {
  const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

  test('a CONNECT of each version claims the stream, even cut short', () => {
    for (const level of [3, 4, 5] as const) {
      const c = connect({ level });
      assert.equal(detectMqtt(0, c), 'yes', `level ${level}`);
      assert.equal(detectMqtt(0, c.subarray(0, 4)), 'more');
    }
    assert.notEqual(detectMqtt(0, Uint8Array.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 9])), 'yes');
  });

  test('mid-stream: packets that read well, also after the tail of a lost one', () => {
    const run = concat(publish({ topic: 'a/b', qos: 1, id: 3, payload: 'x' }), pingreq());
    assert.equal(detectMqtt(0, run), 'yes');
    assert.equal(detectMqtt(1, concat(ack('PUBACK', 3), pingresp())), 'yes');
    assert.equal(detectMqtt(1, ack('PUBACK', 3)), 'more', 'one small packet is not enough');
    const tail = ascii('the end of someone else\u0000s payload');
    assert.equal(detectMqtt(0, concat(tail, run, publish({ topic: 'c', payload: 'y' }))), 'yes');
  });

  test('other protocols are not claimed', () => {
    const others: [string, Uint8Array][] = [
      ['HTTP', ascii('GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n')],
      ['HTTP response', ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')],
      ['HTTP/2 preface', ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')],
      [
        'TLS',
        Uint8Array.from([
          0x16,
          0x03,
          0x01,
          0x02,
          0x00,
          0x01,
          0x00,
          0x01,
          0xfc,
          0x03,
          0x03,
          ...new Array(40).fill(7),
        ]),
      ],
      ['Redis', ascii('*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n')],
      ['NATS', ascii('INFO {"server_id":"x","version":"2.10"}\r\nPING\r\nPUB foo 5\r\nhello\r\n')],
      ['PostgreSQL', Uint8Array.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])],
      ['AMQP', ascii('AMQP\u0000\u0000\u0009\u0001')],
      ['SSH', ascii('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n')],
      ['SMTP', ascii('220 mail.example.com ESMTP Postfix\r\n')],
      ['MySQL', Uint8Array.from([0x4a, 0, 0, 0, 0x0a, ...ascii('8.0.36\u0000'), 1, 2, 3, 4])],
    ];
    for (const [name, bytes] of others) {
      assert.notEqual(detectMqtt(0, bytes), 'yes', name);
      assert.notEqual(detectMqtt(1, bytes), 'yes', name);
      // With enough of it, a firm no.
      const long = concat(...new Array(Math.ceil(1100 / bytes.length)).fill(bytes));
      assert.equal(detectMqtt(0, long), 'no', `${name}, long`);
    }
  });

  test('random bytes are not claimed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1100, maxLength: 1400 }), (b) => {
        assert.notEqual(detectMqtt(0, b), 'yes');
      }),
      { numRuns: 200 },
    );
  });
});
