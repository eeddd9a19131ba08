/**
 * Agents streaming to a hub over real WebSockets on loopback (HubClient -> registerAgentStream):
 * batching, an ack only after the store returned, the window, a store that fails, a hub restarted
 * mid-stream, an ack lost after the store committed, backpressure into the spool with memory
 * bounded, a full spool counting its drops, the spool replayed by the next agent run, and a lost
 * spool (the hub knows seqs the agent never issued). On the wire, against RFC 6455 read byte by
 * byte: text frames of ASCII JSON, masked with a zero key unless asked otherwise.
 *
 * The reference each test checks against is the contract in docs/transport.md: every record the
 * agent reports acknowledged is stored exactly once, and every record handed over is either
 * acknowledged, still queued, or counted as dropped.
 */
import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { HubClient, type HubClientOptions } from '../../src/transport/index.js';
import { freePort } from '../support/ports.js';
import { connection, entry, removeDir, segmentFiles, tempDir, until } from './fixtures.js';
import { exactlyOnce, MemoryTarget, startHub, type TestHub } from './hub-harness.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function hubUp(hub: TestHub): TestHub {
  cleanups.push(() => hub.close());
  return hub;
}

function client(url: string, options: Partial<HubClientOptions> = {}): HubClient & { logs: string[] } {
  const logs: string[] = [];
  const c = new HubClient({
    url,
    node: 'node-1',
    minBackoffMs: 20,
    maxBackoffMs: 200,
    log: (m) => logs.push(m),
    ...options,
  });
  cleanups.push(() => c.close(0));
  return Object.assign(c, { logs });
}

function spoolDir(): string {
  const d = tempDir('spool');
  cleanups.push(() => removeDir(d));
  return d;
}

