/**
 * The NATS session against the client protocol's documentation (docs.nats.io "Client Protocol"),
 * case by case: each operation's fields, verbose acknowledgements, PING/PONG both ways, headers,
 * case-insensitive verbs, big and binary payloads, errors (refused CONNECT, unknown operations,
 * asynchronous -ERR), gaps and garbage, and segment boundaries anywhere.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { detectNats } from '../../../src/dissect/nats/detect.js';
import { MAX_PENDING } from '../../../src/dissect/nats/session.js';
import { Conn, INFO } from './support.js';

const VERBOSE = 'CONNECT {"verbose":true,"name":"t","lang":"node","version":"1","headers":true}\r\n';
const QUIET = 'CONNECT {"verbose":false,"name":"t","lang":"node","version":"1"}\r\n';

describe('operations and their fields', () => {
  test('verbose: +OK pairs in order with CONNECT, SUB, PUB, HPUB, UNSUB', () => {
    const client =
      VERBOSE +
      'SUB foo q1 1\r\n' +
      'PUB foo reply.1 5\r\nhello\r\n' +
      'HPUB foo 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n' +
      'UNSUB 1 10\r\n';
    const server = INFO + '+OK\r\n'.repeat(5);
    const conn = new Conn().s(INFO).c(client).s(server.slice(INFO.length)).close();
    assert.deepEqual(conn.errors, []);
    assert.deepEqual(conn.rows(), [
      ['INFO', '', null],
      ['CONNECT', '', '+OK'],
      ['SUB', 'foo', '+OK'],
      ['PUB', 'foo', '+OK'],
      ['HPUB', 'foo', '+OK'],
      ['UNSUB', 'foo', '+OK'],
    ]);
    const [, connect, sub, pub, hpub, unsub] = conn.entries;
    assert.deepEqual(connect!.request.options, {
      verbose: true,
      name: 't',
      lang: 'node',
      version: '1',
      headers: true,
    });
    assert.deepEqual(sub!.request, { subject: 'foo', queueGroup: 'q1', sid: '1' });
    assert.deepEqual(pub!.request, { subject: 'foo', replyTo: 'reply.1', payloadSize: 5, payload: 'hello' });
    assert.equal(pub!.requestSize, 'PUB foo reply.1 5\r\nhello\r\n'.length);
    assert.deepEqual(hpub!.request, {
      subject: 'foo',
      headerSize: 22,
      totalSize: 33,
      headers: { version: '1.0', headers: { Bar: 'Baz' } },
      payloadSize: 11,
      payload: 'Hello NATS!',
    });
    assert.deepEqual(unsub!.request, { sid: '1', maxMsgs: 10, subject: 'foo' });
    assert.deepEqual(pub!.response, { verb: '+OK' });
    assert.equal(pub!.responseSize, 5);
    assert.equal(pub!.elapsedMs, 0.1);
  });

  test('the same entries however the streams are cut', () => {
    const client = `${VERBOSE}SUB a 1\r\nPUB a 3\r\nabc\r\nPING\r\nhpub a r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n`;
    const server = `${INFO}+OK\r\n+OK\r\n+OK\r\nMSG a 1 3\r\nabc\r\nPONG\r\n+OK\r\nHMSG a 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n`;
    const want = new Conn().s(server.slice(0, INFO.length)).c(client).s(server.slice(INFO.length)).close();
    assert.deepEqual(want.errors, []);
    assert.deepEqual(want.rows(), [
      ['INFO', '', null],
      ['CONNECT', '', '+OK'],
      ['SUB', 'a', '+OK'],
      ['PUB', 'a', '+OK'],
      ['MSG', 'a', null],
      ['PING', '', null],
      ['HPUB', 'a', '+OK'],
      ['HMSG', 'a', null],
    ]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), (cuts) => {
        const conn = new Conn();
        const pieces = (s: string) => {
          const out: string[] = [];
          for (let pos = 0, i = 0; pos < s.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(s.slice(pos, pos + n));
            pos += n;
          }
          return out;
        };
        conn.s(server.slice(0, INFO.length));
        for (const p of pieces(client)) conn.c(p, 2000);
        for (const p of pieces(server.slice(INFO.length))) conn.s(p, 3000);
        conn.close();
        assert.deepEqual(conn.errors, []);
        assert.deepEqual(conn.rows(), want.rows());
        assert.deepEqual(
          conn.entries.map((e) => [e.request, e.requestSize, e.responseSize]),
          want.entries.map((e) => [e.request, e.requestSize, e.responseSize]),
        );
      }),
      { numRuns: 200 },
    );
  });

  test('verbs are case-insensitive; fields may be separated by several spaces or tabs', () => {
    const conn = new Conn()
      .s(INFO)
      .c('connect {"verbose":false}\r\npub  foo\t 2\r\nhi\r\nSub bar 9\r\nping\r\n')
      .s('pong\r\n')
      .close();
    assert.deepEqual(conn.errors, []);
    assert.deepEqual(conn.rows(), [
      ['INFO', '', null],
      ['CONNECT', '', null],
      ['PUB', 'foo', null],
      ['SUB', 'bar', null],
      ['PING', '', null],
    ]);
    assert.deepEqual(conn.entries[4]!.response, { verb: 'PONG' });
  });

  test('MSG and HMSG go from the server to the client; a no-responders status header', () => {
    const conn = new Conn()
      .s(`${INFO}MSG foo 1 _INBOX.x 2\r\nhi\r\nHMSG _INBOX.x 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\n`)
      .close();
    const [, msg, hmsg] = conn.entries;
    assert.equal(msg!.src.port, 4222);
    assert.equal(msg!.dst.port, 41000);
    assert.deepEqual(msg!.request, {
      subject: 'foo',
      sid: '1',
      replyTo: '_INBOX.x',
      payloadSize: 2,
      payload: 'hi',
    });
    assert.deepEqual(hmsg!.request, {
      subject: '_INBOX.x',
      sid: '2',
      headerSize: 16,
      totalSize: 16,
      headers: { version: '1.0', status: 503, headers: {} },
      payloadSize: 0,
    });
  });

  test('CONNECT credentials are redacted', () => {
    const conn = new Conn()
      .s(INFO)
      .c(
        'CONNECT {"verbose":false,"user":"bob","pass":"pw1","auth_token":"t0k","nkey":"UAB","sig":"c2ln","jwt":"eyJ"}\r\n',
      )
      .close();
    const o = conn.entries[1]!.request.options as Record<string, unknown>;
    assert.deepEqual(o, {
      verbose: false,
      user: 'bob',
      pass: '[redacted]',
      auth_token: '[redacted]',
      nkey: '[redacted]',
      sig: '[redacted]',
      jwt: '[redacted]',
    });
    for (const secret of ['pw1', 't0k', 'UAB', 'c2ln', 'eyJ'])
      assert.ok(!JSON.stringify(conn.entries).includes(secret));
  });
});

describe('answers', () => {
  test('PING from the server pairs with the client`s PONG', () => {
    const conn = new Conn().s(INFO).c(QUIET).s('PING\r\n').c('PONG\r\n').close();
    const ping = conn.entries.find((e) => e.method === 'PING')!;
    assert.equal(ping.src.port, 4222);
    assert.deepEqual(ping.response, { verb: 'PONG' });
  });

  test('verbose: a -ERR in place of +OK is that operation`s status; asynchronous errors are their own', () => {
    const conn = new Conn()
      .s(INFO)
      .c(`${VERBOSE}PUB denied 1\r\nx\r\nSUB ok 1\r\n`)
      .s("+OK\r\n-ERR 'Slow Consumer'\r\n-ERR 'Permissions Violation for Publish to \"denied\"'\r\n+OK\r\n")
      .close();
    assert.deepEqual(conn.rows(), [
      ['INFO', '', null],
      ['CONNECT', '', '+OK'],
      ['-ERR', '', '-ERR'],
      ['PUB', 'denied', '-ERR'],
      ['SUB', 'ok', '+OK'],
    ]);
    assert.deepEqual(conn.entries[3]!.response, {
      verb: '-ERR',
      error: 'Permissions Violation for Publish to "denied"',
    });
    assert.deepEqual(conn.entries[2]!.response, { verb: '-ERR', error: 'Slow Consumer' });
    assert.equal(conn.entries[2]!.src.port, 4222);
  });

  test('a refused non-verbose CONNECT takes the -ERR; operations after it are reported after it', () => {
    const conn = new Conn()
      .s(INFO)
      .c(`${QUIET}PUB a 1\r\nx\r\nPING\r\n`)
      .s("-ERR 'Authorization Violation'\r\n")
      .close();
    assert.deepEqual(conn.rows(), [
      ['INFO', '', null],
      ['CONNECT', '', '-ERR'],
      ['PUB', 'a', null],
      ['PING', '', null],
    ]);
    assert.equal(conn.entries[3]!.error, 'no PONG');
  });

  test('an unknown operation waits for -ERR (and is counted); the server closes', () => {
    const conn = new Conn()
      .s(INFO)
      .c(`${QUIET}FOO bar\r\n`)
      .s("-ERR 'Unknown Protocol Operation'\r\n")
      .close();
    assert.deepEqual(conn.rows().slice(1), [
      ['CONNECT', '', null],
      ['FOO', '', '-ERR'],
    ]);
    assert.equal(conn.errors.length, 1);
  });

  test('+OK without a waiting operation: verbose mode inferred, later ones pair', () => {
    const conn = new Conn().c('PUB a 1\r\nx\r\n').s('+OK\r\n').c('PUB b 1\r\ny\r\n').s('+OK\r\n').close();
    assert.deepEqual(conn.rows(), [
      ['PUB', 'a', null],
      ['+OK', '', '+OK'],
      ['PUB', 'b', '+OK'],
    ]);
    assert.equal(conn.entries[1]!.error, 'no operation seen');
  });

  test(`more than ${MAX_PENDING} operations waiting: the oldest are reported, later pairs stay right`, () => {
    const conn = new Conn().s(INFO).c(VERBOSE).s('+OK\r\n');
    let ops = '';
    let acks = '';
    for (let i = 0; i < MAX_PENDING + 100; i++) {
      ops += `SUB s.${i} ${i}\r\n`;
      acks += i % 7 === 3 ? "-ERR 'Invalid Subject'\r\n" : '+OK\r\n';
    }
    conn.c(ops).s(acks).close();
    const subs = conn.entries.filter((e) => e.method === 'SUB');
    assert.equal(subs.length, MAX_PENDING + 100);
    assert.equal(subs.filter((e) => e.error !== null).length, 100);
    for (const e of subs.filter((x) => x.error === null)) {
      const i = Number(e.request.sid);
      assert.equal(e.status, i % 7 === 3 ? '-ERR' : '+OK', `sid ${i}`);
    }
  });
});

describe('payloads, gaps, garbage', () => {
  test('a 2 MB payload is skipped: 256 bytes kept, sizes exact, little held', () => {
    const conn = new Conn().s(INFO).c(QUIET);
    const payload = Buffer.alloc(2 << 20, 0x61);
    const wire = Buffer.concat([
      Buffer.from(`PUB big ${payload.length}\r\n`),
      payload,
      Buffer.from('\r\nPING\r\n'),
    ]);
    let maxHeld = 0;
    for (let i = 0; i < wire.length; i += 1460) {
      conn.c(wire.subarray(i, i + 1460));
      maxHeld = Math.max(maxHeld, conn.session.footprint.retained);
    }
    conn.s('PONG\r\n').close();
    const pub = conn.entries.find((e) => e.method === 'PUB')!;
    assert.equal(pub.request.payloadSize, 2 << 20);
    assert.equal(pub.request.payload, 'a'.repeat(256));
    assert.equal(pub.request.payloadTruncated, true);
    assert.equal(pub.requestSize, wire.length - 'PING\r\n'.length);
    assert.ok(maxHeld < 8192, `held ${maxHeld}`);
  });

  test('a binary payload is shown in base64', () => {
    const conn = new Conn()
      .s(INFO)
      .c(QUIET)
      .c(Buffer.concat([Buffer.from('PUB b 3\r\n'), Buffer.from([0xff, 0x00, 0xfe]), Buffer.from('\r\n')]))
      .close();
    const pub = conn.entries.find((e) => e.method === 'PUB')!;
    assert.equal(pub.request.payload, Buffer.from([0xff, 0x00, 0xfe]).toString('base64'));
    assert.equal(pub.request.payloadEncoding, 'base64');
  });

  test('a payload not followed by CRLF is a parse error; reading resumes at the next operation', () => {
    const conn = new Conn().s(INFO).c(`${QUIET}PUB a 2\r\nabc\r\nnot an op\r\nPUB b 1\r\nx\r\n`).close();
    assert.equal(conn.errors.length, 1);
    assert.match(conn.errors[0]!, /not followed by CRLF/);
    assert.deepEqual(
      conn.rows().filter((r) => r[0] === 'PUB'),
      [['PUB', 'b', null]],
    );
  });

  test('malformed sizes and control lines beyond 64 KiB are parse errors', () => {
    const conn = new Conn().s(INFO).c(`${QUIET}PUB a lots\r\n`);
    assert.equal(conn.errors.length, 1);
    conn.c(`PUB ${'x'.repeat(70 * 1024)}`);
    assert.equal(conn.errors.length, 2);
    assert.ok(conn.session.footprint.retained <= 70 * 1024);
  });

  test('a capture that starts inside a payload: lines are skipped, without error, up to a verb', () => {
    const conn = new Conn()
      .s('lo world\r\nMSG a 1 2\r\nhi\r\n')
      .c('ng payload\r\nPING\r\n')
      .s('PONG\r\n')
      .close();
    assert.deepEqual(conn.errors, []);
    assert.deepEqual(conn.rows(), [
      ['MSG', 'a', null],
      ['PING', '', null],
    ]);
  });

  test('a gap in the server stream: waiting operations are reported; reading resumes at a verb', () => {
    const conn = new Conn().s(INFO).c(`${VERBOSE}PUB a 1\r\nx\r\n`).s('+OK\r\nMSG a 1 1');
    conn.session.onGap(1, 300, conn.ts);
    conn.s('0\r\nxyz\r\nMSG a 1 1\r\ny\r\n').close();
    assert.deepEqual(
      conn.rows().map((r) => r.slice(0, 2)),
      [
        ['INFO', ''],
        ['CONNECT', ''],
        ['PUB', 'a'],
        ['MSG', 'a'],
      ],
    );
    assert.match(conn.entries[2]!.error!, /gap/);
    assert.equal(conn.errors.length, 1, 'the MSG cut by the gap');
  });
});

describe('detection', () => {
  const d = (dir: 0 | 1, s: string) => detectNats(dir, Buffer.from(s, 'latin1'));
  test('servers and clients', () => {
    assert.equal(d(1, INFO), 'yes');
    assert.equal(d(1, 'INFO {"server_id":"abc'), 'yes');
    assert.equal(d(1, 'INF'), 'more');
    assert.equal(d(1, 'MSG a.b 1 5\r\nhello\r\n'), 'yes');
    assert.equal(d(1, '+OK\r\n'), 'more', 'Redis servers send +OK too');
    assert.equal(d(1, "-ERR 'Unknown Protocol Operation'\r\n"), 'yes');
    assert.equal(d(1, '+PONG\r\n'), 'more', 'not NATS at the start: maybe a payload cut by the capture');
    assert.equal(d(1, `+PONG\r\n${'x'.repeat(5000)}`), 'no');
    assert.equal(d(0, QUIET), 'yes');
    assert.equal(d(0, 'PING\r\n'), 'more', 'Redis inline PING too');
    assert.equal(d(0, 'PING\r\nPUB a 1\r\n'), 'yes');
    assert.equal(d(0, 'sub foo 1\r\n'), 'yes');
    assert.equal(d(0, '*1\r\n$4\r\nPING\r\n'), 'no');
    assert.equal(d(0, 'GET / HTTP/1.1\r\n'), 'no');
    assert.equal(d(0, 'PUB foo bar\r\n'), 'no');
    assert.equal(d(0, '\x16\x03\x01\x00'), 'no');
  });
});
