/**
 * The send queue's bookkeeping on random schedules of pushes and socket drains. The socket here is
 * a model of ws's (bufferedAmount grows with each send and falls as the peer reads; the send
 * callback fires once a message is fully out), so thousands of schedules run in a second; the real
 * WebSocket over a real TCP socket is exercised in stream.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type QueueSocket, SendQueue, type SendQueueLimits } from '../../../src/hub/api/send-queue.js';

class ModelSocket implements QueueSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly received: string[] = [];
  private readonly inFlight: { data: Buffer; left: number; cb: (err?: Error) => void }[] = [];

  send(data: Buffer, _options: { binary: boolean }, cb: (err?: Error) => void): void {
    this.bufferedAmount += data.length;
    this.inFlight.push({ data, left: data.length, cb });
  }

  /** The peer reads `n` bytes; messages fully read arrive and their callbacks run. */
  read(n: number): void {
    while (n > 0 && this.inFlight.length > 0) {
      const m = this.inFlight[0]!;
      const take = Math.min(n, m.left);
      m.left -= take;
      n -= take;
      this.bufferedAmount -= take;
      if (m.left === 0) {
        this.inFlight.shift();
        this.received.push(m.data.toString());
        m.cb();
      }
    }
  }

  readAll(): void {
    while (this.inFlight.length > 0) this.read(Number.MAX_SAFE_INTEGER);
  }
}

type Op = { kind: 'entry'; size: number } | { kind: 'control' } | { kind: 'read'; bytes: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.integer({ min: 1, max: 600 }).map((size) => ({ kind: 'entry' as const, size })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'control' as const }) },
  {
    weight: 4,
    arbitrary: fc.integer({ min: 0, max: 3000 }).map((bytes) => ({ kind: 'read' as const, bytes })),
  },
);

const limitsArb: fc.Arbitrary<SendQueueLimits> = fc.record({
  maxMessages: fc.integer({ min: 1, max: 12 }),
  maxBytes: fc.integer({ min: 100, max: 3000 }),
  highWaterBytes: fc.integer({ min: 1, max: 2000 }),
  maxControl: fc.integer({ min: 1, max: 4 }),
});

test('never holds more than its caps; every entry is either received in order or announced as dropped exactly where it was', () => {
  fc.assert(
    fc.property(limitsArb, fc.array(op, { maxLength: 300 }), (limits, ops) => {
      const socket = new ModelSocket();
      const queue = new SendQueue(socket, limits);
      /** What was pushed, in order: `e<n>` entries and `c<n>` controls. */
      const pushed: string[] = [];
      let refusedControl = false;
      let n = 0;
      for (const o of ops) {
        if (o.kind === 'entry') {
          const id = `e${n++}`;
          pushed.push(id);
          queue.pushEntry(Buffer.from(JSON.stringify({ type: 'entry', id, pad: 'x'.repeat(o.size) })));
        } else if (o.kind === 'control') {
          const id = `c${n++}`;
          if (queue.pushControl(Buffer.from(JSON.stringify({ type: 'query', id })))) pushed.push(id);
          else refusedControl = true;
        } else socket.read(o.bytes);
        const s = queue.stats();
        assert.ok(s.queued <= limits.maxMessages, `queued ${s.queued} > ${limits.maxMessages}`);
        assert.ok(s.queuedBytes <= limits.maxBytes, `queued ${s.queuedBytes} B > ${limits.maxBytes}`);
        assert.ok(s.peakQueued <= limits.maxMessages && s.peakQueuedBytes <= limits.maxBytes);
      }
      socket.readAll();
      const s = queue.stats();
      assert.equal(s.queued, 0);
      assert.equal(s.unannounced, 0);
      // Replay what arrived against what was pushed: a `dropped` notice of N stands for the next N
      // entries pushed (never a control message); everything else arrives in push order.
      let at = 0;
      let announced = 0;
      for (const text of socket.received) {
        const m = JSON.parse(text) as { type: string; id?: string; count?: number };
        if (m.type === 'dropped') {
          assert.ok(m.count! > 0);
          for (let k = 0; k < m.count!; k++) {
            assert.match(pushed[at] ?? '', /^e/, 'a notice covers entries only');
            at++;
          }
          announced += m.count!;
        } else {
          assert.equal(m.id, pushed[at], 'in push order');
          at++;
        }
      }
      assert.equal(at, pushed.length, 'every pushed message is accounted for');
      assert.equal(announced, s.dropped);
      assert.equal(s.sent + s.dropped, pushed.filter((p) => p.startsWith('e')).length);
      if (refusedControl) assert.ok(ops.some((o) => o.kind === 'control'));
    }),
    { numRuns: 2000 },
  );
});

test('a reader that keeps up gets everything at once, nothing queued or dropped', () => {
  const socket = new ModelSocket();
  const queue = new SendQueue(socket, { maxMessages: 2, maxBytes: 100, highWaterBytes: 1000, maxControl: 1 });
  for (let i = 0; i < 100; i++) {
    queue.pushEntry(Buffer.from(`{"i":${i}}`));
    socket.read(1 << 20);
  }
  assert.equal(socket.received.length, 100);
  assert.deepEqual(
    { ...queue.stats(), bufferedAmount: 0 },
    {
      queued: 0,
      queuedBytes: 0,
      peakQueued: 0,
      peakQueuedBytes: 0,
      sent: 100,
      dropped: 0,
      unannounced: 0,
      bufferedAmount: 0,
    },
  );
});

test('a control message past maxControl unread ones is refused (the stream closes that client)', () => {
  const socket = new ModelSocket();
  const queue = new SendQueue(socket, { maxMessages: 10, maxBytes: 1000, highWaterBytes: 1, maxControl: 2 });
  assert.equal(queue.pushControl(Buffer.from('{"a":1}')), true); // written: the socket was empty
  assert.equal(queue.pushControl(Buffer.from('{"a":2}')), true);
  assert.equal(queue.pushControl(Buffer.from('{"a":3}')), true);
  assert.equal(queue.pushControl(Buffer.from('{"a":4}')), false);
  socket.readAll();
  assert.deepEqual(socket.received, ['{"a":1}', '{"a":2}', '{"a":3}']);
});

test('after close nothing is sent and nothing is kept', () => {
  const socket = new ModelSocket();
  const queue = new SendQueue(socket, { maxMessages: 10, maxBytes: 1000, highWaterBytes: 1, maxControl: 2 });
  queue.pushEntry(Buffer.from('{"a":1}'));
  queue.pushEntry(Buffer.from('{"a":2}'));
  socket.readyState = 3;
  queue.close();
  queue.pushEntry(Buffer.from('{"a":3}'));
  socket.readAll();
  assert.deepEqual(socket.received, ['{"a":1}']);
  assert.equal(queue.stats().queued, 0);
});