describe('agent to hub', () => {
  test('records are batched by count, then by time; each batch is acknowledged', async () => {
    const target = new MemoryTarget();
    const hub = hubUp(await startHub(target));
    const c = client(hub.url, { agent: 'batcher', batchRecords: 10, batchMs: 50 });
    c.start();
    for (let i = 0; i < 25; i++) c.sendEntry(entry(i));
    c.sendConnection(connection(1));
    c.sendConnection(connection(2));
    await until(() => c.status().acked === 27, 'every record acknowledged');
    assert.deepEqual(
      target.batches.map((b) => [b.seq, b.entries.length, b.connections.length]),
      [
        [1, 10, 0],
        [2, 10, 0],
        [3, 5, 2],
      ],
    );
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 25), null);
    assert.deepEqual(target.batches[2]!.connections[1], connection(2));
    const s = c.status();
    assert.equal(s.connected, true);
    assert.equal(s.queuedRecords, 0);
    assert.equal(s.inFlight, 0);
    assert.equal(s.dropped, 0);
    assert.equal(s.watermark, 0);
    const [agent] = hub.stream.agents();
    assert.equal(agent?.agent, 'batcher');
    assert.equal(agent?.node, 'node-1');
    assert.equal(agent?.watermark, 3);
    assert.equal(agent?.entries, 25);
    assert.equal(agent?.connections, 2);
    assert.deepEqual(await c.close(1000), { unacked: 0 });
  });

  test('the ack comes only after ingest returned, and at most `window` batches wait for one', async () => {
    const target = new MemoryTarget();
    let open!: () => void;
    target.gate = new Promise((r) => {
      open = r;
    });
    const hub = hubUp(await startHub(target));
    const c = client(hub.url, { agent: 'windowed', batchRecords: 1, window: 3 });
    c.start();
    for (let i = 0; i < 10; i++) c.sendEntry(entry(i));
    await until(() => target.calls === 1 && c.status().inFlight === 3, 'three batches in flight');
    await new Promise((r) => setTimeout(r, 100));
    let s = c.status();
    assert.equal(s.inFlight, 3, 'no fourth batch before an ack');
    assert.equal(s.acked, 0, 'nothing acknowledged while the store has not returned');
    assert.equal(s.queuedRecords, 10);
    assert.equal(target.calls, 1, 'the hub handles one batch at a time');
    open();
    target.gate = null;
    await until(() => c.status().acked === 10, 'all acknowledged');
    s = c.status();
    assert.equal(s.inFlight, 0);
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 10), null);
  });

  test('a store that fails closes the stream (1011); the agent reconnects and sends the batch again', async () => {
    const target = new MemoryTarget();
    target.failOn.add(2);
    const hub = hubUp(await startHub(target));
    const c = client(hub.url, { agent: 'retrier', batchRecords: 5 });
    c.start();
    for (let i = 0; i < 20; i++) c.sendEntry(entry(i));
    await until(() => c.status().acked === 20, 'all acknowledged');
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 20), null);
    assert.ok(c.status().reconnects >= 1);
    assert.ok(
      hub.logs.some((l) => /cannot store a batch: disk full \(test, seq 2\)/.test(l)),
      hub.logs.join('\n'),
    );
    assert.ok(
      c.logs.some((l) => /could not store a batch: cannot store the batch: disk full/.test(l)),
      c.logs.join('\n'),
    );
    assert.equal(c.status().lastError, null, 'cleared by the next welcome');
  });

  test('the hub restarted mid-stream: nothing acknowledged is lost, nothing is stored twice', async () => {
    const target = new MemoryTarget();
    let hub = await startHub(target);
    const port = hub.port;
    const c = client(hub.url, { agent: 'restarts', batchRecords: 20, batchMs: 10 });
    c.start();
    let n = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++) {
        c.sendEntry(entry(n++));
        if (n % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    };
    await send(600);
    await until(() => c.status().acked > 100, 'some acknowledged before the restart');
    await hub.close();
    const ackedBefore = c.status().acked;
    await send(600); // while the hub is down
    assert.equal(c.status().connected, false);
    hub = hubUp(await startHub(target, { port }));
    await send(600);
    assert.deepEqual(await c.close(10_000), { unacked: 0 });
    assert.equal(c.status().acked, 1800);
    assert.ok(c.status().acked > ackedBefore);
    assert.ok(c.status().reconnects >= 1);
    assert.equal(c.status().dropped, 0);
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 1800), null);
    const seqs = target.batches.map((b) => b.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'stored in seq order',
    );
  });

  test('an ack lost after the store committed: the welcome releases the batch, it is not stored again', async () => {
    const target = new MemoryTarget();
    const hub = hubUp(await startHub(target));
    // Batch 3 is stored, then every agent socket is cut before the hub can acknowledge it.
    target.afterStore = (seq) => {
      if (seq === 3) for (const ws of hub.app.websocketServer.clients) ws.terminate();
    };
    const c = client(hub.url, { agent: 'lost-ack', batchRecords: 4, window: 1 });
    c.start();
    for (let i = 0; i < 24; i++) c.sendEntry(entry(i));
    await until(() => c.status().acked === 24, 'all acknowledged');
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 24), null);
    assert.deepEqual(
      target.batches.map((b) => b.seq),
      [1, 2, 3, 4, 5, 6],
    );
    assert.ok(
      c.logs.some((l) => /hub has up to seq 3, 4 records it stored before were released/.test(l)),
      c.logs.join('\n'),
    );
  });

  test('backpressure: a slow store; memory stays under its cap, the rest waits in the spool', async () => {
    const target = new MemoryTarget();
    target.delayMs = 15;
    const hub = hubUp(await startHub(target));
    const dir = spoolDir();
    const maxMemoryBytes = 64 << 10;
    const c = client(hub.url, {
      agent: 'slow',
      batchRecords: 50,
      window: 2,
      maxMemoryBytes,
      maxBatchBytes: 64 << 10,
      spoolDir: dir,
    });
    c.start();
    let peakMemory = 0;
    for (let i = 0; i < 4000; i++) {
      c.sendEntry(entry(i));
      peakMemory = Math.max(peakMemory, c.status().memoryBytes);
    }
    const s = c.status();
    // The cap, plus the batch being filled (at most maxBatchBytes).
    assert.ok(peakMemory <= maxMemoryBytes + (64 << 10), `memory ${peakMemory}`);
    assert.ok(s.spooledBytes > 1 << 20, `spooled ${s.spooledBytes}`);
    assert.ok(segmentFiles(dir, 'slow').length > 0);
    assert.equal(s.queuedRecords + s.acked, 4000);
    await until(() => c.status().acked === 4000, 'all acknowledged', 20_000);
    assert.equal(c.status().dropped, 0);
    assert.equal(c.status().spooledBytes, 0);
    assert.deepEqual(segmentFiles(dir, 'slow'), [], 'acknowledged segments are deleted');
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 4000), null);
  });

  test('a full spool drops its oldest batches, and says how many; what is acknowledged is stored once', async () => {
    const port = await freePort();
    const dir = spoolDir();
    const c = client(`http://127.0.0.1:${port}`, {
      agent: 'overflow',
      batchRecords: 20,
      maxMemoryBytes: 32 << 10,
      maxSpoolBytes: 256 << 10,
      segmentBytes: 64 << 10,
      spoolDir: dir,
    });
    c.start();
    for (let i = 0; i < 3000; i++) c.sendEntry(entry(i));
    let s = c.status();
    assert.ok(s.dropped > 0);
    assert.match(s.lastDrop ?? '', /spool full/);
    assert.ok(s.spooledBytes <= 256 << 10, `spool ${s.spooledBytes}`);
    assert.equal(s.queuedRecords + s.dropped, 3000);
    const target = new MemoryTarget();
    hubUp(await startHub(target, { port }));
    assert.deepEqual(await c.close(10_000), { unacked: 0 });
    s = c.status();
    assert.equal(s.acked + s.dropped, 3000);
    const counts = target.entryCounts();
    assert.equal(counts.size, s.acked);
    assert.ok([...counts.values()].every((v) => v === 1));
    // What is lost is one run of the oldest spooled records: the newest survive, and so do the
    // oldest few still in memory (next on the wire when the hub came back).
    const missing = Array.from({ length: 3000 }, (_, i) => i).filter((i) => !counts.has(`e-${i}`));
    assert.equal(missing.length, s.dropped);
    assert.equal(missing[missing.length - 1]! - missing[0]! + 1, missing.length, 'one contiguous run');
    assert.equal(counts.get('e-2999'), 1);
  });

  test('what one agent run could not deliver, the next run with the same spool sends, under the same seqs', async () => {
    const port = await freePort();
    const dir = spoolDir();
    const url = `http://127.0.0.1:${port}`;
    const first = client(url, { agent: 'restarted', batchRecords: 10, spoolDir: dir });
    first.start();
    for (let i = 0; i < 95; i++) first.sendEntry(entry(i));
    assert.deepEqual(await first.close(300), { unacked: 95 });
    assert.ok(segmentFiles(dir, 'restarted').length > 0);

    const target = new MemoryTarget();
    hubUp(await startHub(target, { port }));
    const second = client(url, { agent: 'restarted', batchRecords: 10, spoolDir: dir });
    assert.equal(second.status().queuedRecords, 95);
    second.start();
    for (let i = 95; i < 100; i++) second.sendEntry(entry(i));
    assert.deepEqual(await second.close(5000), { unacked: 0 });
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 100), null);
    assert.deepEqual(
      target.batches.map((b) => b.seq),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    assert.deepEqual(segmentFiles(dir, 'restarted'), []);
  });

  test('an agent that lost its spool: the hub knows higher seqs, the agent renumbers and nothing is discarded', async () => {
    const target = new MemoryTarget();
    target.watermarks.set('amnesic', 500);
    const hub = hubUp(await startHub(target));
    const c = client(hub.url, { agent: 'amnesic', batchRecords: 10 });
    for (let i = 0; i < 30; i++) c.sendEntry(entry(i));
    c.start();
    await until(() => c.status().acked === 30, 'all acknowledged');
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 30), null);
    assert.deepEqual(
      target.batches.map((b) => b.seq),
      [501, 502, 503],
    );
    assert.equal(target.refused, 0);
    assert.ok(c.logs.some((l) => /renumbered/.test(l)));
  });

  test('records that cannot be serialised, or come after close, are counted as dropped; nothing throws', async () => {
    const c = client('http://127.0.0.1:9', { agent: 'careless' });
    const cyclic = entry(1) as unknown as Record<string, unknown>;
    cyclic.self = cyclic;
    c.sendEntry(cyclic as never);
    c.sendEntry({ ...entry(2), big: 10n } as never);
    assert.equal(c.status().dropped, 2);
    assert.match(c.status().lastError ?? '', /not serialisable/);
    await c.close(0);
    c.sendEntry(entry(3));
    assert.equal(c.status().dropped, 3);
  });
});

