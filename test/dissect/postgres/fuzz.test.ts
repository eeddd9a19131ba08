/**
 * Never-throw fuzzing: random bytes, and a conversation using most message types mutated (flipped
 * bytes, truncation, inserted bytes) and cut into random chunks with random gaps, through detection
 * and the session. Nothing may throw — an exception caught at the session boundary counts as a
 * failure here too — buffers stay bounded, and garbage is counted as a parse error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectPostgres } from '../../../src/dissect/postgres/detect.js';
import { MAX_KEEP } from '../../../src/dissect/postgres/framer.js';
import { MAX_PENDING, PostgresSession } from '../../../src/dissect/postgres/session.js';
import * as b from './build.js';
import { context } from './support.js';

/** A conversation in both directions, each side as one stream. */
const CLIENT = b.concat(
  b.sslRequest(),
  b.startup({ user: 'u', database: 'd', application_name: 'fuzz' }),
  b.saslInitial('SCRAM-SHA-256', 'n,,n=,r=abc'),
  b.saslResponse('c=biws,r=abc,p=xyz'),
  b.query('SELECT 1; SELECT 2'),
  b.parse('s', 'SELECT $1::text', [25]),
  b.describe('S', 's'),
  b.bind('p', 's', ['x', null]),
  b.execute('p', 1),
  b.execute('p'),
  b.close('P', 'p'),
  b.sync(),
  b.query('COPY t FROM STDIN'),
  b.copyData('1\ta\n'),
  b.copyDone(),
  b.functionCall(1598, ['a']),
  b.flush(),
  b.terminate(),
);
const SERVER = b.concat(
  b.single('N'),
  b.authSasl(['SCRAM-SHA-256']),
  b.authSaslContinue('r=abcdef,s=c2FsdA==,i=4096'),
  b.authSaslFinal('v=sig'),
  b.authOk(),
  b.parameterStatus('server_version', '16.2'),
  b.backendKey(1, 2),
  b.ready(),
  b.rowDescription(['a']),
  b.dataRow(['1']),
  b.commandComplete('SELECT 1'),
  b.errorResponse({ S: 'ERROR', C: '42601', M: 'x', P: '3' }),
  b.ready('E'),
  b.parseComplete(),
  b.parameterDescription([25]),
  b.rowDescription(['text']),
  b.bindComplete(),
  b.dataRow(['x']),
  b.portalSuspended(),
  b.commandComplete('SELECT 0'),
  b.closeComplete(),
  b.notification(1, 'ch', 'p'),
  b.errorResponse({ S: 'NOTICE', C: '00000', M: 'n' }, 'N'),
  b.ready('T'),
  b.copyInResponse(2),
  b.commandComplete('COPY 1'),
  b.ready(),
  b.functionResult('r'),
  b.ready(),
);

interface Cut {
  at: number;
  gap: number;
}

/** Feeds both streams interleaved, cut at `cuts` (a gap after some cuts); returns the context. */
function exercise(client: Uint8Array, server: Uint8Array, cuts: Cut[]) {
  const start = performance.now();
  detectPostgres(0, client);
  detectPostgres(1, server);
  const ctx = context();
  const s = new PostgresSession(ctx);
  const pieces = (data: Uint8Array) => {
    const points = [...new Set(cuts.map((c) => c.at % (data.length + 1)))].sort((x, y) => x - y);
    const out: { data: Uint8Array; gap: number }[] = [];
    let prev = 0;
    for (const p of [...points, data.length]) {
      const gap = cuts.find((c) => c.at % (data.length + 1) === p)?.gap ?? 0;
      if (p > prev) out.push({ data: data.subarray(prev, p), gap });
      prev = Math.max(prev, p + gap);
    }
    return out;
  };
  const a = pieces(client);
  const z = pieces(server);
  let ts = 1;
  for (let i = 0; i < Math.max(a.length, z.length); i++) {
    for (const [dir, list] of [
      [0, a],
      [1, z],
    ] as const) {
      const p = list[i];
      if (!p) continue;
      s.onData(dir, p.data, ts++);
      if (p.gap) s.onGap(dir, p.gap, ts++);
      assert.ok(s.buffered <= 2 * (MAX_KEEP + 8), `buffered ${s.buffered}`);
      assert.ok(s.pending <= MAX_PENDING);
    }
  }
  s.onEnd(0, ts);
  s.onClose(ts + 1);
  assert.deepEqual(
    ctx.errors.filter((e) => e.includes('internal')),
    [],
    'no exception inside the session',
  );
  assert.ok(performance.now() - start < 250, 'no input takes long');
  return ctx;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);

