/**
 * The agent-to-hub messages (src/transport/protocol.ts) and the hub's check of each record
 * (src/transport/records.ts): what a dissector really emits for a capture passes, broken records
 * are rejected with a reason, and a message that is not the protocol's says why.
 */
import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Backoff } from '../../src/transport/backoff.js';
import { BatchBuilder } from '../../src/transport/batch.js';
import { defaultAgentId, streamUrl } from '../../src/transport/client.js';
import { TransportConfigError } from '../../src/transport/errors.js';
import {
  asciiJson,
  batchFrame,
  closeReason,
  HEAD_ROOM,
  parseAgentMessage,
  parseHubMessage,
  utf8Text,
} from '../../src/transport/protocol.js';
import { checkRecords } from '../../src/transport/records.js';
import { analyze } from '../support/analyze.js';
import { CAPTURES } from '../support/paths.js';
import { connection, entry } from './fixtures.js';

describe('messages', () => {
  test('a batch built from serialised records parses back to the records, under its seq', () => {
    const entries = [entry(1), entry(2)];
    const connections = [connection(7)];
    const b = new BatchBuilder(1 << 20);
    b.add('entry', JSON.stringify(entries[0]));
    b.add('connection', JSON.stringify(connections[0]));
    b.add('entry', JSON.stringify(entries[1]));
    assert.equal(b.records, 3);
    const bytes = b.bytes;
    const sealed = b.seal()!;
    assert.equal(sealed.records, 3);
    assert.equal(sealed.room.length - HEAD_ROOM, bytes, 'the body is as long as the builder said');
    const expected = { type: 'batch', seq: 42, entries, connections };
    const frame = batchFrame(sealed.room, 42);
    assert.deepEqual(JSON.parse(frame.toString()), expected);
    assert.deepEqual(parseAgentMessage(frame.toString()), expected);
    // The same body under another seq (a rebase), the longest a seq can be.
    const again = batchFrame(sealed.room, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(JSON.parse(again.toString()), { ...expected, seq: Number.MAX_SAFE_INTEGER });
    assert.equal(b.seal(), null, 'nothing left after sealing');
    b.add('entry', JSON.stringify(entries[1]));
    assert.deepEqual(JSON.parse(batchFrame(b.seal()!.room, 1).toString()), {
      type: 'batch',
      seq: 1,
      entries: [entries[1]],
      connections: [],
    });
  });

  test('a message is read as UTF-8 whatever its bytes (ASCII on the fast path)', () => {
    // Any bytes, valid UTF-8 or not: the same string Node's UTF-8 decoder gives.
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ max: 0x7f, maxLength: 300 })),
        (bytes) => {
          const buf = Buffer.from(bytes);
          assert.equal(utf8Text(buf), buf.toString('utf8'));
        },
      ),
      { numRuns: 2000 },
    );
    for (const t of ['plain ascii {"a":1}', 'héllo', '日本語', '😀', '']) {
      const buf = Buffer.from(t);
      assert.equal(utf8Text(buf), t);
      assert.equal(isAscii(buf), t === 'plain ascii {"a":1}' || t === '');
    }
  });

  test('non-ASCII text goes as \\u escapes (RFC 8259 §7) and comes back the same', () => {
    const texts = ['héllo', '’quoted’', 'ÿ', '日本語', '😀 pair', 'lone \ud800 and \udfff', 'a"b\\c\n'];
    for (const t of texts) assert.equal(JSON.parse(asciiJson(JSON.stringify(t))), t, t);
    assert.equal(asciiJson('"é😀"'), '"\\u00e9\\ud83d\\ude00"');
    // Both ways a record is written: with room to spare, and at the end of a small buffer.
    const b = new BatchBuilder(1024);
    const small = { ...entry(1), path: '/caf\u00e9?q=日本' };
    const large = { ...entry(2), path: `/${'é'.repeat(400)}` };
    b.add('entry', JSON.stringify(small));
    b.add('entry', JSON.stringify(large));
    const frame = batchFrame(b.seal()!.room, 5);
    assert.ok(isAscii(frame), 'the message is ASCII');
    assert.deepEqual((JSON.parse(frame.toString()) as { entries: unknown[] }).entries, [small, large]);
  });

  test('any records, any text, any batch size: every batch is ASCII and together they are the records, in order', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({
        unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
        maxLength: 40,
      }),
      fc.string({ maxLength: 300 }),
    );
    const record = fc.record({
      kind: fc.constantFrom('entry' as const, 'connection' as const),
      text,
      n: fc.nat(),
    });
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 60 }),
        fc.integer({ min: 1024, max: 8192 }),
        (records, cap) => {
          const b = new BatchBuilder(cap);
          const got: { entries: unknown[]; connections: unknown[] }[] = [];
          const seal = () => {
            const s = b.seal();
            if (!s) return;
            const frame = batchFrame(s.room, got.length + 1);
            assert.ok(isAscii(frame));
            assert.ok(s.retained >= s.room.length);
            got.push(JSON.parse(frame.toString()) as { entries: unknown[]; connections: unknown[] });
          };
          for (const r of records) {
            const json = JSON.stringify(r);
            if (b.records > 0 && b.bytes + json.length + 1 > cap) seal();
            b.add(r.kind, json);
            if (b.bytes >= cap) seal();
          }
          seal();
          // As plain objects (fast-check makes them without a prototype).
          const plain = JSON.parse(JSON.stringify(records)) as typeof records;
          assert.deepEqual(
            got.flatMap((g) => g.entries),
            plain.filter((r) => r.kind === 'entry'),
          );
          assert.deepEqual(
            got.flatMap((g) => g.connections),
            plain.filter((r) => r.kind === 'connection'),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a batch sealed well filled keeps its buffer; a small one gets a buffer of its size; a huge record fits', () => {
    const b = new BatchBuilder(64 << 10);
    const record = JSON.stringify({ ...entry(1), pad: 'x'.repeat(1000) });
    while (b.bytes + record.length + 1 <= 64 << 10) b.add('entry', record);
    const full = b.seal()!;
    assert.ok(full.retained >= full.room.length && full.retained <= (64 << 10) + HEAD_ROOM + 64);
    assert.ok(full.room.length > 0.75 * full.retained);
    b.add('entry', record);
    const small = b.seal()!;
    assert.equal(small.retained, small.room.length);
    const huge = JSON.stringify({ ...entry(2), pad: 'y'.repeat(200_000) });
    b.add('entry', huge);
    const one = b.seal()!;
    assert.deepEqual((JSON.parse(batchFrame(one.room, 3).toString()) as { entries: unknown[] }).entries, [
      JSON.parse(huge),
    ]);
    b.add('entry', record);
    assert.equal(
      (JSON.parse(batchFrame(b.seal()!.room, 4).toString()) as { entries: unknown[] }).entries.length,
      1,
    );
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
