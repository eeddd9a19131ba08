/**
 * Never-throw fuzzing of the MySQL session: random bytes, and real streams (tshark's TCP payloads of
 * a capture, and conversations written from the specification, plain and compressed) truncated,
 * with bytes flipped, segments dropped as gaps, split and shuffled between segments. Nothing may
 * throw (the session's own safety net must not be what catches it), take long, or hold more than
 * its caps; garbage must be counted, never dropped silently.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { detectMysql } from '../../../src/dissect/mysql/detect.js';
import { MAX_COMPRESSED, MAX_KEPT } from '../../../src/dissect/mysql/framer.js';
import { MAX_EARLY, MysqlSession } from '../../../src/dissect/mysql/session.js';
import { tsharkAvailable } from '../../reference/tshark.js';
import { CAPTURES } from '../../support/paths.js';
import {
  BASE_CAPS,
  bytes,
  CAPS,
  columnDef,
  command,
  err,
  greeting,
  handshakeResponse,
  lstr,
  ok,
  packet,
  prepareOk,
  query,
  resultSet,
  u24,
  u32,
} from './build.js';
import { context, type Step } from './support.js';

/** Held bytes at most: a kept message per direction, a compressed packet, the early segments. */
const BOUND = 2 * (MAX_KEPT + 16) + 2 * (MAX_COMPRESSED + 16) + 2 * MAX_EARLY;

const plain: Step[] = [
  [1, packet(0, greeting())],
  [0, packet(1, handshakeResponse({ schema: 'db', attributes: { _os: 'Linux' } }))],
  [1, packet(2, ok())],
  [0, query('SELECT a, b FROM t')],
  [
    1,
    resultSet(
      ['a', 'b'],
      [
        ['1', null],
        ['x'.repeat(300), '2'],
      ],
      { deprecateEof: true },
    ),
  ],
  [0, command(0x16, 'SELECT a FROM t WHERE b = ?')],
  [1, bytes(packet(1, prepareOk(7, 1, 1)), packet(2, columnDef('?')), packet(3, columnDef('a')))],
  [0, command(0x17, bytes(u32(7), [0], u32(1), [0], [1], [0xfd, 0], lstr('k')))],
  [
    1,
    bytes(
      packet(1, Uint8Array.of(1)),
      packet(2, columnDef('a')),
      packet(3, bytes([0, 0], lstr('v'))),
      packet(4, ok({ header: 0xfe })),
    ),
  ],
  [0, query("LOAD DATA LOCAL INFILE 'f' INTO TABLE t")],
  [1, packet(1, bytes([0xfb], 'f'))],
  [0, bytes(packet(2, bytes('1,2\n')), packet(3, new Uint8Array(0)))],
  [1, packet(4, ok({ affected: 1 }))],
  [0, query('SELECT * FROM missing')],
  [1, packet(1, err(1146, '42S02', "Table 'db.missing' doesn't exist"))],
  [0, command(0x01)],
];

const zip = (seq: number, p: Uint8Array, compress: boolean) => {
  const body = compress ? deflateSync(p) : p;
  return bytes(u24(body.length), [seq], u24(compress ? p.length : 0), body);
};
const caps = BASE_CAPS | CAPS.DEPRECATE_EOF | CAPS.COMPRESS;
const compressed: Step[] = [
  [1, packet(0, greeting({ caps }))],
  [0, packet(1, handshakeResponse({ caps }))],
  [1, packet(2, ok())],
  [0, zip(0, query('SELECT a FROM t'), true)],
  [
    1,
    zip(
      1,
      resultSet(
        ['a'],
        Array.from({ length: 50 }, (_, i) => [String(i)]),
        { deprecateEof: true },
      ),
      true,
    ),
  ],
  [0, zip(0, command(0x0e), false)],
  [1, zip(1, packet(1, ok()), false)],
];

/** A real connection's segments, as tshark reads them (the server: port 3306). */
function captureSteps(file: string, stream: number): Step[] {
  const out = execFileSync(
    'tshark',
    [
      '-n',
      '-r',
      join(CAPTURES, 'mysql', file),
      '-Y',
      `tcp.len > 0 && tcp.stream == ${stream}`,
      '-T',
      'fields',
      '-e',
      'tcp.srcport',
      '-e',
      'tcp.payload',
    ],
    { maxBuffer: 64 << 20 },
  ).toString();
  return out
    .trim()
    .split('\n')
    .map((l) => l.split('\t'))
    .map(([sport, hex]) => [sport === '3306' ? 1 : 0, new Uint8Array(Buffer.from(hex!, 'hex'))] as Step);
}

const seeds: Step[][] = [plain, compressed];
if (await tsharkAvailable()) {
  seeds.push(captureSteps('zeek__mysql.pcap', 0), captureSteps('zeek__caching_sha2_password.pcap', 1));
}

