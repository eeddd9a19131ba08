/**
 * The fast path (fast.ts: whole commands and scalar replies read in place) against its reference,
 * the incremental reader alone (RedisSession with `fast` off): for any conversation — well-formed,
 * with every RESP type, inline commands, arguments past the caps, non-ASCII and byte order marks,
 * random bytes flipped in, cut at random points — both must emit the same entries, byte for byte
 * as JSON (key order included), and report the same parse errors. Without detail (SessionContext
 * .detail) the entries must be the same but for request and response.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { NO_DETAIL, type SessionContext } from '../../../src/dissect/dissector.js';
import { RedisSession } from '../../../src/dissect/redis/session.js';
import { type Collected, collectingContext } from '../../support/session-context.js';
import { arr, bulk, CLIENT, cmd, err, int, push, SERVER, simple } from './support.js';

interface Burst {
  dir: 0 | 1;
  bytes: Uint8Array;
  ts: number;
}

/** A bulk string of raw bytes (any byte may appear inside one). */
function rawBulk(b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
}

function rawCommand(args: Uint8Array[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map(rawBulk)]);
}

const NAMES = [
  'SET',
  'GET',
  'set',
  'LPUSH',
  'AUTH',
  'CLIENT',
  'EVAL',
  'XREAD',
  'SUBSCRIBE',
  'MONITOR',
  'PING',
];

/** Argument bytes: short words, runs past the 256-byte cap, UTF-8, broken UTF-8, a BOM. */
const argBytes = fc.oneof(
  fc.constantFrom(
    ...['k', 'key:000000012345', 'SETNAME', 'STREAMS', '1', '0', 'v'].map((s) => Buffer.from(s)),
  ),
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 250, maxLength: 300 }),
  fc.constant(Buffer.from('héllo wörld')),
  fc.constant(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41, 0x42])),
  fc.constant(Uint8Array.from([0xe2, 0x82])),
);

const command = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...NAMES), fc.array(argBytes, { maxLength: 6 }))
      .map(([name, args]) => rawCommand([Buffer.from(name), ...args])),
  },
  { weight: 1, arbitrary: fc.array(argBytes, { minLength: 30, maxLength: 36 }).map(rawCommand) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(Buffer.from('PING\r\n'), Buffer.from('*0\r\n'), Buffer.from('*-1\r\n')),
  },
);

const reply = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(simple('OK'), simple('QUEUED'), simple(''), err('ERR x y')) },
  { weight: 3, arbitrary: argBytes.map((b) => rawBulk(b)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      int(0),
      int(-42),
      ':123456789012345\r\n',
      ':12345678901234567890\r\n',
      ':+5\r\n',
      ':-0\r\n',
      '$-1\r\n',
      '_\r\n',
      '*-1\r\n',
      `+${'s'.repeat(300)}\r\n`,
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      arr(bulk('a'), int(1)),
      push(bulk('message'), bulk('chan'), bulk('hi')),
      arr(bulk('subscribe'), bulk('chan'), int(1)),
      '%1\r\n+k\r\n:1\r\n',
      '|1\r\n+ttl\r\n:1\r\n+OK\r\n',
      ',1.5\r\n',
      '#t\r\n',
      '$?\r\n;2\r\nab\r\n;0\r\n',
    ),
  },
);

const conversation = fc
  .array(
    fc.tuple(
      fc.array(command, { minLength: 1, maxLength: 5 }),
      fc.array(reply, { minLength: 0, maxLength: 6 }),
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((turns) => {
    const out: Burst[] = [];
    let ts = 1_000_000;
    for (const [commands, replies] of turns) {
      ts += 50;
      out.push({ dir: 0, bytes: Buffer.concat(commands.map((c) => Buffer.from(c))), ts });
      ts += 50;
      if (replies.length) out.push({ dir: 1, bytes: Buffer.concat(replies.map((r) => Buffer.from(r))), ts });
    }
    return out;
  });

const mutation = fc.record({
  flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 3 }),
  cuts: fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 6 }),
  gap: fc.option(fc.nat(), { nil: null }),
});

