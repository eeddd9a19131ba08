/**
 * The PostgreSQL session on conversations written from the specification (PostgreSQL docs chapter
 * 55): the startup and its encryption requests, simple and extended queries, pipelining and the
 * skip-to-Sync after an error, COPY, notifications, function calls, and what gaps do.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { detectPostgres } from '../../../src/dissect/postgres/detect.js';
import { MAX_PENDING } from '../../../src/dissect/postgres/session.js';
import * as b from './build.js';
import { CLIENT, converse, SERVER, type Step } from './support.js';

const STARTUP: Step[] = [
  [0, b.startup({ user: 'alice', database: 'shop', application_name: 'app', client_encoding: 'UTF8' })],
  [1, b.concat(b.authOk(), b.parameterStatus('server_version', '16.2'), b.backendKey(4242, 99), b.ready())],
];

describe('startup', () => {
  test('SSLRequest refused, SCRAM authentication: one STARTUP entry, no secret kept', () => {
    const secret = 'c=biws,r=clientnonce,p=SECRETPROOF';
    const { ctx } = converse([
      [0, b.sslRequest()],
      [1, b.single('N')],
      [0, b.startup({ user: 'alice', database: 'shop', options: '-c search_path=x' })],
      [1, b.authSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'])],
      [0, b.saslInitial('SCRAM-SHA-256', 'n,,n=,r=SECRETNONCE')],
      [1, b.authSaslContinue('r=SECRETNONCEserver,s=salt,i=4096')],
      [0, b.saslResponse(secret)],
      [1, b.concat(b.authSaslFinal('v=SIG'), b.authOk(), b.parameterStatus('server_version', '16.2'))],
      [1, b.concat(b.backendKey(4242, 99), b.ready())],
    ]);
    assert.deepEqual(ctx.errors, []);
    assert.equal(ctx.entries.length, 1);
    const e = ctx.entries[0]!;
    assert.equal(e.method, 'STARTUP');
    assert.equal(e.path, 'shop');
    assert.equal(e.status, 'OK');
    assert.equal(e.request.user, 'alice');
    assert.equal(e.request.options, '-c search_path=x');
    assert.deepEqual(e.request.encryptionRequests, [{ request: 'SSL', answer: 'N' }]);
    assert.deepEqual(e.request.messages, ['StartupMessage', 'SASLInitialResponse', 'SASLResponse']);
    assert.equal(e.response!.authMethod, 'SCRAM-SHA-256');
    assert.deepEqual(e.response!.saslMechanisms, ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    assert.deepEqual(e.response!.authentication, ['SASL', 'SASLContinue', 'SASLFinal', 'Ok']);
    assert.equal(e.response!.backendPid, 4242);
    assert.equal((e.response!.parameters as Record<string, string>).server_version, '16.2');
    const json = JSON.stringify(e);
    for (const s of ['SECRET', 'clientnonce', '"99"', 'salt']) assert.ok(!json.includes(s), s);
    assert.equal(e.elapsedMs, 1, 'from the StartupMessage to the first Authentication');
    assert.equal((ctx.annotations.postgres as { user: string }).user, 'alice');
  });

  test('a password is never stored; authentication failure gives its SQLSTATE', () => {
    const { ctx } = converse([
      [0, b.startup({ user: 'bob' })],
      [1, b.authMd5()],
      [0, b.password('md5hunter2')],
      [
        1,
        b.errorResponse({
          S: 'FATAL',
          V: 'FATAL',
          C: '28P01',
          M: 'password authentication failed for user "bob"',
        }),
      ],
    ]);
    const e = ctx.entries[0]!;
    assert.equal(e.status, '28P01');
    assert.equal(e.path, 'bob', 'the database defaults to the user name');
    assert.equal(e.response!.authMethod, 'md5');
    assert.ok(!JSON.stringify(e).includes('hunter2'));
  });

  test('SSLRequest answered S: TLS takes over with the bytes after the S', () => {
    const hello = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5];
    const { ctx, session } = converse(
      [
        [0, b.sslRequest()],
        [1, Uint8Array.from([0x53, 0x16, 0x03, 0x03])],
      ],
      false,
    );
    session.onData(0, Uint8Array.from(hello), 5_000_000);
    assert.equal(ctx.entries.length, 1);
    assert.equal(ctx.entries[0]!.method, 'SSLREQUEST');
    assert.equal(ctx.entries[0]!.status, 'S');
    assert.deepEqual(
      ctx.switched.map((s) => s.name),
      ['tls'],
    );
    assert.deepEqual(ctx.switched[0]!.data[1], [0x16, 0x03, 0x03]);
    assert.deepEqual(ctx.errors, []);
  });

  test('GSSENCRequest answered G: the rest is not parsed', () => {
    const { ctx } = converse([
      [0, b.gssencRequest()],
      [1, b.single('G')],
      [0, Uint8Array.from([0, 0, 0, 9, 1, 2, 3, 4, 5])],
    ]);
    assert.deepEqual(
      ctx.entries.map((e) => [e.method, e.status]),
      [['GSSENCREQUEST', 'G']],
    );
    assert.deepEqual(ctx.errors, []);
  });

  test('CancelRequest: a CANCEL entry with the pid, without the secret key', () => {
    const { ctx } = converse([[0, b.cancelRequest(777, 0x5ec7e7)]]);
    const e = ctx.entries[0]!;
    assert.deepEqual([e.method, e.request.pid, e.response, e.error], ['CANCEL', 777, null, null]);
    assert.ok(!JSON.stringify(e).includes(String(0x5ec7e7)));
  });
});

describe('simple query', () => {
  test('several statements in one Query: one entry, results listed, stopped by the error', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.query("INSERT INTO t VALUES (1),(2); SELECT * FROM t; SELECT 1/0; SELECT 'never'")],
      [
        1,
        b.concat(
          b.commandComplete('INSERT 0 2'),
          b.rowDescription(['id']),
          b.dataRow(['1']),
          b.dataRow(['2']),
          b.commandComplete('SELECT 2'),
          b.rowDescription(['?column?']),
          b.errorResponse({ S: 'ERROR', V: 'ERROR', C: '22012', M: 'division by zero' }),
          b.ready('I'),
        ),
      ],
    ]);
    const e = ctx.entries[1]!;
    assert.equal(e.method, 'INSERT');
    assert.equal(e.status, '22012');
    assert.deepEqual(
      (e.response!.results as { tag: string; rows: number; rowsReturned: number }[]).map((r) => [
        r.tag,
        r.rows,
        r.rowsReturned,
      ]),
      [
        ['INSERT 0 2', 2, 0],
        ['SELECT 2', 2, 2],
      ],
    );
    assert.equal(e.response!.rowsReturned, 2);
    assert.equal((e.response!.error as { message: string }).message, 'division by zero');
    assert.equal(e.response!.transactionStatus, 'idle');
  });

  test('EmptyQueryResponse, notices, ParameterStatus after SET', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.query('  ')],
      [1, b.concat(b.emptyQuery(), b.ready())],
      [0, b.query('/* c */ -- line\n SET application_name = x')],
      [
        1,
        b.concat(
          b.errorResponse({ S: 'WARNING', V: 'WARNING', C: '01000', M: 'careful' }, 'N'),
          b.commandComplete('SET'),
          b.parameterStatus('application_name', 'x'),
          b.ready(),
        ),
      ],
    ]);
    const [, empty, set] = ctx.entries;
    assert.deepEqual([empty!.method, empty!.status, empty!.response!.tag], ['', 'OK', '']);
    assert.equal(set!.method, 'SET', 'comments before the keyword are skipped');
    assert.deepEqual(set!.response!.parameterStatus, { application_name: 'x' });
    assert.equal((set!.response!.notices as { code: string }[])[0]!.code, '01000');
  });

  test('statement text is capped at 4 KiB with its full length, and memory stays bounded', () => {
    const long = `SELECT '${'x'.repeat(600_000)}'`;
    const msg = b.query(long);
    const ctx0 = converse(STARTUP, false);
    const { ctx, session } = ctx0;
    let peak = 0;
    for (let at = 0; at < msg.length; at += 1400) {
      session.onData(0, msg.subarray(at, at + 1400), 2_000_000);
      peak = Math.max(peak, session.buffered);
    }
    session.onData(
      1,
      b.concat(b.rowDescription(['?column?'], 25), b.commandComplete('SELECT 1'), b.ready()),
      2_100_000,
    );
    session.onClose(3_000_000);
    assert.ok(peak <= (256 << 10) + 16, `buffered ${peak}`);
    const e = ctx.entries[1]!;
    assert.equal(e.request.queryLength, long.length);
    assert.equal(e.path.length, 4096);
    assert.equal(e.request.queryTruncated, true);
    assert.equal(e.status, 'OK');
  });
});

