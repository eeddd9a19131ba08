/**
 * The hub's agent sessions (src/transport/hub-stream.ts) over real WebSockets: who is let in (the
 * token, the protocol version), what closes a stream and with which code and reason (the table in
 * docs/transport.md, RFC 6455 §7.4.2 for the 4000s), several agents at once, the same agent id
 * twice, and heartbeats that find a peer that stopped answering.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { CLOSE, HubClient, type HubClientOptions } from '../../src/transport/index.js';
import { entry, until } from './fixtures.js';
import { exactlyOnce, MemoryTarget, rawClient, startHub, type TestHub } from './hub-harness.js';

const TOKEN = 'podwire-test-token-0123456789';
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function hub(
  target = new MemoryTarget(),
  options: Parameters<typeof startHub>[1] = {},
): Promise<TestHub> {
  const h = await startHub(target, options);
  cleanups.push(() => h.close());
  return h;
}

function client(url: string, options: Partial<HubClientOptions> = {}): HubClient & { logs: string[] } {
  const logs: string[] = [];
  const c = new HubClient({
    url,
    node: 'node-1',
    minBackoffMs: 20,
    maxBackoffMs: 100,
    log: (m) => logs.push(m),
    ...options,
  });
  cleanups.push(() => c.close(0));
  return Object.assign(c, { logs });
}

const hello = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'hello', version: 1, agent: 'raw', node: 'n1', ...extra });

describe('who is let in', () => {
  test('a wrong token is refused with 4001 and a reason; the right one streams', async () => {
    const target = new MemoryTarget();
    const h = await hub(target, { token: TOKEN });
    const wrong = client(h.url, { agent: 'intruder', token: 'not-the-token-at-all-000' });
    wrong.start();
    wrong.sendEntry(entry(0, 'x'));
    await until(() => /refused the token/.test(wrong.status().lastError ?? ''), 'the refusal');
    assert.match(wrong.status().lastError ?? '', /the hub refused the token: the token is not this hub’s/);
    assert.equal(wrong.status().connected, false);
    assert.equal(target.calls, 0);

    const right = client(h.url, { agent: 'friend', token: TOKEN });
    right.start();
    for (let i = 0; i < 5; i++) right.sendEntry(entry(i));
    await until(() => right.status().acked === 5, 'acknowledged');
    assert.equal(exactlyOnce(target.entryCounts('friend'), 'e', 5), null);
    assert.equal(target.entryCounts('intruder').size, 0);
  });

  test('no token at all: 4001 saying how to send one; the Authorization header alone is enough', async () => {
    const h = await hub(new MemoryTarget(), { token: TOKEN });
    const none = rawClient(h.url);
    await none.opened;
    none.ws.send(hello());
    assert.deepEqual(await none.closed, {
      code: CLOSE.unauthorized,
      reason: 'this hub needs a token (hello.token or Authorization: Bearer)',
    });
    const header = rawClient(h.url, { authorization: `Bearer ${TOKEN}` });
    await header.opened;
    header.ws.send(hello());
    await until(() => header.messages.length === 1, 'the welcome');
    assert.deepEqual(header.messages[0], { type: 'welcome', version: 1, watermark: 0 });
    header.ws.close();
  });

  test('another protocol version is refused with 4002, naming the version the hub speaks', async () => {
    const h = await hub();
    const raw = rawClient(h.url);
    await raw.opened;
    raw.ws.send(hello({ version: 2 }));
    const closed = await raw.closed;
    assert.equal(closed.code, CLOSE.badVersion);
    assert.match(closed.reason, /this hub speaks protocol version 1, the agent 2/);
  });
});

describe('what closes a stream', () => {
  const cases: [string, string[], number, RegExp][] = [
    [
      'a batch before hello',
      ['{"type":"batch","seq":1,"entries":[],"connections":[]}'],
      CLOSE.protocolError,
      /batch before hello/,
    ],
    ['bytes that are not JSON', ['hello?'], CLOSE.protocolError, /^not JSON/],
    ['hello twice', [hello(), hello()], CLOSE.protocolError, /hello sent twice/],
    [
      'a seq that goes backwards',
      [
        hello(),
        '{"type":"batch","seq":5,"entries":[],"connections":[]}',
        '{"type":"batch","seq":4,"entries":[],"connections":[]}',
      ],
      CLOSE.protocolError,
      /batch seq 4 after 5: seqs must grow/,
    ],
  ];
  for (const [name, messages, code, reason] of cases)
    test(`${name}: ${code} ${reason.source}`, async () => {
      const h = await hub();
      const raw = rawClient(h.url);
      await raw.opened;
      for (const m of messages) raw.ws.send(m);
      const closed = await raw.closed;
      assert.equal(closed.code, code);
      assert.match(closed.reason, reason);
    });

  test('no hello in time: 4005', async () => {
    const h = await hub(new MemoryTarget(), { helloTimeoutMs: 100 });
    const raw = rawClient(h.url);
    assert.deepEqual(await raw.closed, { code: CLOSE.helloTimeout, reason: 'no hello within 100 ms' });
  });

  test('bad records are rejected and counted; the rest of the batch is stored and acknowledged', async () => {
    const target = new MemoryTarget();
    const h = await hub(target);
    const raw = rawClient(h.url);
    await raw.opened;
    raw.ws.send(hello());
    raw.ws.send(
      JSON.stringify({
        type: 'batch',
        seq: 1,
        entries: [entry(0), { type: 'entry' }, entry(1)],
        connections: [],
      }),
    );
    await until(() => raw.messages.length === 2, 'the ack');
    assert.deepEqual(raw.messages[1], { type: 'ack', seq: 1 });
    assert.deepEqual(
      target.batches[0]!.entries.map((e) => e.id),
      ['e-0', 'e-1'],
    );
    const [status] = h.stream.agents();
    assert.equal(status?.rejected, 1);
    assert.equal(status?.lastProblem, 'entries[1]: id is not a string');
    raw.ws.close();
  });
});

describe('many agents', () => {
  test('two agents at once: each has its own seqs and watermark, both stored in full', async () => {
    const target = new MemoryTarget();
    const h = await hub(target);
    const a = client(h.url, { agent: 'node-a', node: 'node-a', batchRecords: 25 });
    const b = client(h.url, { agent: 'node-b', node: 'node-b', batchRecords: 25 });
    a.start();
    b.start();
    for (let i = 0; i < 500; i++) {
      a.sendEntry(entry(i, 'a'));
      b.sendEntry(entry(i, 'b'));
    }
    await until(() => a.status().acked === 500 && b.status().acked === 500, 'both acknowledged');
    assert.equal(exactlyOnce(target.entryCounts('node-a'), 'a', 500), null);
    assert.equal(exactlyOnce(target.entryCounts('node-b'), 'b', 500), null);
    assert.equal(target.watermark('node-a'), 20);
    assert.equal(target.watermark('node-b'), 20);
    const agents = h.stream.agents().sort((x, y) => x.agent.localeCompare(y.agent));
    assert.deepEqual(
      agents.map((s) => [s.agent, s.node, s.entries, s.watermark]),
      [
        ['node-a', 'node-a', 500, 20],
        ['node-b', 'node-b', 500, 20],
      ],
    );
  });

  test('the same agent id twice: the newer connection wins and the older is closed with 4004', async () => {
    const target = new MemoryTarget();
    const h = await hub(target);
    const c = client(h.url, { agent: 'twin', batchRecords: 10, maxBackoffMs: 300 });
    c.start();
    for (let i = 0; i < 20; i++) c.sendEntry(entry(i));
    await until(() => c.status().acked === 20, 'acknowledged');

    // A second connection says hello as the same agent: it takes over.
    const raw = rawClient(h.url);
    await raw.opened;
    raw.ws.send(hello({ agent: 'twin' }));
    await until(() => raw.messages.length === 1, 'the newer is welcomed');
    assert.deepEqual(raw.messages[0], { type: 'welcome', version: 1, watermark: 2 });
    await until(
      () => /another connection with this agent id took over/.test(c.status().lastError ?? ''),
      '4004',
    );
    // The client comes back (after its backoff) and is the newer one in turn.
    const closed = await raw.closed;
    assert.equal(closed.code, CLOSE.replaced);
    assert.match(closed.reason, /replaced by a newer connection of agent twin/);
    await until(() => c.status().connected, 'the client back');
    for (let i = 20; i < 30; i++) c.sendEntry(entry(i));
    await until(() => c.status().acked === 30, 'acknowledged');
    assert.equal(exactlyOnce(target.entryCounts('twin'), 'e', 30), null);
    assert.deepEqual(
      h.stream.agents().map((s) => s.agent),
      ['twin'],
    );
  });
});

describe('sharing the hub', () => {
  /** A synchronous store (as better-sqlite3 is) that takes `ms` of CPU per batch and notes whose it was. */
  class SlowTarget extends MemoryTarget {
    readonly order: string[] = [];
    constructor(private readonly ms: number) {
      super();
    }
    override ingest(
      source: { agent: string; seq: number },
      entries: Parameters<MemoryTarget['ingest']>[1],
      connections: Parameters<MemoryTarget['ingest']>[2],
    ): boolean | Promise<boolean> {
      const end = Date.now() + this.ms;
      while (Date.now() < end) {}
      this.order.push(source.agent);
      return super.ingest(source, entries, connections);
    }
  }

  const batch = (seq: number, agent: string) =>
    JSON.stringify({ type: 'batch', seq, entries: [entry(seq, agent)], connections: [] });

  test('agents take turns with a slow synchronous store, and the event loop runs between batches', async () => {
    const target = new SlowTarget(30);
    const h = await hub(target);
    const a = rawClient(h.url);
    const b = rawClient(h.url);
    await Promise.all([a.opened, b.opened]);
    a.ws.send(hello({ agent: 'a' }));
    b.ws.send(hello({ agent: 'b' }));
    await until(() => a.messages.length === 1 && b.messages.length === 1, 'both welcomed');
    // A timer that should fire every few ms: how long the hub kept it waiting at worst.
    let last = Date.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = Date.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 2);
    for (let seq = 1; seq <= 6; seq++) a.ws.send(batch(seq, 'a'));
    for (let seq = 1; seq <= 6; seq++) b.ws.send(batch(seq, 'b'));
    await until(() => target.order.length === 12, 'every batch stored');
    clearInterval(ticker);
    // Handled as they arrived, a's six batches (180 ms) would all go before b's first.
    const firstHalf = target.order.slice(0, 8);
    assert.ok(
      firstHalf.filter((x) => x === 'a').length >= 3 && firstHalf.filter((x) => x === 'b').length >= 3,
      `order ${target.order.join('')}`,
    );
    assert.ok(worstGap < 120, `the event loop was held ${worstGap} ms (a batch takes 30 ms)`);
    await until(() => a.messages.length === 7 && b.messages.length === 7, 'every ack');
    assert.deepEqual(a.messages.at(-1), { type: 'ack', seq: 6 });
    assert.deepEqual(b.messages.at(-1), { type: 'ack', seq: 6 });
    a.ws.close();
    b.ws.close();
  });

  test('an agent that ignores its window is not read past maxQueuedBatches until the queue is down', async () => {
    const target = new MemoryTarget();
    let open!: () => void;
    target.gate = new Promise((r) => {
      open = r;
    });
    const h = await hub(target, { maxQueuedBatches: 4 });
    const raw = rawClient(h.url);
    await raw.opened;
    raw.ws.send(hello({ agent: 'greedy' }));
    await until(() => raw.messages.length === 1, 'the welcome');
    for (let seq = 1; seq <= 20; seq++) raw.ws.send(batch(seq, 'g'));
    const session = () => [...h.app.websocketServer.clients][0]!;
    await until(() => session().isPaused, 'the hub stops reading');
    assert.equal(target.calls, 1, 'one batch at a time');
    open();
    target.gate = null;
    await until(() => raw.messages.length === 21, 'all acknowledged');
    assert.equal(session().isPaused, false);
    assert.deepEqual(
      target.batches.map((x) => x.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    raw.ws.close();
  });
});

