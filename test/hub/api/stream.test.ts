/**
 * `/api/stream` over a real listening server (loopback, port 0) with the `ws` client: the filter
 * runs in the hub, a client changes it, and a client that stops reading costs the hub a bounded
 * queue, loses the oldest entries and is told exactly where and how many.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fastifyWebsocket from '@fastify/websocket';
import Fastify from 'fastify';
import WebSocket from 'ws';
import type { Entry } from '../../../src/dissect/entry.js';
import { registerApiRoutes } from '../../../src/hub/api/index.js';
import { LiveFeed } from '../../../src/hub/live.js';
import { get, type Json, type TestHub, testHub } from './fixture.js';

const LIMITS = { maxMessages: 64, maxBytes: 256 << 10, highWaterBytes: 64 << 10, maxControl: 8 };
const MAX_CLIENTS = 4;

let hub: TestHub;
let base: string;
before(async () => {
  hub = await testHub({ stream: { maxClients: MAX_CLIENTS, queue: LIMITS } }, false);
  await hub.app.listen({ host: '127.0.0.1', port: 0 });
  const a = hub.app.server.address();
  assert.ok(a && typeof a === 'object');
  base = `ws://127.0.0.1:${a.port}`;
});
after(async () => {
  await hub.close();
});

/** A stream client that records every message it reads. */
class Client {
  readonly messages: Json[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.messages.push(JSON.parse(data.toString())));
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  static async open(query?: string): Promise<Client> {
    const ws = new WebSocket(
      `${base}/api/stream${query !== undefined ? `?q=${encodeURIComponent(query)}` : ''}`,
    );
    const c = new Client(ws);
    await once(ws, 'open');
    return c;
  }