/** Runs steps through a session; returns the parse errors. Asserts the invariants on the way. */
function exercise(steps: Step[]): { errors: string[]; entries: number } {
  const ctx = context();
  const s = new MysqlSession(ctx);
  const start = performance.now();
  let ts = 0;
  for (const st of steps) {
    ts += 10;
    if (st[0] === 'gap') s.onGap(st[1], st[2], ts);
    else s.onData(st[0], st[1], ts);
    assert.ok(s.buffered <= BOUND, `held ${s.buffered} bytes`);
  }
  s.onClose(ts + 1);
  assert.ok(performance.now() - start < 500, 'no input takes long');
  const internal = ctx.errors.filter((e) => e.includes('internal error'));
  assert.deepEqual(internal, [], 'nothing thrown inside the session');
  for (const e of ctx.entries) JSON.stringify(e); // entries are plain JSON
  return { errors: ctx.errors, entries: ctx.entries.length };
}

type Mutation =
  | { kind: 'flip'; step: number; at: number; value: number }
  | { kind: 'truncate'; step: number; at: number }
  | { kind: 'gap'; step: number }
  | { kind: 'split'; step: number; at: number }
  | { kind: 'insert'; step: number; at: number; data: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    step: fc.nat(),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), step: fc.nat(), at: fc.nat() }),
  fc.record({ kind: fc.constant('gap' as const), step: fc.nat() }),
  fc.record({ kind: fc.constant('split' as const), step: fc.nat(), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    step: fc.nat(),
    at: fc.nat(),
    data: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
);

function mutate(seed: Step[], ms: Mutation[]): Step[] {
  const steps = seed.map((s) => (s[0] === 'gap' ? s : ([s[0], Uint8Array.from(s[1])] as Step)));
  for (const m of ms) {
    const i = m.step % steps.length;
    const st = steps[i]!;
    if (st[0] === 'gap') continue;
    const [dir, data] = st;
    const at = data.length > 0 && 'at' in m ? m.at % data.length : 0;
    switch (m.kind) {
      case 'flip':
        if (data.length > 0) data[at] = m.value;
        break;
      case 'truncate':
        steps[i] = [dir, data.subarray(0, at)];
        break;
      case 'gap':
        steps[i] = ['gap', dir, data.length];
        break;
      case 'split':
        steps.splice(i, 1, [dir, data.subarray(0, at)], [dir, data.subarray(at)]);
        break;
      case 'insert':
        steps[i] = [dir, bytes(data.subarray(0, at), m.data, data.subarray(at))];
        break;
    }
  }
  return steps;
}

describe('MySQL fuzz', () => {
  test('the seeds are clean', () => {
    for (const seed of seeds) {
      const r = exercise(seed);
      assert.deepEqual(r.errors, []);
      assert.ok(r.entries > 0);
    }
  });

  test('random bytes in both directions: counted, never silently dropped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.uint8Array({ minLength: 1, maxLength: 300 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (chunks) => {
          for (const [, b] of chunks) detectMysql(0, b);
          const r = exercise(chunks.map(([d, b]) => [d as 0 | 1, b]));
          assert.ok(r.errors.length + r.entries > 0, 'garbage is reported');
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('random bytes after a login', () => {
    const login = plain.slice(0, 3);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.uint8Array({ minLength: 5, maxLength: 400 }),
        (dir, b) => {
          const r = exercise([...login, [dir as 0 | 1, b]]);
          assert.ok(r.errors.length > 0 || r.entries > 1, 'garbage is reported');
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('mutated real streams: flipped bytes, truncation, gaps, splits, insertions', () => {
    let reported = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        (k, ms) => {
          const r = exercise(mutate(seeds[k]!, ms));
          if (r.errors.length > 0) reported++;
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(reported > 0);
  });

  test('hostile lengths: huge packets and compressed packets stay within the caps', () => {
    const feed = (steps: Step[]) => {
      const ctx = context();
      const s = new MysqlSession(ctx);
      steps.forEach((st, i) => {
        if (st[0] !== 'gap') s.onData(st[0], st[1], i);
      });
      return { s, ctx };
    };
    // A 16 MiB statement: only MAX_KEPT bytes of it are held.
    const huge = bytes(u24(0xfffffe), [0], [0x03], new Uint8Array(200_000).fill(0x41));
    const a = feed([...plain.slice(0, 3), [0, huge], [0, new Uint8Array(300_000).fill(0x42)]]);
    assert.ok(a.s.buffered <= MAX_KEPT + 8, `held ${a.s.buffered}`);
    a.s.onClose(10);
    assert.deepEqual(a.ctx.errors, ['mysql: stream ended inside a message']);
    // A compressed packet over the cap is skipped, not held; the plain stream after it is lost.
    const big = bytes(u24(MAX_COMPRESSED + 1), [0], u24(0xffffff));
    const b = feed([...compressed.slice(0, 3), [0, big], [0, new Uint8Array(MAX_COMPRESSED + 1)]]);
    assert.ok(b.s.buffered <= 16, `held ${b.s.buffered}`);
    b.s.onData(1, zip(1, packet(1, ok()), false), 20);
    b.s.onClose(30);
    assert.ok(b.ctx.errors.some((e) => e.includes('exceeds')));
    // A zlib stream that inflates to more than its header says is refused.
    const bomb = deflateSync(new Uint8Array(1 << 20));
    const c = feed([...compressed.slice(0, 3), [0, bytes(u24(bomb.length), [0], u24(100), bomb)]]);
    c.s.onClose(10);
    assert.ok(
      c.ctx.errors.some((e) => e.startsWith('mysql: zlib')),
      c.ctx.errors.join(),
    );
  });
});