describe('extended query', () => {
  test('Parse/Bind/Describe/Execute/Sync: one execute entry with text, parameters and rows', () => {
    const { ctx } = converse([
      ...STARTUP,
      [
        0,
        b.concat(
          b.parse('', 'SELECT name FROM users WHERE id = $1', [23]),
          b.bind('', '', ['42']),
          b.describe('P', ''),
          b.execute(),
          b.sync(),
        ),
        2_000_000,
      ],
      [
        1,
        b.concat(
          b.parseComplete(),
          b.bindComplete(),
          b.rowDescription(['name'], 25),
          b.dataRow(['ann']),
          b.commandComplete('SELECT 1'),
          b.ready(),
        ),
        2_000_250,
      ],
    ]);
    assert.equal(ctx.entries.length, 2);
    const e = ctx.entries[1]!;
    assert.deepEqual(
      [e.method, e.path, e.status, e.elapsedMs],
      ['SELECT', 'SELECT name FROM users WHERE id = $1', 'OK', 0.25],
    );
    assert.equal(e.request.type, 'execute');
    assert.equal(e.request.parsed, true);
    assert.deepEqual(e.request.params, ['42']);
    assert.deepEqual(e.request.paramTypes, [23]);
    assert.deepEqual(e.request.messages, ['Parse', 'Bind', 'Describe', 'Execute', 'Sync']);
    assert.deepEqual([e.response!.rows, e.response!.rowsReturned, e.response!.tag], [1, 1, 'SELECT 1']);
    assert.deepEqual(
      (e.response!.columns as { name: string }[]).map((c) => c.name),
      ['name'],
    );
  });

  test('a named statement prepared once and executed twice carries its text; Close forgets it', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.concat(b.parse('s1', 'UPDATE t SET n = n + 1 WHERE id = $1'), b.describe('S', 's1'), b.sync())],
      [1, b.concat(b.parseComplete(), b.parameterDescription([23]), b.noData(), b.ready())],
      [0, b.concat(b.bind('p', 's1', ['1']), b.execute('p'), b.sync())],
      [1, b.concat(b.bindComplete(), b.commandComplete('UPDATE 1'), b.ready())],
      [0, b.concat(b.bind('', 's1', ['2']), b.execute(''), b.sync())],
      [1, b.concat(b.bindComplete(), b.commandComplete('UPDATE 0'), b.ready())],
      [0, b.concat(b.close('S', 's1'), b.bind('', 's1', ['3']), b.execute(''), b.sync())],
      [
        1,
        b.concat(
          b.closeComplete(),
          b.errorResponse({ S: 'ERROR', C: '26000', M: 'prepared statement "s1" does not exist' }),
          b.ready(),
        ),
      ],
    ]);
    const [, prepare, one, two, gone] = ctx.entries;
    assert.deepEqual([prepare!.request.type, prepare!.method, prepare!.status], ['prepare', 'UPDATE', 'OK']);
    assert.deepEqual(prepare!.response!.parameterTypes, [23]);
    assert.equal(prepare!.response!.noData, true);
    for (const [e, rows] of [
      [one!, 1],
      [two!, 0],
    ] as const) {
      assert.deepEqual(
        [e.request.type, e.path, e.request.parsed, e.response!.rows],
        ['execute', 'UPDATE t SET n = n + 1 WHERE id = $1', false, rows],
      );
    }
    assert.equal(gone!.status, '26000');
    assert.equal(gone!.method, 'EXECUTE', 'after Close the text is unknown');
    assert.equal(ctx.entries.length, 5);
  });

  test('two Parses before one Execute: the first statement is a prepare, the second runs', () => {
    const { ctx } = converse([
      ...STARTUP,
      [
        0,
        b.concat(b.parse('a', 'SELECT 1'), b.parse('b', 'SELECT 2'), b.bind('', 'b'), b.execute(), b.sync()),
      ],
      [
        1,
        b.concat(
          b.parseComplete(),
          b.parseComplete(),
          b.bindComplete(),
          b.dataRow(['2']),
          b.commandComplete('SELECT 1'),
          b.ready(),
        ),
      ],
    ]);
    assert.deepEqual(
      ctx.entries.slice(1).map((e) => [e.request.type, e.path, e.status]),
      [
        ['execute', 'SELECT 2', 'OK'],
        ['prepare', 'SELECT 1', 'OK'],
      ],
    );
  });

  test('pipelined batch: an error makes the server skip to Sync, the next batch pairs again', () => {
    const { ctx } = converse([
      ...STARTUP,
      [
        0,
        b.concat(
          b.parse('', 'INSERT INTO a VALUES ($1)'),
          b.bind('', '', ['1']),
          b.execute(),
          b.parse('', 'INSERT INTO b VALUES ($1)'),
          b.bind('', '', ['oops']),
          b.execute(),
          b.parse('', 'INSERT INTO c VALUES ($1)'),
          b.bind('', '', ['3']),
          b.execute(),
          b.sync(),
          b.parse('', 'SELECT 1'),
          b.bind('', ''),
          b.execute(),
          b.sync(),
        ),
      ],
      [
        1,
        b.concat(
          b.parseComplete(),
          b.bindComplete(),
          b.commandComplete('INSERT 0 1'),
          b.parseComplete(),
          b.errorResponse({ S: 'ERROR', C: '22P02', M: 'invalid input syntax for type integer: "oops"' }),
          b.ready('I'),
          b.parseComplete(),
          b.bindComplete(),
          b.dataRow(['1']),
          b.commandComplete('SELECT 1'),
          b.ready('I'),
        ),
      ],
    ]);
    const got = ctx.entries.slice(1).map((e) => [e.path, e.status, e.error]);
    assert.deepEqual(got, [
      ['INSERT INTO a VALUES ($1)', 'OK', null],
      ['INSERT INTO b VALUES ($1)', '22P02', null],
      [
        'INSERT INTO c VALUES ($1)',
        null,
        'not executed: an earlier message failed and the server skipped to Sync',
      ],
      ['SELECT 1', 'OK', null],
    ]);
    assert.equal(ctx.entries[4]!.response!.rowsReturned, 1);
    assert.equal((ctx.annotations.postgres as { unmatched: number }).unmatched, 0);
  });

  test('an error seen before the client`s Sync arrives: later messages are skipped too', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.concat(b.parse('', 'SELEC 1'), b.flush())],
      [1, b.errorResponse({ S: 'ERROR', C: '42601', M: 'syntax error at or near "SELEC"', P: '1' })],
      [0, b.concat(b.bind('', ''), b.execute(), b.sync())],
      [1, b.ready()],
      [0, b.query('SELECT 2')],
      [1, b.concat(b.rowDescription(['x']), b.dataRow(['2']), b.commandComplete('SELECT 1'), b.ready())],
    ]);
    // The Bind and Execute sent after the error belong to the failed execution: one entry.
    const got = ctx.entries.slice(1).map((e) => [e.method, e.status, e.request.type]);
    assert.deepEqual(got, [
      ['SELEC', '42601', 'prepare'],
      ['SELECT', 'OK', 'query'],
    ]);
    assert.equal((ctx.entries[1]!.response!.error as { position: string }).position, '1');
    assert.equal((ctx.annotations.postgres as { unmatched: number }).unmatched, 0);
  });

  test('a Query sent before the Sync of a failed batch is ignored by the server', () => {
    for (const split of [false, true]) {
      const client = b.concat(
        b.parse('', 'SELEC'),
        b.bind('', ''),
        b.execute(),
        b.query('SELECT 1'),
        b.sync(),
      );
      const steps: Step[] = split
        ? [
            [0, client.subarray(0, 30)],
            [1, b.errorResponse({ S: 'ERROR', C: '42601', M: 'syntax error' })],
            [0, client.subarray(30)],
            [1, b.ready()],
          ]
        : [
            [0, client],
            [1, b.concat(b.errorResponse({ S: 'ERROR', C: '42601', M: 'syntax error' }), b.ready())],
          ];
      const { ctx } = converse([...STARTUP, ...steps]);
      assert.deepEqual(
        ctx.entries.slice(1).map((e) => [e.path, e.status, e.error]),
        [
          ['SELEC', '42601', null],
          ['SELECT 1', null, 'not executed: an earlier message failed and the server skipped to Sync'],
        ],
        `split ${split}`,
      );
    }
  });

  test('Execute with a row limit: PortalSuspended, then the rest', () => {
    const { ctx } = converse([
      ...STARTUP,
      [
        0,
        b.concat(
          b.parse('', 'SELECT g FROM generate_series(1,3) g'),
          b.bind('c', ''),
          b.execute('c', 2),
          b.flush(),
        ),
      ],
      [
        1,
        b.concat(
          b.parseComplete(),
          b.bindComplete(),
          b.dataRow(['1']),
          b.dataRow(['2']),
          b.portalSuspended(),
        ),
      ],
      [0, b.concat(b.execute('c', 2), b.sync())],
      [1, b.concat(b.dataRow(['3']), b.commandComplete('SELECT 1'), b.ready())],
    ]);
    const [, first, rest] = ctx.entries;
    assert.deepEqual(
      [first!.response!.suspended, first!.response!.rowsReturned, first!.request.maxRows],
      [true, 2, 2],
    );
    assert.deepEqual(
      [rest!.path, rest!.response!.rowsReturned, rest!.response!.tag],
      ['SELECT g FROM generate_series(1,3) g', 1, 'SELECT 1'],
    );
  });

  test('a deferred constraint failing at Sync is reported', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.concat(b.parse('', 'INSERT INTO d VALUES (1)'), b.bind('', ''), b.execute(), b.sync())],
      [1, b.concat(b.parseComplete(), b.bindComplete(), b.commandComplete('INSERT 0 1'))],
      [
        1,
        b.concat(
          b.errorResponse({ S: 'ERROR', C: '23503', M: 'violates foreign key constraint' }),
          b.ready(),
        ),
      ],
    ]);
    assert.equal(ctx.entries[1]!.status, 'OK');
    assert.deepEqual((ctx.annotations.postgres as { errors: string[] }).errors, ['23503']);
  });

  test('too many unanswered messages: the oldest are reported, the queue stays bounded', () => {
    const { ctx, session } = converse(STARTUP, false);
    const one = b.concat(b.bind('', 'x'), b.execute(), b.sync());
    for (let i = 0; i < MAX_PENDING; i++) session.onData(0, one, 2_000_000 + i);
    assert.ok(session.pending <= MAX_PENDING);
    session.onClose(9_000_000);
    const executes = ctx.entries.filter((e) => e.request.type === 'execute');
    assert.equal(executes.length, MAX_PENDING);
    assert.ok(executes.every((e) => e.error !== null && e.response === null));
  });
});