  /** Waits until `cond` holds over the messages read so far. */
  async until(cond: (messages: Json[]) => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond(this.messages)) {
      if (Date.now() > deadline)
        assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Sends a filter and waits for its acknowledgement; returns the index of the ack. */
  async setQuery(query: string | null): Promise<number> {
    const from = this.messages.length;
    this.ws.send(JSON.stringify({ query }));
    await this.until((m) => m.slice(from).some((x) => x.type === 'query' || x.type === 'error'), 'the reply');
    const i = this.messages.findIndex((x, k) => k >= from && (x.type === 'query' || x.type === 'error'));
    assert.deepEqual(this.messages[i], { type: 'query', query });
    return i;
  }

  entriesBetween(from: number, to: number): string[] {
    return this.messages
      .slice(from, to)
      .filter((m) => m.type === 'entry')
      .map((m) => m.id);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await once(this.ws, 'close');
  }
}

function publishAll(): void {
  for (const e of hub.records.entries) hub.live.publish(e);
}

const idsWhere = (f: (e: Entry) => boolean): string[] => hub.records.entries.filter(f).map((e) => e.id);

async function streamStats(): Promise<Json> {
  return (await get(hub.app, '/api/stream/stats')).body;
}

describe('filtering in the hub', () => {
  test('?q= selects the entries, in publish order', async () => {
    const q = 'redis and method == "GET" or dns and path.endsWith(".net")';
    const c = await Client.open(q);
    await c.until((m) => m.length > 0, 'the acknowledgement');
    assert.deepEqual(c.messages[0], { type: 'query', query: q });
    publishAll();
    // A query change is acknowledged in order, after everything the old filter passed.
    const ack = await c.setQuery(null);
    const expected = idsWhere(
      (e) =>
        (e.protocol === 'redis' && e.method === 'GET') || (e.protocol === 'dns' && e.path.endsWith('.net')),
    );
    assert.ok(expected.length > 3);
    assert.deepEqual(c.entriesBetween(1, ack), expected);
    await c.close();
  });

  test('the client changes the query; a bad one is answered with its error and the old filter stays', async () => {
    const c = await Client.open();
    await c.until((m) => m.length > 0, 'the acknowledgement');
    assert.deepEqual(c.messages[0], { type: 'query', query: null });

    const a = await c.setQuery('http && status == 204');
    publishAll();
    const from = c.messages.length;
    c.ws.send(JSON.stringify({ query: 'http and stauts == 204' }));
    await c.until((m) => m.slice(from).some((x) => x.type === 'error'), 'the error');
    const err = c.messages.slice(from).find((x) => x.type === 'error');
    assert.equal(err.error.code, 'query.unknown-field');
    assert.equal('http and stauts == 204'.slice(err.error.span.start, err.error.span.end), 'stauts');
    const errAt = c.messages.indexOf(err);
    publishAll();
    const b = await c.setQuery('dns');
    const http204 = idsWhere((e) => e.protocol === 'http' && e.status === 204);
    assert.ok(http204.length > 0);
    assert.deepEqual(c.entriesBetween(a + 1, errAt), http204);
    assert.deepEqual(c.entriesBetween(errAt + 1, b), http204, 'the old filter stayed');
    publishAll();
    const end = await c.setQuery(null);
    assert.deepEqual(
      c.entriesBetween(b + 1, end),
      idsWhere((e) => e.protocol === 'dns'),
    );
    await c.close();
  });

  test('a bad ?q= sends nothing until a good query arrives', async () => {
    const c = await Client.open('dns and');
    await c.until((m) => m.length > 0, 'the error');
    assert.equal(c.messages[0].type, 'error');
    assert.equal(c.messages[0].error.code, 'query.syntax');
    publishAll();
    const ack = await c.setQuery('redis');
    assert.deepEqual(c.entriesBetween(0, ack), []);
    publishAll();
    const end = await c.setQuery(null);
    assert.deepEqual(
      c.entriesBetween(ack + 1, end),
      idsWhere((e) => e.protocol === 'redis'),
    );
    await c.close();
  });

  test('messages that are not {"query": ...} are answered hub.stream_bad_message', async () => {
    const c = await Client.open();
    await c.until((m) => m.length > 0, 'the acknowledgement');
    const bad: (string | Buffer)[] = [
      'not json',
      '{"q": "http"}',
      '{"query": 5}',
      '[1]',
      Buffer.alloc(10),
      'x'.repeat(200_000),
    ];
    for (const m of bad) c.ws.send(m, { binary: Buffer.isBuffer(m) });
    await c.until((m) => m.filter((x) => x.type === 'error').length === bad.length, 'every error');
    for (const m of c.messages.slice(1)) assert.equal(m.error.code, 'hub.stream_bad_message');
    await c.setQuery('http');
    await c.close();
  });
});

describe('a slow client', () => {
  test('is held to its queue caps, loses the oldest entries, and is told where and how many', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const memory = (): number => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };

    const c = await Client.open('redis');
    await c.until((m) => m.length > 0, 'the acknowledgement');
    c.ws.pause(); // stops reading: the kernel's buffers fill, then the hub's socket, then the queue
    const template = hub.records.entries.find((e) => e.protocol === 'redis')!;
    const pad = 'x'.repeat(8000);
    const N = 6000;
    let biggest = 0;
    const before = memory();
    let peakBuffered = 0;
    for (let i = 0; i < N; i += 100) {
      for (let k = i; k < i + 100; k++) {
        const e = { ...template, id: `slow-${k}`, request: { ...template.request, pad } };
        biggest = Math.max(biggest, JSON.stringify(e).length);
        hub.live.publish(e);
      }
      const s = (await streamStats()).clients.find((x: Json) => x.query === 'redis');
      assert.ok(s.queued <= LIMITS.maxMessages && s.queuedBytes <= LIMITS.maxBytes, JSON.stringify(s));
      peakBuffered = Math.max(peakBuffered, s.bufferedAmount);
      await new Promise((r) => setImmediate(r));
    }
    const held = memory() - before;
    const s = (await streamStats()).clients.find((x: Json) => x.query === 'redis');
    assert.ok(s.dropped > 0, 'entries were dropped');
    assert.ok(s.peakQueued <= LIMITS.maxMessages, `peak ${s.peakQueued} messages`);
    assert.ok(s.peakQueuedBytes <= LIMITS.maxBytes, `peak ${s.peakQueuedBytes} bytes`);
    assert.ok(peakBuffered <= LIMITS.highWaterBytes + biggest + 1024, `socket buffer ${peakBuffered}`);
    assert.equal(s.sent + s.dropped + s.queued, N);
    // About 50 MB went by; the hub kept a bounded queue of it (unbounded, the heap grows by ~40 MB).
    assert.ok(held < 8 << 20, `the heap grew by ${held} bytes`);

    c.ws.resume();
    const tally = (m: Json[]): number =>
      m.reduce((n, x) => n + (x.type === 'entry' ? 1 : x.type === 'dropped' ? x.count : 0), 0);
    await c.until((m) => tally(m) === N, `${N} entries or notices`);
    // Entries arrive in order; a notice of N stands exactly for the N entries missing at its place.
    let next = 0;
    let notices = 0;
    for (const m of c.messages.slice(1)) {
      if (m.type === 'dropped') {
        assert.ok(m.count > 0);
        next += m.count;
        notices++;
      } else {
        assert.equal(m.id, `slow-${next}`);
        next++;
      }
    }
    assert.equal(next, N);
    assert.ok(notices > 0);
    const after = (await streamStats()).clients.find((x: Json) => x.query === 'redis');
    assert.equal(after.unannounced, 0);
    assert.equal(after.queued, 0);
    await c.close();
  });