/** A frame as RFC 6455 §5.2 lays it out. */
interface Frame {
  fin: boolean;
  opcode: number;
  mask: Buffer | null;
  payload: Buffer;
}

/** Whole frames at the head of `buf`, and the bytes after them. */
function frames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const out: Frame[] = [];
  let at = 0;
  for (;;) {
    if (buf.length - at < 2) break;
    const b0 = buf[at]!;
    const b1 = buf[at + 1]!;
    let len = b1 & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (buf.length - p < 2) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (buf.length - p < 8) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    if (buf.length - p < (masked ? 4 : 0) + len) break;
    const mask = masked ? buf.subarray(p, p + 4) : null;
    if (masked) p += 4;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    out.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, mask: mask && Buffer.from(mask), payload });
    at = p + len;
  }
  return { frames: out, rest: buf.subarray(at) };
}

/**
 * A WebSocket server written from RFC 6455 itself (§4.2.2 handshake, §5.2 frames), not ws: it
 * welcomes the agent and keeps every frame the agent sends, as it came.
 */
async function rawHub(): Promise<{ url: string; frames: Frame[] }> {
  const got: Frame[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let buf: Buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const key = /sec-websocket-key:\s*(\S+)/i.exec(buf.subarray(0, end).toString())?.[1] ?? '';
        const accept = createHash('sha1')
          // The GUID of RFC 6455 §1.3.
          .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
          .digest('base64');
        socket.write(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
        );
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      const parsed = frames(buf);
      buf = parsed.rest;
      for (const f of parsed.frames) {
        got.push(f);
        if (f.opcode === 1 && f.payload.toString().includes('"hello"')) {
          const welcome = Buffer.from('{"type":"welcome","version":1,"watermark":0}');
          socket.write(Buffer.concat([Buffer.from([0x81, welcome.length]), welcome]));
        }
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, frames: got };
}

describe('on the wire', () => {
  test('batches are text frames of ASCII JSON, masked with a zero key; maskFrames gives random keys', async () => {
    const plain = await rawHub();
    const c = client(plain.url, { agent: 'wire', batchMs: 10 });
    c.start();
    const e = { ...entry(1), path: '/caf\u00e9/日本/😀' };
    c.sendEntry(e);
    await until(() => plain.frames.length >= 2, 'hello and a batch');
    const [hello, batch] = plain.frames;
    for (const f of [hello!, batch!]) {
      assert.equal(f.opcode, 1, 'a text frame (RFC 6455 §5.6)');
      assert.ok(f.fin);
      assert.deepEqual(f.mask, Buffer.alloc(4), 'the MASK bit is set and the key is zero');
    }
    assert.ok(isAscii(batch!.payload), batch!.payload.toString());
    const m = JSON.parse(batch!.payload.toString()) as { type: string; seq: number; entries: unknown[] };
    assert.deepEqual(m, { type: 'batch', seq: 1, entries: [e], connections: [] });
    await c.close(0);

    const masked = await rawHub();
    const r = client(masked.url, { agent: 'wire-masked', batchMs: 10, maskFrames: true });
    r.start();
    for (let i = 0; i < 3; i++) r.sendEntry(entry(i));
    await until(() => masked.frames.length >= 2, 'hello and a batch');
    const keys = masked.frames.map((f) => f.mask?.toString('hex'));
    assert.ok(
      keys.every((k) => k !== undefined && k !== '00000000'),
      `keys ${keys.join(' ')}`,
    );
    assert.equal(new Set(keys).size, keys.length, 'a fresh key per frame');
    assert.equal(
      (JSON.parse(masked.frames[1]!.payload.toString()) as { entries: unknown[] }).entries.length,
      3,
    );
  });

  test('full batches reuse the buffers of acknowledged ones: many batches, every record intact', async () => {
    const target = new MemoryTarget();
    const hub = hubUp(await startHub(target));
    // 2 kB entries, batches of 64 KiB: each well filled, so its buffer is handed back after the ack.
    const c = client(hub.url, { agent: 'reuse', maxBatchBytes: 64 << 10, batchRecords: 100_000, window: 3 });
    c.start();
    const big = (i: number) => ({ ...entry(i), path: `/${String(i).padStart(6, '0')}/${'p'.repeat(1800)}` });
    for (let i = 0; i < 3000; i++) {
      c.sendEntry(big(i));
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(await c.close(10_000), { unacked: 0 });
    assert.ok(target.batches.length > 80, `${target.batches.length} batches`);
    assert.equal(exactlyOnce(target.entryCounts(), 'e', 3000), null);
    const byId = new Map(target.batches.flatMap((b) => b.entries).map((e) => [e.id, e]));
    for (let i = 0; i < 3000; i++) assert.deepEqual(byId.get(`e-${i}`), big(i), `e-${i}`);
  });
});
