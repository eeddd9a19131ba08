/**
 * The Redis session against the RESP specification (redis.io "Redis serialization protocol
 * specification"), case by case: every type of RESP2 and RESP3, pipelining, pub/sub in both
 * versions, inline commands, the summary columns, redaction, caps, gaps, and segment boundaries
 * anywhere (the entries must not depend on how the stream was cut).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectRedis } from '../../../src/dissect/redis/detect.js';
import { MAX_PENDING } from '../../../src/dissect/redis/session.js';
import { arr, bulk, bytes, Conn, cmd, err, int, push, simple } from './support.js';

/** Runs one client stream and one server stream, each in one piece, and returns the entries. */
function exchange(client: string, server: string) {
  return new Conn().c(client).s(server).close();
}

function only(client: string, server: string) {
  const { entries, errors } = exchange(client, server);
  assert.deepEqual(errors, []);
  assert.equal(entries.length, 1, JSON.stringify(entries));
  return entries[0]!;
}

describe('RESP2 replies', () => {
  test('SET k v / +OK: method, first key, status, sizes', () => {
    const e = only(cmd('SET', 'k', 'v'), simple('OK'));
    assert.equal(e.method, 'SET');
    assert.equal(e.path, 'k');
    assert.equal(e.status, 'OK');
    assert.deepEqual(e.request, { command: 'SET', args: ['SET', 'k', 'v'], argCount: 3 });
    assert.deepEqual(e.response, { type: 'simple', value: 'OK' });
    assert.equal(e.requestSize, cmd('SET', 'k', 'v').length);
    assert.equal(e.responseSize, 5);
    assert.equal(e.elapsedMs, 0.1);
    assert.equal(e.error, null);
  });

  test('errors keep their text and code: WRONGTYPE', () => {
    const text = 'WRONGTYPE Operation against a key holding the wrong kind of value';
    const e = only(cmd('LPUSH', 'str', 'x'), err(text));
    assert.equal(e.status, 'ERROR');
    assert.deepEqual(e.response, { type: 'error', value: text, code: 'WRONGTYPE' });
  });

  test('nil: $-1, *-1 and RESP3 _ are NIL', () => {
    assert.equal(only(cmd('GET', 'nope'), '$-1\r\n').status, 'NIL');
    assert.equal(only(cmd('BLPOP', 'l', '1'), '*-1\r\n').status, 'NIL');
    assert.equal(only(cmd('GET', 'nope'), '_\r\n').status, 'NIL');
    assert.deepEqual(only(cmd('GET', 'nope'), '_\r\n').response, { type: 'null' });
  });

  test('integers, also beyond 2^53 (kept as text)', () => {
    assert.deepEqual(only(cmd('INCR', 'n'), int(-42)).response, { type: 'integer', value: -42 });
    assert.deepEqual(only(cmd('X', 'k'), ':12345678901234567890\r\n').response, {
      type: 'integer',
      value: '12345678901234567890',
    });
  });

  test('bulk strings: value and length; an empty one', () => {
    assert.deepEqual(only(cmd('GET', 'k'), bulk('héllo')).response, {
      type: 'bulk',
      value: 'héllo',
      length: 6,
    });
    assert.deepEqual(only(cmd('GET', 'k'), '$0\r\n\r\n').response, { type: 'bulk', value: '', length: 0 });
  });

  test('arrays: count, nested values, an empty array', () => {
    const e = only(cmd('LRANGE', 'l', '0', '-1'), arr(bulk('a'), int(2), arr(bulk('x')), '$-1\r\n'));
    assert.deepEqual(e.response, { type: 'array', count: 4, value: ['a', 2, ['x'], null] });
    assert.deepEqual(only(cmd('KEYS', 'nothing*'), '*0\r\n').response, {
      type: 'array',
      count: 0,
      value: [],
    });
  });

  test('EXEC: a transaction`s queued replies', () => {
    const { entries } = exchange(
      cmd('MULTI') + cmd('INCR', 'a') + cmd('GET', 'a') + cmd('EXEC'),
      simple('OK') + simple('QUEUED') + simple('QUEUED') + arr(int(1), bulk('1')),
    );
    assert.deepEqual(
      entries.map((e) => [e.method, e.status]),
      [
        ['MULTI', 'OK'],
        ['INCR', 'OK'],
        ['GET', 'OK'],
        ['EXEC', 'OK'],
      ],
    );
    assert.deepEqual(entries[3]!.response!.value, [1, '1']);
  });
});