  test('a client that closes with entries queued is forgotten', async () => {
    const c = await Client.open();
    await c.until((m) => m.length > 0, 'the acknowledgement');
    c.ws.pause();
    const template = hub.records.entries[0]!;
    const pad = 'y'.repeat(8000);
    for (let k = 0; k < 500; k++) hub.live.publish({ ...template, id: `gone-${k}`, request: { pad } });
    c.ws.terminate();
    await new Promise((r) => setTimeout(r, 100));
    for (let k = 0; k < 100; k++) hub.live.publish(template);
    const s = await streamStats();
    assert.equal(s.clients.length, 0);
    assert.equal(s.feed.subscribers, 0);
  });
});

describe('limits and wiring', () => {
  test(`at most ${MAX_CLIENTS} clients; the next is told hub.stream_full and closed with 1013`, async () => {
    const clients = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => Client.open()));
    const extra = await Client.open();
    await extra.until(() => extra.closeCode !== null, 'the close');
    assert.equal(extra.closeCode, 1013);
    assert.equal(extra.messages[0].error.code, 'hub.stream_full');
    const s = await streamStats();
    assert.equal(s.clients.length, MAX_CLIENTS);
    assert.ok(s.rejected >= 1);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('one upgrade listener, whether the app registered @fastify/websocket first or not', async () => {
    assert.equal(hub.app.server.listenerCount('upgrade'), 1);
    const app = Fastify({ logger: false });
    await app.register(fastifyWebsocket);
    const live = new LiveFeed();
    registerApiRoutes(app, { store: hub.store, live });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      assert.equal(app.server.listenerCount('upgrade'), 1);
      const a = app.server.address();
      assert.ok(a && typeof a === 'object');
      const ws = new WebSocket(`ws://127.0.0.1:${a.port}/api/stream?q=dns`);
      const got: Json[] = [];
      ws.on('message', (d) => got.push(JSON.parse(d.toString())));
      await once(ws, 'open');
      while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
      for (const e of hub.records.entries) live.publish(e);
      const dns = idsWhere((e) => e.protocol === 'dns');
      while (got.length < 1 + dns.length) await new Promise((r) => setTimeout(r, 5));
      assert.deepEqual(
        got.slice(1).map((m) => m.id),
        dns,
      );
      ws.close();
      await once(ws, 'close');
    } finally {
      await app.close();
    }
  });
});
