/**
 * RESP3 in the zeek captures, which tshark 4.0 cannot read (tshark.test.ts leaves those replies
 * out): each value below was read by hand from the capture's bytes (`tshark -T fields -e
 * tcp.payload`, quoted in the comments), not from podwire's output.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

async function redisEntries(file: string): Promise<Entry[]> {
  const { entries } = await analyze(join(CAPTURES, 'redis', file));
  return entries.filter((e) => e.protocol === 'redis');
}

describe('RESP3 captures, value by value', () => {
  test('zeek__attr.pcap: attributes before an element and before a reply', async () => {
    const [fake, fake2] = await redisEntries('zeek__attr.pcap');
    // "FAKE COMMAND\r\n" -> "*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n"
    assert.equal(fake!.method, 'FAKE');
    assert.equal(fake!.request.inline, true);
    assert.deepEqual(fake!.response, {
      type: 'array',
      count: 3,
      value: [1, 2, 3],
      elementAttributes: { '2': { ttl: 3600 } },
    });
    // "FAKE2 COMMAND2\r\n" -> "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n
    // *2\r\n:2039123\r\n:9543892\r\n" (81 bytes; the capture adds a stray LF)
    assert.equal(fake2!.method, 'FAKE2');
    assert.deepEqual(fake2!.response, {
      type: 'array',
      count: 2,
      value: [2039123, 9543892],
      attributes: { 'key-popularity': { a: 0.1923, b: 0.0012 } },
    });
    assert.equal(fake2!.responseSize, 81);
  });

  test('zeek__pubsub-resp3.pcap: HELLO 3, push confirmations, push messages', async () => {
    const entries = await redisEntries('zeek__pubsub-resp3.pcap');
    const sub = entries.filter((e) => e.src.port === 53232 || e.dst.port === 53232);
    assert.deepEqual(
      sub.map((e) => [e.method, e.path, e.status]),
      [
        ['HELLO', '', 'OK'],
        ['COMMAND DOCS', '', 'OK'],
        ['SUBSCRIBE', 'Foo', 'OK'],
        ['PSUBSCRIBE', 'F*', 'OK'],
        ['SET', 'random_key', 'OK'],
        ['PING', '', 'OK'],
        ['MESSAGE', 'Foo', null],
        ['PMESSAGE', 'Foo', null],
        ['PMESSAGE', 'Foobar', null],
      ],
    );
    // "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.5\r\n$5\r\nproto\r\n:3\r\n..."
    assert.deepEqual(sub[0]!.response, {
      type: 'map',
      count: 7,
      value: {
        server: 'redis',
        version: '7.2.5',
        proto: 3,
        id: 4,
        mode: 'standalone',
        role: 'master',
        modules: [],
      },
    });
    // ">3\r\n$9\r\nsubscribe\r\n$3\r\nFoo\r\n:1\r\n" and ">3\r\n$10\r\npsubscribe\r\n$2\r\nF*\r\n:2\r\n"
    assert.deepEqual(sub[2]!.response, { type: 'push', count: 1, confirmations: [['subscribe', 'Foo', 1]] });
    assert.deepEqual(sub[3]!.response, { type: 'push', count: 1, confirmations: [['psubscribe', 'F*', 2]] });
    // ">3\r\n$7\r\nmessage\r\n$3\r\nFoo\r\n$4\r\nHi:)\r\n>4\r\n$8\r\npmessage\r\n$2\r\nF*\r\n$3\r\nFoo\r\n$4\r\nHi:)\r\n"
    assert.deepEqual(sub[6]!.request, {
      kind: 'message',
      push: true,
      channel: 'Foo',
      payload: 'Hi:)',
      payloadSize: 4,
    });
    assert.deepEqual(sub[7]!.request, {
      kind: 'pmessage',
      push: true,
      pattern: 'F*',
      channel: 'Foo',
      payload: 'Hi:)',
      payloadSize: 4,
    });
    // ">4\r\n$8\r\npmessage\r\n$2\r\nF*\r\n$6\r\nFoobar\r\n$6\r\nHello!\r\n"
    assert.equal(sub[8]!.request.payload, 'Hello!');
    for (const m of sub.slice(6)) {
      assert.equal(m.src.port, 6379);
      assert.equal(m.dst.port, 53232);
      assert.equal(m.response, null);
    }
    // The publisher's connection: PUBLISH Foo -> :2 (two subscriptions match), Foobar -> :1.
    const pub = entries.filter((e) => e.method === 'PUBLISH');
    assert.deepEqual(
      pub.map((e) => [e.path, e.response!.value]),
      [
        ['Foo', 2],
        ['Foobar', 1],
      ],
    );
  });
});