describe('RESP3 types', () => {
  test('map, set, double (inf, nan), big number, boolean, verbatim, blob error', () => {
    const map = `%2\r\n+first\r\n:1\r\n+second\r\n,3.5\r\n`;
    assert.deepEqual(only(cmd('HGETALL', 'h'), map).response, {
      type: 'map',
      count: 2,
      value: { first: 1, second: 3.5 },
    });
    assert.deepEqual(only(cmd('SMEMBERS', 's'), '~2\r\n+a\r\n#t\r\n').response, {
      type: 'set',
      count: 2,
      value: ['a', true],
    });
    assert.deepEqual(only(cmd('ZSCORE', 'z', 'm'), ',inf\r\n').response, { type: 'double', value: 'inf' });
    assert.deepEqual(only(cmd('ZSCORE', 'z', 'm'), ',-1.5e3\r\n').response, { type: 'double', value: -1500 });
    assert.deepEqual(only(cmd('X', 'k'), ',nan\r\n').response, { type: 'double', value: 'nan' });
    assert.deepEqual(only(cmd('X', 'k'), '(3492890328409238509324850943850943825024385\r\n').response, {
      type: 'bignum',
      value: '3492890328409238509324850943850943825024385',
    });
    assert.deepEqual(only(cmd('X', 'k'), '#f\r\n').response, { type: 'boolean', value: false });
    assert.deepEqual(only(cmd('LOLWUT'), '=15\r\ntxt:Some string\r\n').response, {
      type: 'verbatim',
      value: 'Some string',
      length: 15,
      format: 'txt',
    });
    const blob = only(cmd('X', 'k'), '!21\r\nSYNTAX invalid syntax\r\n');
    assert.equal(blob.status, 'ERROR');
    assert.deepEqual(blob.response, { type: 'blobError', value: 'SYNTAX invalid syntax', code: 'SYNTAX' });
  });

  test('attributes: before a reply, and before an element (spec examples)', () => {
    const top = only(
      cmd('X', 'k'),
      '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
    );
    assert.deepEqual(top.response, {
      type: 'array',
      count: 2,
      value: [2039123, 9543892],
      attributes: { 'key-popularity': { a: 0.1923, b: 0.0012 } },
    });
    const inner = only(cmd('X', 'k'), '*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n');
    assert.deepEqual(inner.response, {
      type: 'array',
      count: 3,
      value: [1, 2, 3],
      elementAttributes: { '2': { ttl: 3600 } },
    });
  });

  test('streamed string and streamed aggregate (spec "Streamed strings" / "aggregates")', () => {
    assert.deepEqual(only(cmd('X', 'k'), '$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n').response, {
      type: 'bulk',
      value: 'Hello word',
      length: 10,
    });
    assert.deepEqual(only(cmd('X', 'k'), '*?\r\n:1\r\n:2\r\n:3\r\n.\r\n').response, {
      type: 'array',
      count: 3,
      value: [1, 2, 3],
    });
    assert.deepEqual(only(cmd('X', 'k'), '%?\r\n+a\r\n:1\r\n.\r\n').response, {
      type: 'map',
      count: 1,
      value: { a: 1 },
    });
  });

  test('HELLO 3 and its map reply; HELLO`s AUTH password is redacted', () => {
    const e = only(
      cmd('HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'me'),
      '%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n',
    );
    assert.equal(e.method, 'HELLO');
    assert.equal(e.path, '');
    assert.deepEqual(e.request.args, ['HELLO', '3', 'AUTH', 'default', '[redacted]', 'SETNAME', 'me']);
    assert.deepEqual(e.response!.value, { server: 'redis', proto: 3 });
    assert.ok(!JSON.stringify(e).includes('s3cret'));
  });
});

describe('commands', () => {
  test('two-word container commands and keyless commands', () => {
    const cases: [string[], string, string][] = [
      [['CLIENT', 'SETNAME', 'app'], 'CLIENT SETNAME', ''],
      [['config', 'get', 'maxmemory'], 'CONFIG GET', ''],
      [['OBJECT', 'ENCODING', 'k'], 'OBJECT ENCODING', 'k'],
      [['XINFO', 'STREAM', 's'], 'XINFO STREAM', 's'],
      [['COMMAND'], 'COMMAND', ''],
      [['PING'], 'PING', ''],
      [['EVAL', 'return 1', '1', 'k1', 'a'], 'EVAL', 'k1'],
      [['EVAL', 'return 1', '0'], 'EVAL', ''],
      [['XREAD', 'COUNT', '2', 'STREAMS', 's1', 's2', '0', '0'], 'XREAD', 's1'],
      [['ZUNION', '2', 'z1', 'z2'], 'ZUNION', 'z1'],
      [['BLMPOP', '0', '1', 'l', 'LEFT'], 'BLMPOP', 'l'],
      [['MGET', 'a', 'b'], 'MGET', 'a'],
      [['PUBLISH', 'news', 'hi'], 'PUBLISH', 'news'],
      [['JSON.GET', 'doc', '$'], 'JSON.GET', 'doc'],
      [['SCAN', '0'], 'SCAN', ''],
    ];
    for (const [args, method, path] of cases) {
      const e = only(cmd(...args), simple('OK'));
      assert.deepEqual([e.method, e.path], [method, path], args.join(' '));
    }
  });

  test('AUTH passwords are never kept (RESP and inline)', () => {
    assert.deepEqual(only(cmd('AUTH', 'pw1'), simple('OK')).request.args, ['AUTH', '[redacted]']);
    assert.deepEqual(only(cmd('AUTH', 'alice', 'pw2'), simple('OK')).request.args, [
      'AUTH',
      'alice',
      '[redacted]',
    ]);
    const inline = only('AUTH pw3\r\n', simple('OK'));
    assert.deepEqual(inline.request.args, ['AUTH', '[redacted]']);
    assert.equal(inline.request.inline, true);
    const cfg = only(cmd('CONFIG', 'SET', 'requirepass', 'pw4'), simple('OK'));
    assert.deepEqual(cfg.request.args, ['CONFIG', 'SET', 'requirepass', '[redacted]']);
  });

  test('inline commands: words, quotes and escapes (sdssplitargs)', () => {
    const e = only(`set "a key" 'it\\'s' "tab\\there\\x41"\r\n`, simple('OK'));
    assert.deepEqual(e.request.args, ['set', 'a key', "it's", 'tab\thereA']);
    assert.equal(e.method, 'SET');
    assert.equal(e.path, 'a key');
  });

  test('arguments are capped: 32 kept, each cut at 256 bytes, with the count', () => {
    const big = 'x'.repeat(1000);
    const args = ['RPUSH', 'l', big, ...Array.from({ length: 50 }, (_, i) => `v${i}`)];
    const e = only(cmd(...args), int(51));
    assert.equal(e.request.argCount, 53);
    assert.equal((e.request.args as string[]).length, 32);
    assert.equal((e.request.args as string[])[2], 'x'.repeat(256));
    assert.equal(e.request.truncated, true);
    assert.equal(e.requestSize, cmd(...args).length);
  });
});

describe('pipelining and pairing', () => {
  test('replies pair with commands in order, whatever the segments', () => {
    const client = cmd('SET', 'a', '1') + cmd('GET', 'a') + cmd('GET', 'missing') + cmd('LPUSH', 'a', 'x');
    const server =
      simple('OK') +
      bulk('1') +
      '$-1\r\n' +
      err('WRONGTYPE Operation against a key holding the wrong kind of value');
    const want = [
      ['SET', 'a', 'OK'],
      ['GET', 'a', 'OK'],
      ['GET', 'missing', 'NIL'],
      ['LPUSH', 'a', 'ERROR'],
    ];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: client.length - 1 }), { maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 1, max: server.length - 1 }), { maxLength: 6 }),
        (cuts0, cuts1) => {
          const conn = new Conn();
          const parts = (s: string, cuts: number[]) => {
            const at = [0, ...cuts.sort((x, y) => x - y), s.length];
            return at.slice(1).map((end, i) => s.slice(at[i], end));
          };
          for (const p of parts(client, cuts0)) conn.c(p);
          for (const p of parts(server, cuts1)) conn.s(p);
          const { entries, errors } = conn.close();
          assert.deepEqual(errors, []);
          assert.deepEqual(
            entries.map((e) => [e.method, e.path, e.status]),
            want,
          );
          assert.equal(
            entries.reduce((n, e) => n + e.requestSize, 0),
            client.length,
          );
          assert.equal(
            entries.reduce((n, e) => n + e.responseSize, 0),
            server.length,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a command never answered is reported at close with "no response"', () => {
    const { entries } = new Conn().c(cmd('BLPOP', 'q', '0')).close();
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.response, null);
    assert.equal(entries[0]!.error, 'no response');
  });

  test('a reply that starts before any waiting command was sent: "command not captured"', () => {
    const conn = new Conn();
    conn.s(simple('OK'), 1000).c(cmd('GET', 'k'), 2000).s(bulk('v'), 3000);
    const { entries } = conn.close();
    assert.deepEqual(
      entries.map((e) => [e.method, e.status, e.error]),
      [
        ['', 'OK', 'command not captured'],
        ['GET', 'OK', null],
      ],
    );
  });

  test(`more than ${MAX_PENDING} commands waiting: the oldest are reported early, later pairs stay right`, () => {
    const n = MAX_PENDING + 300;
    const conn = new Conn();
    let c = '';
    let s = '';
    for (let i = 0; i < n; i++) {
      c += cmd('GET', `k${i}`);
      s += bulk(`v${i}`);
    }
    conn.c(c).s(s);
    const { entries } = conn.close();
    assert.equal(entries.length, n);
    const early = entries.filter((e) => e.error !== null);
    assert.equal(early.length, 300);
    for (const e of entries.filter((x) => x.error === null)) {
      assert.equal(e.response!.value, `v${e.path.slice(1)}`, e.path);
    }
    assert.ok(conn.session.footprint.pending <= MAX_PENDING);
    assert.ok(early.every((e) => e.error === 'no reply tracked (too many commands waiting)'));
  });

  test('big pipelined commands: the pending budget in bytes pushes the oldest out first', () => {
    const conn = new Conn();
    const value = 'x'.repeat(300);
    let c = '';
    let s = '';
    for (let i = 0; i < 500; i++) {
      c += cmd('MSET', ...Array.from({ length: 16 }, (_, j) => [`k${i}.${j}`, value]).flat());
      s += simple('OK');
    }
    conn.c(c);
    assert.ok(conn.session.footprint.pending < 500);
    conn.s(s);
    const { entries } = conn.close();
    assert.equal(entries.length, 500);
    assert.ok(entries.some((e) => e.error !== null));
    assert.ok(entries.filter((e) => e.error === null).every((e) => e.status === 'OK'));
  });
});

