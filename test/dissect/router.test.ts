/**
 * The router's containment barrier: a dissector that throws (a bug) costs that connection its
 * dissection, counted as `dissect.exception` and as a parse error on the connection, and nothing
 * else: the other connections, the tracker and the run go on.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readCaptureFile } from '../../src/capture/file-source.js';
import type { TcpDissector } from '../../src/dissect/dissector.js';
import { TCP_DISSECTORS } from '../../src/dissect/registry.js';
import { checkedTiming } from '../../src/dissect/router.js';
import type { Connection } from '../../src/flows/connection.js';
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