/** Feeds every burst cut at `cuts` (each piece with the burst's time), then closes. */
function run(
  bursts: Burst[],
  cuts: number[],
  gap: number | null,
  fast: boolean,
  detail = true,
): Collected & { json: string[] } {
  const ctx = collectingContext(CLIENT, SERVER);
  const session = new RedisSession(detail ? ctx : ({ ...ctx, detail: false } as SessionContext), fast);
  let k = 0;
  bursts.forEach((b, i) => {
    if (gap !== null && i === gap % bursts.length) session.onGap(b.dir, 10, b.ts);
    let pos = 0;
    while (pos < b.bytes.length) {
      const n = cuts.length ? cuts[k++ % cuts.length]! : b.bytes.length;
      session.onData(b.dir, b.bytes.subarray(pos, pos + n), b.ts);
      pos += n;
    }
  });
  session.onClose(bursts[bursts.length - 1]!.ts + 10);
  return { ...ctx, json: ctx.entries.map((e) => JSON.stringify(e)) };
}

function mutate(bursts: Burst[], flips: { at: number; value: number }[]): Burst[] {
  const out = bursts.map((b) => ({ ...b, bytes: Uint8Array.from(b.bytes) }));
  for (const f of flips) {
    const b = out[f.at % out.length]!;
    if (b.bytes.length) b.bytes[(f.at >> 3) % b.bytes.length] = f.value;
  }
  return out;
}

describe('Redis fast path', () => {
  test('the same entries and errors as the incremental reader alone', () => {
    let fastEntries = 0;
    fc.assert(
      fc.property(conversation, mutation, (bursts, m) => {
        const input = mutate(bursts, m.flips);
        const fast = run(input, m.cuts, m.gap, true);
        const reference = run(input, m.cuts, m.gap, false);
        assert.deepEqual(fast.json, reference.json);
        assert.deepEqual(fast.errors, reference.errors);
        fastEntries += fast.entries.length;
      }),
      { numRuns: 2000 },
    );
    assert.ok(fastEntries > 2000, 'the conversations make entries');
  });

  test('whole chunks: each message read in place matches the reader', () => {
    const bursts: Burst[] = [
      { dir: 0, bytes: Buffer.from(cmd('SET', 'k', 'v') + cmd('GET', 'k') + cmd('GET', 'nope')), ts: 10 },
      { dir: 1, bytes: Buffer.from(`${simple('OK')}${bulk('v')}$-1\r\n`), ts: 20 },
      { dir: 0, bytes: Buffer.from(cmd('LPUSH', 'l', 'x'.repeat(300)) + cmd('INCR', 'n')), ts: 30 },
      { dir: 1, bytes: Buffer.from(`${int(1)}${err('WRONGTYPE no')}`), ts: 40 },
    ];
    const fast = run(bursts, [], null, true);
    assert.deepEqual(fast.json, run(bursts, [], null, false).json);
    assert.deepEqual(
      fast.entries.map((e) => [e.method, e.path, e.status, e.elapsedMs]),
      [
        ['SET', 'k', 'OK', 0.01],
        ['GET', 'k', 'OK', 0.01],
        ['GET', 'nope', 'NIL', 0.01],
        ['LPUSH', 'l', 'OK', 0.01],
        ['INCR', 'n', 'ERROR', 0.01],
      ],
    );
    assert.equal((fast.entries[3]!.request as { truncated?: boolean }).truncated, true);
  });

  test('without detail: the same entries but for request and response', () => {
    fc.assert(
      fc.property(conversation, mutation, (bursts, m) => {
        const input = mutate(bursts, m.flips);
        const full = run(input, m.cuts, m.gap, true, true);
        const lean = run(input, m.cuts, m.gap, true, false);
        assert.equal(lean.entries.length, full.entries.length);
        assert.deepEqual(lean.errors, full.errors);
        lean.entries.forEach((e, i) => {
          const f = full.entries[i]!;
          const push = f.src === SERVER; // server pushes keep their detail (rare, small)
          if (!push) {
            assert.equal(e.request, NO_DETAIL);
            assert.equal(e.response === null, f.response === null);
            if (e.response !== null) assert.equal(e.response, NO_DETAIL);
          }
          assert.deepEqual({ ...e, request: null, response: null }, { ...f, request: null, response: null });
        });
      }),
      { numRuns: 1000 },
    );
  });
});