describe('COPY, notifications, function calls', () => {
  test('COPY FROM STDIN with CopyFail, COPY TO STDOUT with byte and line counts', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.query('COPY t FROM STDIN')],
      [1, b.copyInResponse(2)],
      [0, b.concat(b.copyData('1\ta\n2\t'), b.copyData('b\n'), b.copyFail('user cancel'))],
      [
        1,
        b.concat(
          b.errorResponse({ S: 'ERROR', C: '57014', M: 'COPY from stdin failed: user cancel' }),
          b.ready(),
        ),
      ],
      [0, b.query('COPY t TO STDOUT')],
      [
        1,
        b.concat(
          b.copyOutResponse(2),
          b.copyData('1\ta\n'),
          b.copyData('2\tb\n'),
          b.copyDone(),
          b.commandComplete('COPY 2'),
          b.ready(),
        ),
      ],
    ]);
    const [, cin, cout] = ctx.entries;
    assert.equal(cin!.status, '57014');
    assert.deepEqual(cin!.response!.copy, {
      direction: 'in',
      format: 'text',
      columns: 2,
      messages: 2,
      bytes: 8,
      lines: 2,
      done: false,
      failed: 'user cancel',
    });
    assert.deepEqual(
      [cout!.status, cout!.response!.rows, (cout!.response!.copy as { lines: number; bytes: number }).lines],
      ['OK', 2, 2],
    );
  });

  test('NotificationResponse is an entry from the server to the client', () => {
    const { ctx } = converse([...STARTUP, [1, b.notification(31, 'jobs', '{"id":7}')]]);
    const n = ctx.entries[1]!;
    assert.deepEqual(
      [n.method, n.path, n.request.payload, n.request.pid],
      ['NOTIFICATION', 'jobs', '{"id":7}', 31],
    );
    assert.deepEqual([n.src, n.dst], [SERVER, CLIENT]);
  });

  test('FunctionCall (§55.2.5) is one entry', () => {
    const { ctx } = converse([
      ...STARTUP,
      [0, b.functionCall(1598, ['abc'])],
      [1, b.concat(b.functionResult('xyz'), b.ready())],
    ]);
    const f = ctx.entries[1]!;
    assert.deepEqual(
      [f.method, f.path, f.status, f.response!.resultLength],
      ['FUNCTIONCALL', '1598', 'OK', 3],
    );
  });
});