describe('pub/sub', () => {
  test('RESP2: SUBSCRIBE a b takes its two confirmations; messages are entries of their own', () => {
    const conn = new Conn();
    conn.c(cmd('SUBSCRIBE', 'a', 'b'));
    conn.s(arr(bulk('subscribe'), bulk('a'), int(1)) + arr(bulk('subscribe'), bulk('b'), int(2)));
    conn.s(arr(bulk('message'), bulk('a'), bulk('hello')));
    conn.c(cmd('PSUBSCRIBE', 'n*'));
    conn.s(
      arr(bulk('pmessage'), bulk('n*'), bulk('news'), bulk('x')) +
        arr(bulk('psubscribe'), bulk('n*'), int(3)),
    );
    conn.c(cmd('PING'));
    conn.s(arr(bulk('pong'), bulk('')));
    conn.c(cmd('UNSUBSCRIBE'));
    conn.s(arr(bulk('unsubscribe'), bulk('a'), int(2)) + arr(bulk('unsubscribe'), bulk('b'), int(1)));
    const { entries, errors } = conn.close();
    assert.deepEqual(errors, []);
    const rows = entries.map((e) => [e.method, e.path, e.status, e.src.port]);
    assert.deepEqual(rows, [
      ['SUBSCRIBE', 'a', 'OK', 40000],
      ['MESSAGE', 'a', null, 6379],
      ['PMESSAGE', 'news', null, 6379],
      ['PSUBSCRIBE', 'n*', 'OK', 40000],
      ['PING', '', 'OK', 40000],
      ['UNSUBSCRIBE', '', 'OK', 40000],
    ]);
    assert.deepEqual(entries[0]!.response!.confirmations, [
      ['subscribe', 'a', 1],
      ['subscribe', 'b', 2],
    ]);
    assert.deepEqual(entries[1]!.request, {
      kind: 'message',
      push: false,
      channel: 'a',
      payload: 'hello',
      payloadSize: 5,
    });
    assert.deepEqual(entries[2]!.request.pattern, 'n*');
    assert.deepEqual(entries[4]!.response!.value, ['pong', '']);
    assert.equal((entries[5]!.response!.confirmations as unknown[]).length, 2);
  });

  test('RESP2: an array that reads like a message is a plain reply when not subscribed', () => {
    const e = only(cmd('LRANGE', 'l', '0', '-1'), arr(bulk('message'), bulk('a'), bulk('b')));
    assert.equal(e.method, 'LRANGE');
    assert.equal(e.response!.count, 3);
  });

  test('RESP3: push messages and confirmations; regular replies in between', () => {
    const conn = new Conn();
    conn.c(cmd('SUBSCRIBE', 'Foo'));
    conn.s(push(bulk('subscribe'), bulk('Foo'), int(1)));
    conn.c(cmd('SET', 'k', 'v'));
    conn.s(push(bulk('message'), bulk('Foo'), bulk('Hi:)')) + simple('OK'));
    conn.s(push(bulk('invalidate'), arr(bulk('k1'))));
    const { entries } = conn.close();
    assert.deepEqual(
      entries.map((e) => [e.method, e.path, e.status]),
      [
        ['SUBSCRIBE', 'Foo', 'OK'],
        ['MESSAGE', 'Foo', null],
        ['SET', 'k', 'OK'],
        ['INVALIDATE', 'k1', null],
      ],
    );
    assert.equal(entries[1]!.request.push, true);
    assert.deepEqual(entries[3]!.request.keys, ['k1']);
  });

  test('MONITOR: the command feed after +OK is entries of their own', () => {
    const conn = new Conn();
    conn.c(cmd('MONITOR'));
    conn.s(simple('OK'));
    conn.s(simple('1700000000.123456 [0 127.0.0.1:5000] "GET" "k"'));
    const { entries } = conn.close();
    assert.deepEqual(
      entries.map((e) => e.method),
      ['MONITOR', 'MONITOR'],
    );
    assert.equal(entries[1]!.src.port, 6379);
  });
});

