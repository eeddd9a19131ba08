/**
 * Never-throw fuzzing: random bytes, and the 3.1.1 and 5.0 conversations of fixtures.ts with bytes
 * flipped, cut, inserted and lost in gaps, fed in random chunks through detection and the session.
 * Nothing may throw or take long, memory stays bounded, and no byte goes unaccounted: when no parse
 * error is counted, every byte fed belongs to exactly one entry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectMqtt } from '../../../src/dissect/mqtt/detect.js';
import { DEFAULT_KEEP } from '../../../src/dissect/mqtt/framer.js';
import { parsePacket } from '../../../src/dissect/mqtt/parser.js';
import { MqttSession, SCAN_BUFFER } from '../../../src/dissect/mqtt/session.js';
import type { Direction } from '../../../src/flows/stream.js';
import { concat, connect } from './build.js';
import { type Step, V5, V311 } from './fixtures.js';
import { context } from './support.js';

/** What a session may hold: a packet's kept part and its header, and a resync buffer, per direction. */
const BOUND = 2 * (DEFAULT_KEEP + 5 + SCAN_BUFFER);

interface Outcome {
  errors: number;
  accounted: number;
}

/** Feeds steps, each cut at the given points; `gaps` lose the step with that index instead. */
function feed(steps: Step[], cuts: number[], gaps: Set<number> = new Set()): Outcome {
  const start = performance.now();
  const ctx = context();
  const s = new MqttSession(ctx);
  steps.forEach(([dir, bytes], i) => {
    detectMqtt(dir, bytes);
    if (gaps.has(i)) {
      s.onGap(dir, bytes.length, i);
      return;
    }
    let at = 0;
    for (const c of cuts) {
      const end = at + 1 + (c % Math.max(1, bytes.length - at));
      s.onData(dir, bytes.subarray(at, end), i);
      at = end;
      if (at >= bytes.length) break;
    }
    if (at < bytes.length) s.onData(dir, bytes.subarray(at), i);
    assert.ok(s.buffered <= BOUND, `held ${s.buffered} bytes`);
  });
  s.onClose(steps.length);
  assert.ok(performance.now() - start < 500, 'no input takes long');
  for (const e of ctx.entries) JSON.stringify(e);
  const accounted = ctx.entries.reduce((n, e) => n + e.requestSize + e.responseSize, 0);
  return { errors: ctx.errors.length, accounted };
}

const total = (steps: Step[]) => steps.reduce((n, [, b]) => n + b.length, 0);

type Mutation =
  | { kind: 'flip'; step: number; at: number; value: number }
  | { kind: 'cut'; step: number; at: number }
  | { kind: 'insert'; step: number; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    step: fc.nat(),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), step: fc.nat(), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    step: fc.nat(),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
);

/** Mutates steps other than each direction's first (so both start in step, as after detection). */
function mutate(steps: Step[], ms: Mutation[]): Step[] {
  const out = steps.map(([d, b]) => [d, Uint8Array.from(b)] as Step);
  for (const m of ms) {
    const i = 2 + (m.step % (out.length - 2));
    const [dir, b] = out[i]!;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = m.value;
    else if (m.kind === 'cut') out[i] = [dir, b.slice(0, at)];
    else out[i] = [dir, concat(b.subarray(0, at), m.bytes, b.subarray(at))];
  }
  return out.filter(([, b]) => b.length > 0);
}

describe('MQTT fuzz', () => {
  for (const [name, seed] of [
    ['3.1.1', V311],
    ['5.0', V5],
  ] as const) {
    test(`${name}: the seed reads without error, every byte accounted for`, () => {
      const o = feed(seed, []);
      assert.equal(o.errors, 0);
      assert.equal(o.accounted, total(seed));
    });

    test(`${name}: mutated conversations, random chunks`, () => {
      let flagged = 0;
      fc.assert(
        fc.property(
          fc.array(mutation, { minLength: 1, maxLength: 5 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          (ms, cuts) => {
            const steps = mutate(seed, ms);
            const o = feed(steps, cuts);
            if (o.errors > 0) flagged++;
            else assert.equal(o.accounted, total(steps), 'no error counted, so every byte is in an entry');
          },
        ),
        { numRuns: 600 },
      );
      assert.ok(flagged > 0, 'some mutations are malformed');
    });

    test(`${name}: gaps anywhere`, () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.nat({ max: seed.length - 1 }), { maxLength: 4 }),
          fc.array(fc.nat(), { maxLength: 4 }),
          (gaps, cuts) => {
            feed(seed, cuts, new Set(gaps));
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  test('random bytes, alone and after a CONNECT', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 6 }), (b, cuts) => {
        for (const dir of [0, 1] as Direction[]) detectMqtt(dir, b);
        for (const v of [null, '3.1.1', '5.0'] as const)
          parsePacket(b[0] ?? 0x30, b.subarray(1), b.length - 1, b.length, v);
        feed([[0, b]], cuts);
        const steps: Step[] = [[0, concat(connect({ level: 5 }), b)]];
        const o = feed(steps, cuts);
        if (o.errors === 0)
          assert.equal(o.accounted, total(steps), 'garbage is an error or reads as packets');
      }),
      { numRuns: 2000 },
    );
  });

  test('a huge Remaining Length: held bytes stay bounded and the end inside it is counted', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    s.onData(0, connect(), 0);
    s.onData(0, Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61]), 1);
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    for (let i = 0; i < 40; i++) {
      s.onData(0, chunk, 2 + i);
      assert.ok(s.buffered <= DEFAULT_KEEP + 5);
    }
    s.onClose(100);
    assert.deepEqual(ctx.errors, ['mqtt: stream ended inside a packet']);
  });

  test('garbage from the start of a forced stream is reported, with bounded holding', () => {
    const ctx = context();
    const s = new MqttSession(ctx);
    const junk = new Uint8Array(3000).fill(0x00);
    for (let i = 0; i < 10; i++) {
      s.onData(0, junk, i);
      assert.ok(s.buffered <= SCAN_BUFFER + junk.length);
    }
    s.onClose(10);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /no packet start/);
    assert.equal(ctx.entries.length, 0);
  });
});
