/**
 * Never-throw fuzzing: random bytes, and the conversation of conversation.ts truncated, mutated,
 * cut into random segments and holed by gaps, through detection and the session. Nothing may throw
 * or take long, what the session holds stays bounded, and garbage after a frame boundary is counted
 * as a parse error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectAmqp } from '../../../src/dissect/amqp/detect.js';
import { MAX_FRAME_BUFFER } from '../../../src/dissect/amqp/frames.js';
import { AmqpSession } from '../../../src/dissect/amqp/session.js';
import type { Direction } from '../../../src/flows/stream.js';
import { concat, FakeContext, method, PROTOCOL_HEADER } from './build.js';
import { conversation } from './conversation.js';

/** What a session may hold: one frame being collected plus the resync window, per direction. */
const BOUND = 2 * (MAX_FRAME_BUFFER + 128 * 1024);

const wires = conversation();
const streams: [Uint8Array, Uint8Array] = [
  concat(...wires.filter((w) => w.dir === 0).map((w) => w.data)),
  concat(...wires.filter((w) => w.dir === 1).map((w) => w.data)),
];

interface Step {
  dir: Direction;
  /** Bytes to send, or a gap of that many bytes. */
  take: number;
  gap: boolean;
}

const step = fc.record({
  dir: fc.constantFrom<Direction>(0, 1),
  take: fc.integer({ min: 1, max: 700 }),
  gap: fc.nat({ max: 9 }).map((n) => n === 0),
});

const mutation = fc.record({
  at: fc.nat(),
  value: fc.integer({ min: 0, max: 255 }),
  kind: fc.constantFrom('flip', 'insert', 'delete'),
});

function mutate(b: Uint8Array, ms: { at: number; value: number; kind: string }[]): Uint8Array {
  let out = Array.from(b);
  for (const m of ms) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'flip') out[at] = m.value;
    else if (m.kind === 'insert') out.splice(at, 0, m.value);
    else out = out.filter((_, i) => i !== at);
  }
  return Uint8Array.from(out);
}

/** Feeds the two streams in the given steps (then the rest) and closes; returns what was reported. */
function run(s: [Uint8Array, Uint8Array], steps: Step[]): FakeContext {
  const began = performance.now();
  const ctx = new FakeContext();
  const session = new AmqpSession(ctx);
  const pos = [0, 0];
  let ts = 0;
  const feed = (dir: Direction, n: number, gap: boolean) => {
    const from = pos[dir]!;
    const to = Math.min(s[dir].length, from + n);
    if (to <= from) return;
    pos[dir] = to;
    ts += 100;
    if (gap) session.onGap(dir, to - from, ts);
    else session.onData(dir, s[dir].slice(from, to), ts);
    assert.ok(session.buffered <= BOUND, `holds ${session.buffered} bytes`);
  };
  for (const st of steps) feed(st.dir, st.take, st.gap);
  feed(0, Number.MAX_SAFE_INTEGER, false);
  feed(1, Number.MAX_SAFE_INTEGER, false);
  session.onClose(ts + 1);
  assert.ok(performance.now() - began < 500, 'no input takes long');
  // Everything reported is plain data.
  JSON.stringify(ctx.entries);
  return ctx;
}

describe('AMQP fuzz', () => {
  test('the conversation itself is clean', () => {
    const ctx = run(
      streams,
      wires.map((w) => ({ dir: w.dir, take: w.data.length, gap: false })),
    );
    assert.deepEqual(ctx.errors, []);
    assert.equal(ctx.entries.length, 14);
  });

  test('random bytes through detection and the session', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
        detectAmqp(0, a);
        detectAmqp(1, b);
        run([a, b], []);
      }),
      { numRuns: 1500 },
    );
  });

  test('random bytes behind a valid start', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (garbage) => {
        run([concat(PROTOCOL_HEADER, method('channel.open', 1, {}), garbage), streams[1]], []);
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated, truncated, cut and holed conversations', () => {
    fc.assert(
      fc.property(
        fc.array(mutation, { maxLength: 8 }),
        fc.array(mutation, { maxLength: 8 }),
        fc.array(step, { maxLength: 40 }),
        fc.nat(),
        (m0, m1, steps, cut) => {
          const a = mutate(streams[0], m0);
          const b = mutate(streams[1], m1);
          run([a.subarray(0, cut % (a.length + 1)), b], steps);
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('garbage where a frame should start is counted as a parse error', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }).filter((t) => t !== 1 && t !== 2 && t !== 3 && t !== 8),
        fc.uint8Array({ minLength: 7, maxLength: 500 }),
        (type, rest) => {
          const ctx = run([concat(PROTOCOL_HEADER, Uint8Array.of(type), rest), new Uint8Array(0)], []);
          assert.ok(ctx.errors.length >= 1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
