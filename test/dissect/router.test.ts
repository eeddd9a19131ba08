/**
 * The router's containment barrier: a dissector that throws (a bug) costs that connection its
 * dissection, counted as `dissect.exception` and as a parse error on the connection, and nothing
 * else: the other connections, the tracker and the run go on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCaptureFile } from '../../src/capture/file-source.js';
import type { EntryFields, SessionContext, TcpDissector } from '../../src/dissect/dissector.js';
import type { Entry } from '../../src/dissect/entry.js';
import { TCP_DISSECTORS } from '../../src/dissect/registry.js';
import { checkedTiming, DissectorRouter } from '../../src/dissect/router.js';
import { Connection } from '../../src/flows/connection.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ROOT } from '../support/paths.js';

const DEMO = join(ROOT, 'samples', 'demo.pcap');

async function run(tcp: readonly TcpDissector[]) {
  const conns: Connection[] = [];
  let entries = 0;
  const p = new Pipeline((c) => conns.push(c), {}, { onEntry: () => entries++, tcp, udp: [] });
  await readCaptureFile(DEMO, p.onPacket, p.errors);
  p.finish();
  return { p, conns, entries };
}

test('a dissector that throws loses its connections, counted, and the run goes on', async () => {
  const normal = await run(TCP_DISSECTORS);
  assert.ok(normal.entries > 0, 'the demo capture has HTTP entries');
  let calls = 0;
  const throwing: TcpDissector = {
    name: 'thrower',
    protocol: 'http',
    ports: [],
    spec: 'none',
    detect: () => 'yes',
    createSession: () => ({
      onData() {
        calls++;
        throw new Error('boom');
      },
      onGap() {},
      onEnd() {},
      onClose() {},
    }),
  };
  const broken = await run([throwing]);
  assert.equal(broken.conns.length, normal.conns.length, 'every connection is still reported');
  assert.equal(broken.p.stats.packets, normal.p.stats.packets);
  const dissected = broken.conns.filter((c) => c.l7);
  assert.ok(dissected.length > 0);
  assert.equal(broken.p.errors.get('dissect.exception'), calls, 'one exception per connection, then silence');
  assert.equal(calls, dissected.length);
  for (const c of dissected) {
    assert.equal(c.l7?.parseErrors, 1);
    const samples = (c.l7?.errorSamples ?? []) as string[];
    assert.match(String(samples[0]), /dissector exception: boom/);
  }
  // Mixed: the thrower after HTTP/1 in priority never gets the HTTP connections.
  const mixed = await run([...TCP_DISSECTORS, throwing]);
  assert.equal(mixed.entries, normal.entries);
});

test('a negative latency becomes none, with a note; a good one passes untouched', () => {
  const good = { elapsedMs: 1.5, error: null };
  assert.equal(checkedTiming(good), good);
  assert.deepEqual(checkedTiming({ elapsedMs: -0.117, error: null }), {
    elapsedMs: null,
    error: 'response seen before its request: no latency',
  });
  assert.deepEqual(checkedTiming({ elapsedMs: -3, error: 'gap of 10 bytes' }), {
    elapsedMs: null,
    error: 'gap of 10 bytes; response seen before its request: no latency',
  });
});

/** A connection 10.0.0.1:40000 -> 10.0.0.2:7000, routed to one dissector that emits what it is told. */
function routed(emits: (ctx: SessionContext) => void, detail?: boolean) {
  const got: Entry[] = [];
  let seen: SessionContext | null = null;
  const d: TcpDissector = {
    name: 'scripted',
    protocol: 'redis',
    ports: [7000],
    spec: 'none',
    detect: () => 'yes',
    createSession: (ctx) => {
      seen = ctx;
      return { onData: () => emits(ctx), onGap() {}, onEnd() {}, onClose() {} };
    },
  };
  const router = new DissectorRouter({
    dissectors: [d],
    onEntry: (e) => got.push(e),
    ...(detail === undefined ? {} : { detail }),
  });
  const conn = new Connection(7);
  [conn.s0, conn.s1, conn.s2, conn.s3, conn.srcPort] = [0, 0, 0xffff, 0x0a000001, 40000];
  [conn.d0, conn.d1, conn.d2, conn.d3, conn.dstPort] = [0, 0, 0xffff, 0x0a000002, 7000];
  conn.ipVersion = 4;
  router.create(conn).onData(0, Uint8Array.of(1), 1);
  return { got, ctx: seen as SessionContext | null };
}

const FIELDS: EntryFields = {
  protocol: 'redis',
  timestamp: 5,
  elapsedMs: 0.5,
  method: 'GET',
  path: 'k',
  status: 'OK',
  request: { command: 'GET' },
  response: { type: 'null' },
  requestSize: 14,
  responseSize: 5,
  error: null,
};

test('a whole entry is taken as it is: id and connection set in place, written like a copied one', () => {
  const { got, ctx } = routed((c) => {
    c.emit({ ...FIELDS });
    const whole: Entry = {
      type: 'entry',
      id: '',
      connectionId: 0,
      ...FIELDS,
      src: c.client,
      dst: c.server,
    };
    c.emit(whole);
    c.emit({ ...whole, elapsedMs: -0.25, error: 'cut' });
  });
  assert.ok(ctx);
  assert.deepEqual(
    got.map((e) => [e.id, e.connectionId]),
    [
      ['7-1', 7],
      ['7-2', 7],
      ['7-3', 7],
    ],
  );
  // The copy of the fields and the whole entry are the same JSON, key for key.
  assert.equal(JSON.stringify(got[1]), JSON.stringify({ ...got[0], id: '7-2' }));
  assert.equal(got[1]!.src, ctx.client);
  assert.equal(got[2]!.elapsedMs, null);
  assert.equal(got[2]!.error, 'cut; response seen before its request: no latency');
});

test('detail: absent or true for sessions unless the run says no one reads it', () => {
  assert.equal(routed(() => {}).ctx?.detail, true);
  assert.equal(routed(() => {}, true).ctx?.detail, true);
  assert.equal(routed(() => {}, false).ctx?.detail, false);
});
