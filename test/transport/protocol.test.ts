/**
 * The agent-to-hub messages (src/transport/protocol.ts) and the hub's check of each record
 * (src/transport/records.ts): what a dissector really emits for a capture passes, broken records
 * are rejected with a reason, and a message that is not the protocol's says why.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Backoff } from '../../src/transport/backoff.js';
import { defaultAgentId, streamUrl } from '../../src/transport/client.js';
import { TransportConfigError } from '../../src/transport/errors.js';
import {
  batchBody,
  batchFrame,
  batchFrameBytes,
  closeReason,
  parseAgentMessage,
  parseHubMessage,
} from '../../src/transport/protocol.js';
import { checkRecords } from '../../src/transport/records.js';
import { analyze } from '../support/analyze.js';
import { CAPTURES } from '../support/paths.js';
import { connection, entry } from './fixtures.js';

describe('messages', () => {
  test('a batch frame built from serialised records parses back to the records, under its seq', () => {
    const entries = [entry(1), entry(2)];
    const connections = [connection(7)];
    const body = batchBody(
      entries.map((e) => JSON.stringify(e)),
      connections.map((c) => JSON.stringify(c)),
    );
    const expected = { type: 'batch', seq: 42, entries, connections };
    assert.deepEqual(JSON.parse(batchFrame(42, body)), expected);
    assert.deepEqual(JSON.parse(batchFrameBytes(42, Buffer.from(body)).toString()), expected);
    assert.deepEqual(parseAgentMessage(batchFrame(42, body)), expected);
    assert.deepEqual(JSON.parse(batchFrame(1, batchBody([], []))), {
      type: 'batch',
      seq: 1,
      entries: [],
      connections: [],
    });
  });

  test('hello, welcome and ack', () => {
    assert.deepEqual(
      parseAgentMessage('{"type":"hello","version":1,"agent":"node-1","node":"node-1","token":"t"}'),
      {
        type: 'hello',
        version: 1,
        agent: 'node-1',
        node: 'node-1',
        token: 't',
      },
    );
    assert.deepEqual(parseHubMessage('{"type":"welcome","version":1,"watermark":0}'), {
      type: 'welcome',
      version: 1,
      watermark: 0,
    });
    assert.deepEqual(parseHubMessage('{"type":"ack","seq":9}'), { type: 'ack', seq: 9 });
  });

  const bad: [string, RegExp][] = [
    ['{"type":"hello"', /^not JSON/],
    ['[1]', /not a JSON object/],
    ['{"type":"bye"}', /unknown message type "bye" \(expected hello or batch\)/],
    ['{"type":"hello","agent":"a","node":"n"}', /without a numeric version/],
    ['{"type":"hello","version":1,"agent":"../etc","node":"n"}', /agent must be 1-253 characters/],
    ['{"type":"hello","version":1,"agent":"","node":"n"}', /agent must be/],
    ['{"type":"hello","version":1,"agent":"a"}', /without a node name/],
    ['{"type":"hello","version":1,"agent":"a","node":"n","token":5}', /token must be a string/],
    ['{"type":"batch","seq":0,"entries":[]}', /seq must be a positive integer/],
    ['{"type":"batch","seq":1.5,"entries":[]}', /seq must be a positive integer/],
    ['{"type":"batch","seq":3,"entries":{}}', /batch 3: entries and connections must be arrays/],
  ];
  for (const [text, why] of bad)
    test(`agent message ${text} is refused: ${why.source}`, () => {
      const m = parseAgentMessage(text);
      assert.ok('error' in m, `accepted ${text}`);
      assert.match(m.error, why);
    });

  test('hub messages that are not the protocol are refused', () => {
    assert.match((parseHubMessage('{"type":"ack"}') as { error: string }).error, /ack needs a seq/);
    assert.match((parseHubMessage('{"type":"welcome","version":1}') as { error: string }).error, /watermark/);
    assert.match((parseHubMessage('{"type":"batch"}') as { error: string }).error, /expected welcome or ack/);
  });

  test('a close reason is cut to the 123 bytes a close frame allows (RFC 6455 §5.5)', () => {
    assert.equal(closeReason('short'), 'short');
    const long = closeReason('é'.repeat(200));
    assert.ok(Buffer.byteLength(long) <= 123, `${Buffer.byteLength(long)} bytes`);
    assert.ok(long.endsWith('...'));
  });

  test('hub URLs and agent ids', () => {
    assert.equal(streamUrl('http://hub:6676'), 'ws://hub:6676/api/agents/stream');
    assert.equal(streamUrl('https://hub.example/'), 'wss://hub.example/api/agents/stream');
    assert.equal(streamUrl('ws://127.0.0.1:9/custom'), 'ws://127.0.0.1:9/custom');
    assert.throws(() => streamUrl('hub:6676'), TransportConfigError);
    assert.throws(() => streamUrl('nonsense'), /is not a URL/);
    assert.equal(defaultAgentId('ip-10-0-1-2.ec2.internal'), 'ip-10-0-1-2.ec2.internal');
    assert.equal(defaultAgentId('node 1/a'), 'node_1_a');
    assert.equal(defaultAgentId('--'), 'agent');
  });
});

describe('reconnect delays', () => {
  test('double from the minimum up to the cap, half fixed and half jitter; a success starts over', () => {
    const low = new Backoff(100, 1000, () => 0);
    assert.deepEqual(
      Array.from({ length: 6 }, () => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const high = new Backoff(100, 1000, () => 0.999999);
    const d = Array.from({ length: 6 }, () => Math.round(high.next()));
    assert.deepEqual(d, [100, 200, 400, 800, 1000, 1000]);
    high.reset();
    assert.equal(Math.round(high.next()), 100);
    const real = new Backoff(100, 1000);
    for (let i = 0; i < 50; i++) {
      const v = real.next();
      assert.ok(v >= 50 && v <= 1000, `${v}`);
    }
  });
});

describe('records the hub accepts', () => {
  test('every entry and connection podwire makes of a real capture passes', async () => {
    const { entries, connections } = await analyze(join(CAPTURES, 'http1', 'zeek__pipelined-requests.pcap'));
    assert.ok(entries.length > 0 && connections.length > 0);
    const plain = JSON.parse(JSON.stringify({ entries, connections })) as {
      entries: unknown[];
      connections: unknown[];
    };
    const checked = checkRecords(plain.entries, plain.connections);
    assert.equal(checked.rejected, 0, checked.firstProblem ?? '');
    assert.equal(checked.entries, plain.entries, 'no copy when every record is good');
    assert.equal(checked.connections.length, connections.length);
  });

  test('broken records are dropped and counted; the first reason is kept', () => {
    const good = entry(1);
    const entries: unknown[] = [
      good,
      { ...entry(2), timestamp: 'yesterday' },
      null,
      { ...entry(3), type: 'connection' },
      entry(4),
    ];
    const connections: unknown[] = [connection(1), { ...connection(2), src: '10.0.0.1' }];
    const checked = checkRecords(entries, connections);
    assert.equal(checked.rejected, 4);
    assert.deepEqual(
      checked.entries.map((e) => e.id),
      ['e-1', 'e-4'],
    );
    assert.deepEqual(
      checked.connections.map((c) => c.id),
      [1],
    );
    assert.equal(checked.firstProblem, 'entries[1]: timestamp is not a number');
    assert.equal(
      checkRecords([], [{ ...connection(1), start: null }]).firstProblem,
      'connections[0]: start or end is not a number',
    );
  });
});