describe('heartbeats', () => {
  test('a hub that stops answering pings is given up and dialled again', async () => {
    // A server that welcomes and then never answers a ping (autoPong off), as a hung peer would.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
    cleanups.push(() => new Promise((r) => wss.close(r)));
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', () => ws.send('{"type":"welcome","version":1,"watermark":0}'));
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as AddressInfo).port;
    const c = client(`ws://127.0.0.1:${port}/api/agents/stream`, { agent: 'pinger', heartbeatMs: 100 });
    c.start();
    await until(() => connections >= 2, 'a second connection', 5000);
    assert.ok(
      c.logs.some((l) => /no answer from the hub for 100 ms: reconnecting/.test(l)),
      c.logs.join('\n'),
    );
    assert.ok(c.status().reconnects >= 1);
  });

  test('an agent that stops answering pings is dropped by the hub', async () => {
    const h = await hub(new MemoryTarget(), { heartbeatMs: 100 });
    const raw = rawClient(h.url);
    await raw.opened;
    raw.ws.send(hello({ agent: 'silent' }));
    await until(() => raw.messages.length === 1, 'the welcome');
    // Stop reading: pings are never answered.
    (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(() => h.stream.agents().length === 0, 'the hub drops it', 5000);
    assert.ok(
      h.logs.some((l) => /agent silent: no pong within a heartbeat/.test(l)),
      h.logs.join('\n'),
    );
    raw.ws.terminate();
  });
});
