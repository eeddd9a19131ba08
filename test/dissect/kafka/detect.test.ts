/**
 * Detection by content: Kafka requests are claimed from their first bytes (and only once the
 * client_id is whole); the broker's direction is never claimed alone; the first bytes of other
 * protocols are refused, and no capture of another protocol in test/captures turns into Kafka.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { API_KEYS, requestHeaderVersion } from '../../../src/dissect/kafka/apis.js';
import { detectKafka } from '../../../src/dissect/kafka/detect.js';
import { analyze, decodeAsFor } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';
import { request, response, W } from './build.js';

const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

describe('Kafka detection', () => {
  test('every API key at its lowest and highest version: more, then yes once the client_id is whole', () => {
    for (const api of API_KEYS) {
      for (const version of new Set([0, api.maxVersion])) {
        const header = requestHeaderVersion(api.key, version);
        const req = request(
          { key: api.key, version, correlationId: 42, clientId: 'client-1', header },
          new W().i32(0),
        );
        if (header === 0) {
          // ControlledShutdown v0 (broker to controller) has no client_id to judge: not claimed.
          assert.equal(detectKafka(0, req), 'no');
          continue;
        }
        const whole = 14 + 'client-1'.length;
        for (let i = 0; i < whole; i++)
          assert.equal(detectKafka(0, req.subarray(0, i)), 'more', `${api.name} v${version} at ${i}`);
        assert.equal(detectKafka(0, req.subarray(0, whole)), 'yes', `${api.name} v${version}`);
        assert.equal(detectKafka(0, req), 'yes');
      }
    }
  });

  test('null and empty client ids; versions and keys out of range', () => {
    const r = (key: number, version: number, clientId: string | null) =>
      request({ key, version, correlationId: 1, clientId, header: 1 }, new W());
    assert.equal(detectKafka(0, r(3, 1, null)), 'yes');
    assert.equal(detectKafka(0, r(3, 1, '')), 'yes');
    assert.equal(detectKafka(0, r(3, 14, 'c')), 'no', 'Metadata has no v14');
    assert.equal(detectKafka(0, r(93, 0, 'c')), 'no', 'no API key 93');
    assert.equal(detectKafka(0, r(-1, 0, 'c')), 'no');
    assert.equal(detectKafka(0, r(3, -1, 'c')), 'no');
    assert.equal(detectKafka(0, r(3, 1, 'bad\u0001id')), 'no', 'control characters in the client id');
    // A client_id longer than the message says.
    const short = r(3, 1, 'client');
    short[3] = 12;
    assert.equal(detectKafka(0, short), 'no');
  });

  test('the broker direction is never claimed alone', () => {
    const res = response(7, 0, new W().i16(0));
    for (let i = 0; i <= res.length; i++) assert.notEqual(detectKafka(1, res.subarray(0, i)), 'yes');
    assert.equal(detectKafka(1, ascii('HTTP/1.1 200 OK\r\n')), 'no');
  });

  test("other protocols' first client bytes are refused", () => {
    const pgStartup = new W().i32(41).i32(196608).raw(ascii('user\0postgres\0database\0test\0\0')).bytesOut();
    const samples: Record<string, Uint8Array> = {
      http: ascii('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n'),
      http2: ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      tls: Uint8Array.from([
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
        ...new Array(32).fill(7),
      ]),
      postgresStartup: pgStartup,
      postgresSsl: Uint8Array.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]),
      redis: ascii('*1\r\n$4\r\nPING\r\n'),
      mqtt: Uint8Array.from([
        0x10,
        0x10,
        0x00,
        0x04,
        ...ascii('MQTT'),
        0x04,
        0x02,
        0x00,
        0x3c,
        0x00,
        0x04,
        ...ascii('abcd'),
      ]),
      amqp: ascii('AMQP\0\0\x09\x01'),
      nats: ascii('CONNECT {"verbose":false}\r\n'),
      mysql: Uint8Array.from([
        0x55,
        0x00,
        0x00,
        0x01,
        0x85,
        0xa6,
        0xff,
        0x01,
        0,
        0,
        0,
        1,
        0x21,
        ...new Array(23).fill(0),
        ...ascii('root\0'),
      ]),
      dnsTcp: Uint8Array.from([
        0x00,
        0x1d,
        0x12,
        0x34,
        0x01,
        0x00,
        0x00,
        0x01,
        0,
        0,
        0,
        0,
        0,
        0,
        7,
        ...ascii('example'),
        3,
        ...ascii('com'),
        0,
        0,
        1,
        0,
        1,
      ]),
      ssh: ascii('SSH-2.0-OpenSSH_9.2\r\n'),
      mongo: Uint8Array.from([
        0x3f,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0xdd,
        0x07,
        0,
        0,
        ...new Array(47).fill(0),
      ]),
    };
    for (const [name, bytes] of Object.entries(samples)) assert.equal(detectKafka(0, bytes), 'no', name);
  });

  test('no capture of another protocol is taken for Kafka', async () => {
    let files = 0;
    for (const dir of readdirSync(CAPTURES)) {
      if (dir === 'kafka' || dir.startsWith('_') || dir.includes('.')) continue;
      for (const f of readdirSync(join(CAPTURES, dir))) {
        const rel = `${dir}/${f}`;
        const { entries, summary } = await analyze(join(CAPTURES, rel), decodeAsFor(rel));
        files++;
        assert.equal(entries.filter((e) => e.protocol === 'kafka').length, 0, rel);
        assert.equal(summary.protocols.kafka, undefined, `${rel}: no Kafka session`);
      }
    }
    assert.ok(files > 50);
  });
});