describe('caps, gaps and garbage', () => {
  test('a 1 MB bulk reply: 256 bytes kept, the length recorded, nothing buffered', () => {
    const conn = new Conn();
    conn.c(cmd('GET', 'big'));
    const body = 'y'.repeat(1 << 20);
    const wire = bytes(bulk(body));
    for (let i = 0; i < wire.length; i += 1400) conn.s(wire.subarray(i, i + 1400));
    const before = conn.session.footprint.retained;
    const { entries } = conn.close();
    assert.deepEqual(entries[0]!.response, {
      type: 'bulk',
      value: 'y'.repeat(256),
      length: 1 << 20,
      truncated: true,
    });
    assert.equal(entries[0]!.responseSize, wire.length);
    assert.ok(before < 16 * 1024, `retained ${before}`);
  });

  test('a 100,000-element array: 32 kept, the count recorded', () => {
    const e = only(cmd('KEYS', '*'), `*100000\r\n${bulk('k').repeat(100000)}`);
    assert.equal(e.response!.count, 100000);
    assert.equal((e.response!.value as unknown[]).length, 32);
    assert.equal(e.response!.truncated, true);
  });

  test('a gap in the replies: waiting commands are reported, parsing resumes at a reply start', () => {
    const conn = new Conn();
    conn.c(cmd('GET', 'a') + cmd('GET', 'b'));
    conn.s('$10\r\n01234');
    conn.session.onGap(1, 500, conn.ts);
    conn.s('garbage that is not a reply');
    conn.c(cmd('GET', 'c'));
    conn.s(bulk('c-value'));
    const { entries, errors } = conn.close();
    assert.deepEqual(
      entries.map((e) => [e.path, e.status, e.error?.replace(/\d+ bytes/, 'N bytes') ?? null]),
      [
        ['a', null, 'response lost in a gap of N bytes'],
        ['b', null, 'response lost in a gap of N bytes'],
        ['c', 'OK', null],
      ],
    );
    assert.equal(errors.length, 1, 'the cut reply is counted');
  });

  test('garbage from the server is a parse error, and parsing resumes at the next reply', () => {
    const conn = new Conn();
    conn.c(cmd('PING')).s(simple('PONG'));
    conn.c(cmd('GET', 'a'));
    conn.s('@@@ not resp\r\n');
    conn.c(cmd('GET', 'b'));
    conn.s(bulk('b'));
    const { entries, errors } = conn.close();
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /unknown type byte '@'/);
    assert.deepEqual(
      entries.map((e) => [e.path, e.status]),
      [
        ['', 'OK'],
        ['a', null],
        ['b', 'OK'],
      ],
    );
  });

  test('a capture that starts inside a message: skipped without error up to a plausible start', () => {
    const conn = new Conn();
    conn.s('lo world\r\n'); // the end of a bulk string whose start the capture missed
    conn.c('\r\n$5\r\nhello\r\n'); // the end of a command
    conn.c(cmd('GET', 'k')).s(bulk('v'));
    const { entries, errors } = conn.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(
      entries.map((e) => [e.method, e.status]),
      [['GET', 'OK']],
    );
  });

  test('lines longer than the protocol allows are parse errors (no unbounded buffering)', () => {
    const conn = new Conn();
    conn.c(cmd('PING')).s(simple('PONG'));
    conn.c(cmd('GET', 'a'));
    conn.s(`+${'z'.repeat(70 * 1024)}`);
    assert.equal(conn.ctx.errors.length, 1);
    const conn2 = new Conn();
    conn2.c(cmd('PING'));
    conn2.c(`GET ${'w'.repeat(70 * 1024)}`);
    assert.equal(conn2.ctx.errors.length, 1);
    conn2.s(simple('PONG'));
    conn2.s('*999999999999\r\n');
    assert.equal(conn2.ctx.errors.length, 2);
    assert.ok(conn2.session.footprint.retained < 16 * 1024);
  });
});