function mutate(seed: Uint8Array, ms: { kind: string; at: number; value: number }[]): Uint8Array {
  let x: Uint8Array = Uint8Array.from(seed);
  for (const m of ms) {
    const at = m.at % x.length;
    if (m.kind === 'flip') x[at] = m.value;
    else if (m.kind === 'truncate') x = x.slice(0, Math.max(at, 1));
    else x = b.concat(x.subarray(0, at), Uint8Array.from([m.value]), x.subarray(at));
  }
  return x;
}

const cuts = fc.array(
  fc.record({ at: fc.nat(), gap: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })) }),
  {
    maxLength: 8,
  },
);

describe('PostgreSQL fuzz', () => {
  test('the seed conversation is well-formed', () => {
    const ctx = exercise(CLIENT, SERVER, []);
    assert.deepEqual(ctx.errors, []);
    assert.ok(ctx.entries.length >= 5);
  });

  test('random bytes, both directions', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 600 }), cuts, (c, s, k) => {
        exercise(c, s, k);
      }),
      { numRuns: 2000 },
    );
  });

  test('garbage after the startup is a parse error', () => {
    const setup = b.startup({ user: 'u' });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 5, maxLength: 300 }), (junk) => {
        // Not a frontend message type: the framing cannot start here.
        fc.pre(!'BCdcDEHFPpQSXf'.includes(String.fromCharCode(junk[0]!)));
        const ctx = exercise(b.concat(setup, junk), b.concat(b.authOk(), b.ready()), []);
        assert.ok(ctx.errors.length >= 1);
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated conversations cut into chunks with gaps', () => {
    let errors = 0;
    fc.assert(
      fc.property(
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.array(mutation, { minLength: 0, maxLength: 6 }),
        cuts,
        (mc, ms, k) => {
          errors += exercise(mutate(CLIENT, mc), mutate(SERVER, ms), k).errors.length;
        },
      ),
      { numRuns: 3000 },
    );
    assert.ok(errors > 0);
  });

  test('random bytes are never claimed by detection', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.constantFrom(0, 1), (data, dir) => {
        assert.notEqual(detectPostgres(dir as 0 | 1, data), 'yes');
      }),
      { numRuns: 5000 },
    );
  });

  test('a length word of 1 GB streams past without being buffered', () => {
    const ctx = context();
    const s = new PostgresSession(ctx);
    s.onData(0, b.startup({ user: 'u' }), 1);
    s.onData(1, b.concat(b.authOk(), b.ready()), 2);
    s.onData(1, Uint8Array.from([0x44, 0x3f, 0xff, 0xff, 0xff, 0, 1]), 3); // DataRow of ~1 GB
    const chunk = new Uint8Array(64 << 10);
    for (let i = 0; i < 64; i++) s.onData(1, chunk, 4 + i);
    assert.ok(s.buffered < 64, `buffered ${s.buffered}`);
    s.onData(0, b.query('SELECT x'), 100);
    for (let i = 0; i < 16; i++) s.onData(0, b.concat(b.parse('', `SELECT ${'y'.repeat(1 << 16)}`)), 101 + i);
    assert.ok(s.buffered < MAX_KEEP + 64);
    s.onClose(200);
    assert.deepEqual(ctx.errors, ['postgres server: stream ended inside a message']);
  });
});