describe('splits, gaps and mid-stream pick-up', () => {
  const conversation: Step[] = [
    ...STARTUP,
    [0, b.concat(b.parse('s', 'SELECT $1::int'), b.bind('', 's', ['5']), b.execute(), b.sync())],
    [
      1,
      b.concat(
        b.parseComplete(),
        b.bindComplete(),
        b.dataRow(['5']),
        b.commandComplete('SELECT 1'),
        b.ready(),
      ),
    ],
    [0, b.query('SELECT 1; SELECT 2')],
    [
      1,
      b.concat(
        b.rowDescription(['a']),
        b.dataRow(['1']),
        b.commandComplete('SELECT 1'),
        b.rowDescription(['b']),
        b.dataRow(['2']),
        b.commandComplete('SELECT 1'),
        b.ready(),
      ),
    ],
  ];

  test('every split point of every message gives the same entries', () => {
    const whole = converse(conversation).ctx.entries;
    for (const [k, [dir, data]] of conversation.entries()) {
      for (let cut = 1; cut < data.length; cut++) {
        const steps: Step[] = [
          ...conversation.slice(0, k),
          [dir, data.subarray(0, cut)],
          [dir, data.subarray(cut)],
          ...conversation.slice(k + 1),
        ];
        const got = converse(steps).ctx;
        assert.deepEqual(got.errors, []);
        assert.deepEqual(
          got.entries.map((e) => [
            e.method,
            e.path,
            e.status,
            e.response!.rowsReturned,
            e.requestSize,
            e.responseSize,
          ]),
          whole.map((e) => [
            e.method,
            e.path,
            e.status,
            e.response!.rowsReturned,
            e.requestSize,
            e.responseSize,
          ]),
          `step ${k} cut at ${cut}`,
        );
      }
    }
  });

  test('a gap inside a DataRow keeps the framing; the entry says bytes were lost', () => {
    const row = b.dataRow(['x'.repeat(1000)]);
    const ctx0 = converse([...STARTUP, [0, b.query('SELECT big')]], false);
    const { ctx, session } = ctx0;
    session.onData(1, row.subarray(0, 100), 3_000_000);
    session.onGap(1, 500, 3_000_001);
    session.onData(1, b.concat(row.subarray(600), b.commandComplete('SELECT 1'), b.ready()), 3_000_002);
    session.onClose(4_000_000);
    assert.deepEqual(ctx.errors, []);
    const e = ctx.entries[1]!;
    assert.deepEqual([e.status, e.response!.rowsReturned], ['OK', 1]);
    assert.match(e.error ?? '', /500 bytes of the response lost in a gap/);
  });

  test('a gap across server messages: one parse error, resync at the next message, pairing goes on', () => {
    const { ctx, session } = converse([...STARTUP, [0, b.query('SELECT a')]], false);
    session.onData(1, b.concat(b.rowDescription(['a']), b.dataRow(['1'])).subarray(0, 10), 3_000_000);
    session.onGap(1, 40, 3_000_001);
    session.onData(1, Uint8Array.from([0x61, 0x62, 0x63]), 3_000_002); // the rest of some message
    session.onData(1, b.concat(b.dataRow(['9']), b.commandComplete('SELECT 2'), b.ready()), 3_000_003);
    session.onData(0, b.query('SELECT b'), 3_100_000);
    session.onData(1, b.concat(b.commandComplete('SELECT 0'), b.ready()), 3_100_100);
    session.onClose(4_000_000);
    assert.equal(ctx.errors.length, 1);
    assert.match(ctx.errors[0]!, /gap/);
    const [, a, bb] = ctx.entries;
    assert.deepEqual([a!.path, a!.status, a!.response!.tag], ['SELECT a', 'OK', 'SELECT 2']);
    assert.match(a!.error ?? '', /gap in the response stream/);
    assert.deepEqual([bb!.path, bb!.status, bb!.error], ['SELECT b', 'OK', null]);
  });

  test('a server gap that swallows a Query`s ending: the next Query still pairs with its answer', () => {
    // As captured from psql when tcpdump dropped the segment with "COPY 2" and ReadyForQuery.
    const { ctx, session } = converse(
      [
        ...STARTUP,
        [0, b.query('COPY t FROM STDIN')],
        [1, b.copyInResponse(2)],
        [0, b.concat(b.copyData('1\ta\n'), b.copyDone())],
      ],
      false,
    );
    session.onData(0, b.query('COPY t TO STDOUT'), 3_000_000);
    session.onGap(1, 18, 3_000_010);
    session.onData(
      1,
      b.concat(
        b.copyOutResponse(2),
        b.copyData('1\ta\n'),
        b.copyDone(),
        b.commandComplete('COPY 1'),
        b.ready(),
      ),
      3_000_010,
    );
    session.onData(0, b.query('LISTEN x'), 3_000_100);
    session.onData(1, b.concat(b.commandComplete('LISTEN'), b.ready()), 3_000_200);
    session.onClose(4_000_000);
    const got = ctx.entries.slice(1).map((e) => [e.path, e.response!.tag ?? null, e.error]);
    assert.deepEqual(got, [
      ['COPY t FROM STDIN', null, 'response lost in a gap'],
      ['COPY t TO STDOUT', 'COPY 1', 'gap in the response stream'],
      ['LISTEN x', 'LISTEN', null],
    ]);
  });

  test('a gap on the client side: the answers to what was lost do not pair with later requests', () => {
    const { ctx, session } = converse(STARTUP, false);
    session.onData(0, b.query('SELECT lost').subarray(0, 6), 3_000_000);
    session.onGap(0, 20, 3_000_001);
    session.onData(0, b.query('SELECT kept'), 3_000_100);
    session.onData(1, b.concat(b.rowDescription(['x']), b.commandComplete('SELECT 0'), b.ready()), 3_000_200);
    session.onData(1, b.concat(b.commandComplete('SELECT 0'), b.ready()), 3_000_300);
    session.onClose(4_000_000);
    assert.equal(ctx.errors.length, 1);
    const lost = ctx.entries.find((e) => e.request.type === 'lost')!;
    assert.match(lost.error ?? '', /request lost/);
    assert.deepEqual(lost.response!.tag, 'SELECT 0');
    const kept = ctx.entries.find((e) => e.path === 'SELECT kept')!;
    assert.equal(kept.elapsedMs, 0.2);
  });

  test('picked up mid-stream: detection, then typed messages pair without a startup', () => {
    const client = b.concat(b.bind('', 'S_7', ['1']), b.execute(), b.sync());
    const server = b.concat(b.bindComplete(), b.dataRow(['1']), b.commandComplete('SELECT 1'), b.ready());
    assert.equal(detectPostgres(0, client), 'yes');
    assert.equal(detectPostgres(1, server), 'yes');
    // Starting inside a DataRow: a run of messages further in is found.
    const tail = b.concat(b.dataRow(['x'.repeat(50)]), server).subarray(20);
    assert.equal(detectPostgres(1, tail), 'yes');
    // A client stream picked up inside a message whose first byte is 0 (not a startup packet).
    assert.equal(detectPostgres(0, b.concat(Uint8Array.from([0, 0, 7, 1]), client)), 'yes');
    const { ctx } = converse([
      [1, tail],
      [0, client],
      [1, server],
    ]);
    const e = ctx.entries.find((x) => x.request.type === 'execute')!;
    assert.deepEqual([e.method, e.request.statement, e.status], ['EXECUTE', 'S_7', 'OK']);
  });

  test('detection turns down other protocols and asks for more on a cut startup', () => {
    // Text lines and TLS records are ruled out at once; other binary openings are never claimed,
    // though PostgreSQL may ask for more (a stream picked up inside a long message looks like them).
    const text = (s: string) => new TextEncoder().encode(s);
    const hello = Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]);
    for (const [dir, data] of [
      [0, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      [0, text('POST /api HTTP/1.1\r\n')],
      [1, text('HTTP/1.1 200 OK\r\n\r\n')],
      [0, hello],
      [0, text('*1\r\n$4\r\nPING\r\n')],
      [0, text('CONNECT {"verbose":false}\r\n')],
      [1, text('INFO {"server_id":"x"}\r\n')],
    ] as const) {
      assert.equal(detectPostgres(dir, data), 'no', new TextDecoder().decode(data));
    }
    for (const data of [
      Uint8Array.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c]), // MQTT CONNECT
      text('AMQP\x00\x00\x09\x01'), // AMQP 0-9-1 protocol header
      Uint8Array.from([0, 0, 0, 20, 0, 18, 0, 3, 0, 0, 0, 1, 0, 6, 0x6b, 0x61, 0x66, 0x6b, 0x61, 0x21]), // Kafka
      Uint8Array.from([0x4a, 0, 0, 0, 0x0a, 0x38, 0x2e, 0x30, 0]), // MySQL greeting
    ]) {
      assert.notEqual(detectPostgres(0, data), 'yes');
      assert.notEqual(detectPostgres(1, data), 'yes');
    }
    const s = b.startup({ user: 'u', database: 'd' });
    assert.equal(detectPostgres(0, s.subarray(0, 12)), 'more');
    assert.equal(detectPostgres(0, s), 'yes');
    assert.equal(detectPostgres(0, b.sslRequest()), 'yes');
    assert.equal(detectPostgres(0, b.cancelRequest(1, 2)), 'yes');
    assert.notEqual(
      detectPostgres(0, b.startup({ database: 'd' })),
      'yes',
      'a StartupMessage names its user',
    );
  });
});