describe('detection', () => {
  const d = (dir: 0 | 1, s: string) => detectRedis(dir, bytes(s));
  test('clients', () => {
    assert.equal(d(0, cmd('GET', 'k')), 'yes');
    assert.equal(d(0, '*2\r\n$3\r\nGE'), 'yes');
    assert.equal(d(0, '*2\r'), 'more');
    assert.equal(d(0, 'SET k v\r\n'), 'yes');
    assert.equal(d(0, 'PING\r\n'), 'more', 'NATS clients send PING too');
    assert.equal(d(0, 'PING\r\nSET k v\r\n'), 'yes');
    assert.equal(d(0, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'no');
    assert.equal(d(0, 'CONNECT {"verbose":false}\r\n'), 'more', 'an unknown word waits for the server');
    assert.equal(d(0, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), 'no');
    assert.equal(d(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), 'no');
    assert.equal(d(0, '*2\r\n:1\r\n'), 'no');
  });
  test('servers', () => {
    assert.equal(d(1, '+PONG\r\n'), 'yes');
    assert.equal(d(1, '+OK\r\n'), 'more', 'NATS servers send +OK too');
    assert.equal(d(1, "-ERR 'Unknown Protocol Operation'\r\n"), 'more');
    assert.equal(d(1, '-WRONGTYPE Operation\r\n'), 'yes');
    assert.equal(d(1, '$5\r\nhello\r\n'), 'yes');
    assert.equal(d(1, '%2\r\n'), 'yes');
    assert.equal(
      d(1, 'HTTP/1.1 200 OK\r\n'),
      'more',
      'not RESP at the start: maybe a reply cut by the capture',
    );
    assert.equal(d(1, `INFO {"server_id":"x"}\r\n${'x'.repeat(5000)}`), 'no');
    assert.equal(d(1, ':12x\r\n'), 'no');
  });
});
