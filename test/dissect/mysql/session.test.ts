/**
 * The MySQL session on conversations written from the specification (MySQL protocol: Connection
 * Phase, Command Phase, Compression; MariaDB's extensions): logins, result sets, prepared
 * statements, LOCAL INFILE, multi-results, pipelining, continuation packets, compression, the TLS
 * hand-over, and the odd cases — gaps, mid-stream pick-up, stray answers, bounded queues.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { firstKeyword } from '../../../src/dissect/mysql/commands.js';
import { detectMysql } from '../../../src/dissect/mysql/detect.js';
import { MAX_PENDING } from '../../../src/dissect/mysql/session.js';
import {
  BASE_CAPS,
  bytes,
  CAPS,
  columnDef,
  command,
  eof,
  err,
  greeting,
  handshakeResponse,
  lstr,
  ok,
  packet,
  packets,
  prepareOk,
  query,
  resultSet,
  sslRequest,
  u16,
  u24,
  u32,
} from './build.js';
import { run, type Step } from './support.js';

const LOGIN: Step[] = [
  [1, packet(0, greeting())],
  [0, packet(1, handshakeResponse({ user: 'app', schema: 'shop' }))],
  [1, packet(2, ok())],
];

/** A login without CLIENT_DEPRECATE_EOF (EOF packets after column definitions and rows). */
const LOGIN_EOF: Step[] = [
  [1, packet(0, greeting())],
  [0, packet(1, handshakeResponse({ caps: BASE_CAPS }))],
  [1, packet(2, ok())],
];

const commands = (r: ReturnType<typeof run>) => r.entries.filter((e) => e.method !== 'LOGIN');

describe('MySQL connection phase', () => {
  test('a login: user, schema, plugin, server version; the auth response is never kept', () => {
    const auth = Uint8Array.from({ length: 20 }, (_, i) => 0xc0 + i);
    const r = run([
      [1, packet(0, greeting({ version: '8.0.36', connectionId: 77 }))],
      [
        0,
        packet(
          1,
          handshakeResponse({ user: 'app', schema: 'shop', auth, attributes: { _client_name: 'libmysql' } }),
        ),
      ],
      [1, packet(2, ok())],
    ]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.entries.length, 1);
    const e = r.entries[0]!;
    assert.equal(e.method, 'LOGIN');
    assert.equal(e.path, 'shop');
    assert.equal(e.status, 'OK');
    assert.equal(e.request.user, 'app');
    assert.equal(e.request.authPlugin, 'mysql_native_password');
    assert.equal(e.request.authResponseLength, 20);
    assert.deepEqual(e.request.attributes, { _client_name: 'libmysql' });
    assert.equal(e.response?.serverVersion, '8.0.36');
    assert.equal(e.response?.connectionId, 77);
    const json = JSON.stringify(e);
    assert.ok(!json.includes('c0c1c2'), 'no auth bytes as hex');
    assert.ok(!json.includes(Buffer.from(auth).toString('latin1').slice(0, 4)), 'no auth bytes as text');
    assert.equal(
      e.requestSize,
      4 +
        handshakeResponse({ user: 'app', schema: 'shop', auth, attributes: { _client_name: 'libmysql' } })
          .length,
    );
  });

  test('a refused login carries the MySQL error code as status', () => {
    const r = run([
      [1, packet(0, greeting())],
      [0, packet(1, handshakeResponse({ user: 'bad' }))],
      [1, packet(2, err(1045, '28000', "Access denied for user 'bad'@'localhost'"))],
    ]);
    const e = r.entries[0]!;
    assert.equal(e.status, 1045);
    assert.equal(e.response?.sqlState, '28000');
    assert.match(String(e.response?.message), /Access denied/);
  });

  test('a connection refused before the greeting (ERR without SQL state)', () => {
    const r = run([[1, packet(0, bytes([0xff], u16(1130), "Host '10.0.0.1' is not allowed to connect"))]]);
    assert.equal(r.entries.length, 1);
    assert.equal(r.entries[0]!.status, 1130);
    assert.deepEqual(r.errors, []);
  });

  test('auth switch and caching_sha2_password fast and full authentication', () => {
    for (const [code, path] of [
      [3, 'fast'],
      [4, 'full'],
    ] as const) {
      const steps: Step[] = [
        [1, packet(0, greeting({ plugin: 'caching_sha2_password' }))],
        [0, packet(1, handshakeResponse({ plugin: 'caching_sha2_password' }))],
        [1, packet(2, bytes([0xfe], 'caching_sha2_password', [0], new Uint8Array(20).fill(1), [0]))],
        [0, packet(3, new Uint8Array(32).fill(0x55))],
        [1, packet(4, Uint8Array.of(0x01, code))],
      ];
      if (path === 'full') {
        steps.push([0, packet(5, Uint8Array.of(2))]);
        steps.push([1, packet(6, bytes([1], '-----BEGIN PUBLIC KEY-----\n...'))]);
        steps.push([0, packet(7, new Uint8Array(256).fill(0x77))]);
      }
      steps.push([1, packet(path === 'full' ? 8 : 5, ok())]);
      steps.push([0, query('SELECT 1')]);
      steps.push([1, resultSet(['1'], [['1']], { deprecateEof: true })]);
      const r = run(steps);
      assert.deepEqual(r.errors, [], path);
      const login = r.entries[0]!;
      assert.equal(login.status, 'OK');
      assert.equal(login.response?.authSwitch, 'caching_sha2_password');
      assert.equal(login.response?.authPath, path);
      assert.equal(r.entries[1]!.response?.rows, 1, 'the command phase follows');
    }
  });

  test('SSLRequest: the LOGIN entry says tls and the rest goes to the TLS dissector', () => {
    const hello = Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5);
    const r = run([
      [1, packet(0, greeting())],
      [0, bytes(packet(1, sslRequest()), hello)],
    ]);
    assert.equal(r.entries.length, 1);
    assert.equal(r.entries[0]!.request.tls, true);
    assert.equal(r.entries[0]!.status, null);
    assert.equal(r.entries[0]!.error, null);
    assert.equal(r.switched?.name, 'tls');
    assert.deepEqual(r.switched?.data, [hello]);
  });

  test('MariaDB: version without the 5.5.5- prefix, extended capabilities', () => {
    const r = run([
      [
        1,
        packet(
          0,
          greeting({
            version: '5.5.5-10.11.6-MariaDB',
            caps: BASE_CAPS & ~CAPS.LONG_PASSWORD,
            mariadbCaps: 0x1d,
          }),
        ),
      ],
      [0, packet(1, handshakeResponse({ caps: BASE_CAPS & ~CAPS.LONG_PASSWORD }))],
      [1, packet(2, ok())],
    ]);
    const e = r.entries[0]!;
    assert.equal(e.response?.serverVersion, '10.11.6-MariaDB');
    assert.equal(e.response?.flavor, 'mariadb');
    assert.deepEqual(e.response?.mariadbCapabilities, [
      'progress',
      'stmt_bulk_operations',
      'extended_metadata',
      'cache_metadata',
    ]);
  });
});

describe('MySQL commands', () => {
  test('COM_QUERY: keyword, text, OK fields, errors with SQL state', () => {
    const r = run([
      ...LOGIN,
      [0, query('  /* tag */ INSERT INTO t VALUES (1)')],
      [1, packet(1, ok({ affected: 1, insertId: 42, warnings: 2 }))],
      [0, query('SELECT * FROM missing')],
      [1, packet(1, err(1146, '42S02', "Table 'shop.missing' doesn't exist"))],
      [0, query('SELEC 1')],
      [1, packet(1, err(1064, '42000', 'You have an error in your SQL syntax'))],
    ]);
    const [ins, miss, syn] = commands(r);
    assert.equal(ins!.method, 'INSERT');
    assert.equal(ins!.path, '  /* tag */ INSERT INTO t VALUES (1)');
    assert.equal(ins!.status, 'OK');
    assert.equal(ins!.response?.affectedRows, 1);
    assert.equal(ins!.response?.lastInsertId, 42);
    assert.equal(ins!.response?.warnings, 2);
    assert.equal(miss!.status, 1146);
    assert.equal(miss!.response?.sqlState, '42S02');
    assert.equal(syn!.method, 'SELEC');
    assert.equal(syn!.status, 1064);
    assert.ok(r.entries.every((e) => e.elapsedMs !== null && e.elapsedMs >= 0));
  });

  test('result sets with and without EOF packets; row count and a capped sample', () => {
    const rows = Array.from({ length: 10 }, (_, i) => [String(i), i % 2 ? null : 'x'.repeat(300)]);
    for (const [login, deprecateEof] of [
      [LOGIN, true],
      [LOGIN_EOF, false],
    ] as const) {
      const r = run([
        ...login,
        [0, query('SELECT id, v FROM t')],
        [1, resultSet(['id', 'v'], rows, { deprecateEof })],
      ]);
      const e = commands(r)[0]!;
      assert.deepEqual(r.errors, []);
      assert.equal(e.response?.rows, 10);
      assert.equal(e.response?.columns, 2);
      assert.deepEqual(e.response?.fields, [
        { name: 'id', type: 'VAR_STRING', table: 't' },
        { name: 'v', type: 'VAR_STRING', table: 't' },
      ]);
      const sample = e.response?.sample as (string | null)[][];
      assert.equal(sample.length, 3);
      assert.equal(sample[0]![1]!.length, 256, 'values capped at 256 bytes');
      assert.equal(sample[1]![1], null);
    }
  });

  test('multi-statements: result sets chained by SERVER_MORE_RESULTS_EXISTS', () => {
    const more = 0x0008 | 2;
    const r = run([
      ...LOGIN_EOF,
      [0, query('SELECT 1; SELECT 2, 3; DELETE FROM t')],
      [
        1,
        bytes(
          resultSet(['1'], [['1']], { status: more }),
          resultSet(
            ['2', '3'],
            [
              ['2', '3'],
              ['4', '5'],
            ],
            { seq: 5, status: more },
          ),
          packet(12, ok({ affected: 7 })),
        ),
      ],
      [0, query('SELECT 4')],
      [1, resultSet(['4'], [['4']])],
    ]);
    assert.deepEqual(r.errors, []);
    const [multi, next] = commands(r);
    assert.equal(multi!.response?.resultSets, 2);
    assert.equal(multi!.response?.rows, 3);
    assert.equal(multi!.response?.columns, 1);
    assert.equal(multi!.response?.affectedRows, 7);
    assert.equal(next!.response?.rows, 1, 'the next command is paired with its own answer');
  });

  test('LOCAL INFILE: the upload belongs to the command, then the final OK', () => {
    const r = run([
      ...LOGIN,
      [0, query("LOAD DATA LOCAL INFILE '/tmp/x.csv' INTO TABLE t")],
      [1, packet(1, bytes([0xfb], '/tmp/x.csv'))],
      [0, bytes(packet(2, bytes('1,a\n2,b\n')), packet(3, new Uint8Array(0)))],
      [1, packet(4, ok({ affected: 2, info: 'Records: 2' }))],
      [0, command(0x0e)],
      [1, packet(1, ok())],
    ]);
    assert.deepEqual(r.errors, []);
    const [load, ping] = commands(r);
    assert.equal(load!.method, 'LOAD');
    assert.equal(load!.response?.infile, '/tmp/x.csv');
    assert.equal(load!.request.uploadBytes, 8);
    assert.equal(load!.response?.affectedRows, 2);
    assert.equal(load!.requestSize, 4 + 1 + 48 + 4 + 8 + 4);
    assert.equal(ping!.method, 'PING');
  });

  test('prepared statements: prepare, execute (binary parameters and rows), reset, close', () => {
    const execute = (id: number, bound: boolean) =>
      command(
        0x17,
        bytes(
          u32(id),
          [0],
          u32(1),
          [0b10], // NULL bitmap: the second parameter is NULL
          [bound ? 1 : 0],
          bound ? bytes(u16(0x08), u16(0xfd)) : new Uint8Array(0),
          [7, 0, 0, 0, 0, 0, 0, 0],
        ),
      );
    const binRow = bytes([0], [0], [0x2a, 0, 0, 0, 0, 0, 0, 0], lstr('hello'));
    const r = run([
      ...LOGIN,
      [0, command(0x16, 'SELECT id, name FROM t WHERE id = ? OR name = ?')],
      [
        1,
        bytes(
          packet(1, prepareOk(5, 2, 2)),
          packet(2, columnDef('?', 0xfd)),
          packet(3, columnDef('?', 0xfd)),
          packet(4, columnDef('id', 0x08)),
          packet(5, columnDef('name', 0xfd)),
        ),
      ],
      [0, execute(5, true)],
      [
        1,
        bytes(
          packet(1, Uint8Array.of(2)),
          packet(2, columnDef('id', 0x08)),
          packet(3, columnDef('name', 0xfd)),
          packet(4, binRow),
          packet(5, ok({ header: 0xfe })),
        ),
      ],
      [0, execute(5, false)],
      [1, packet(1, err(1205, 'HY000', 'Lock wait timeout exceeded'))],
      [0, command(0x1a, bytes(u32(5)))],
      [1, packet(1, ok())],
      [0, command(0x19, bytes(u32(5)))],
      [0, execute(5, true)],
      [1, packet(1, err(1243, 'HY000', 'Unknown prepared statement handler'))],
    ]);
    assert.deepEqual(r.errors, []);
    const [prep, ex1, ex2, reset, close, ex3] = commands(r);
    assert.equal(prep!.method, 'STMT_PREPARE');
    assert.equal(prep!.path, 'SELECT id, name FROM t WHERE id = ? OR name = ?');
    assert.deepEqual(
      [prep!.response?.statementId, prep!.response?.params, prep!.response?.columns],
      [5, 2, 2],
    );
    assert.equal(ex1!.method, 'SELECT');
    assert.equal(ex1!.path, prep!.path);
    assert.deepEqual(ex1!.request.params, [
      { type: 'LONGLONG', value: 7 },
      { type: 'VAR_STRING', value: null },
    ]);
    assert.equal(ex1!.response?.rows, 1);
    assert.deepEqual(ex1!.response?.sample, [[42, 'hello']]);
    assert.deepEqual(
      ex2!.request.params,
      [
        { type: 'LONGLONG', value: 7 },
        { type: 'VAR_STRING', value: null },
      ],
      're-execution reuses the bound types',
    );
    assert.equal(ex2!.status, 1205);
    assert.equal(reset!.method, 'STMT_RESET');
    assert.equal(reset!.path, prep!.path);
    assert.equal(close!.method, 'STMT_CLOSE');
    assert.equal(close!.response, null);
    assert.equal(close!.error, null);
    assert.equal(ex3!.method, 'STMT_EXECUTE', 'after close the statement is forgotten');
    assert.equal(ex3!.path, '');
    assert.equal(ex3!.status, 1243);
  });

  test('COM_STMT_PREPARE without CLIENT_DEPRECATE_EOF: EOF after parameters and columns', () => {
    const r = run([
      ...LOGIN_EOF,
      [0, command(0x16, 'SELECT a FROM t WHERE b = ?')],
      [
        1,
        bytes(
          packet(1, prepareOk(1, 1, 1)),
          packet(2, columnDef('?')),
          packet(3, eof()),
          packet(4, columnDef('a')),
          packet(5, eof()),
        ),
      ],
      [0, command(0x0e)],
      [1, packet(1, ok())],
    ]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      commands(r).map((e) => [e.method, e.status]),
      [
        ['STMT_PREPARE', 'OK'],
        ['PING', 'OK'],
      ],
    );
  });

  test('MariaDB pipelining: PREPARE and EXECUTE with statement id -1 sent together', () => {
    const r = run([
      ...LOGIN,
      [
        0,
        bytes(
          command(0x16, 'DELETE FROM t WHERE id = 1'),
          command(0x17, bytes(u32(0xffffffff), [0], u32(1))),
        ),
      ],
      [1, bytes(packet(1, prepareOk(9, 0, 0)), packet(1, ok({ affected: 1 })))],
    ]);
    assert.deepEqual(r.errors, []);
    const [prep, exec] = commands(r);
    assert.equal(prep!.response?.statementId, 9);
    assert.equal(exec!.method, 'DELETE');
    assert.equal(exec!.path, 'DELETE FROM t WHERE id = 1');
    assert.equal(exec!.response?.affectedRows, 1);
  });

  test('pipelined queries are answered in order', () => {
    const r = run([
      ...LOGIN,
      [0, bytes(query('SELECT 1'), query('SELECT 2'), query('DO 3'))],
      [
        1,
        bytes(
          resultSet(['1'], [['1']], { deprecateEof: true }),
          resultSet(['2'], [['2'], ['2']], { deprecateEof: true }),
          packet(1, ok()),
        ),
      ],
    ]);
    assert.deepEqual(
      commands(r).map((e) => [e.path, e.response?.rows ?? null, e.status]),
      [
        ['SELECT 1', 1, 'OK'],
        ['SELECT 2', 2, 'OK'],
        ['DO 3', null, 'OK'],
      ],
    );
  });

  test('other commands: INIT_DB, FIELD_LIST, STATISTICS, PROCESS_KILL, QUIT', () => {
    const r = run([
      ...LOGIN,
      [0, command(0x02, 'other')],
      [1, packet(1, ok())],
      [0, command(0x04, bytes('users', [0], '%'))],
      [1, bytes(packet(1, columnDef('id')), packet(2, columnDef('name')), packet(3, ok({ header: 0xfe })))],
      [0, command(0x09)],
      [1, packet(1, bytes('Uptime: 5  Threads: 1'))],
      [0, command(0x0c, bytes(u32(12)))],
      [1, packet(1, err(1094, 'HY000', 'Unknown thread id: 12'))],
      [0, command(0x01)],
    ]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      commands(r).map((e) => [e.method, e.path, e.status, e.error]),
      [
        ['INIT_DB', 'other', 'OK', null],
        ['FIELD_LIST', 'users', 'OK', null],
        ['STATISTICS', '', 'OK', null],
        ['PROCESS_KILL', '12', 1094, null],
        ['QUIT', '', null, null],
      ],
    );
    assert.equal(commands(r)[1]!.response?.columns, 2);
    assert.match(String(commands(r)[2]!.response?.text), /^Uptime/);
  });

  test('query attributes (CLIENT_QUERY_ATTRIBUTES) before the statement text', () => {
    const caps = BASE_CAPS | CAPS.DEPRECATE_EOF | CAPS.QUERY_ATTRIBUTES;
    const withAttr = command(
      0x03,
      bytes([1], [1], [0], [1], u16(0xfe), lstr('trace'), lstr('abc123'), 'SELECT 1'),
    );
    const without = command(0x03, bytes([0], [1], 'SELECT 2'));
    const r = run([
      [1, packet(0, greeting({ caps }))],
      [0, packet(1, handshakeResponse({ caps }))],
      [1, packet(2, ok())],
      [0, withAttr],
      [1, resultSet(['1'], [['1']], { deprecateEof: true })],
      [0, without],
      [1, resultSet(['2'], [['2']], { deprecateEof: true })],
    ]);
    assert.deepEqual(r.errors, []);
    const [a, b] = commands(r);
    assert.equal(a!.path, 'SELECT 1');
    assert.deepEqual(a!.request.attributes, [{ name: 'trace', type: 'STRING', value: 'abc123' }]);
    assert.equal(b!.path, 'SELECT 2');
  });

  test('a statement longer than 16 MiB spans continuation packets; its text is capped at 4 KiB', () => {
    const sql = `INSERT INTO t VALUES ('${'y'.repeat(0xffffff + 100)}')`;
    const payload = bytes([0x03], sql);
    const r = run([
      ...LOGIN,
      [0, packets(0, payload)],
      [1, packet(3, ok({ affected: 1 }))],
      [0, command(0x0e)],
      [1, packet(1, ok())],
    ]);
    assert.deepEqual(r.errors, []);
    const [ins, ping] = commands(r);
    assert.equal(ins!.method, 'INSERT');
    assert.equal((ins!.path as string).length, 4096);
    assert.equal(ins!.request.queryLength, sql.length);
    assert.equal(ins!.requestSize, payload.length + 8);
    assert.equal(ping!.status, 'OK');
    assert.ok(r.session.buffered < 128 * 1024, 'a large message is not held whole');
  });

  test('COM_CHANGE_USER: its auth exchange belongs to the command', () => {
    const change = command(
      0x11,
      bytes(
        'bob',
        [0],
        [20],
        new Uint8Array(20).fill(0x99),
        'db2',
        [0],
        u16(33),
        'mysql_native_password',
        [0],
      ),
    );
    const r = run([
      ...LOGIN,
      [0, change],
      [1, packet(1, bytes([0xfe], 'mysql_native_password', [0], new Uint8Array(20).fill(3), [0]))],
      [0, packet(2, new Uint8Array(20).fill(0x42))],
      [1, packet(3, ok())],
      [0, command(0x0e)],
      [1, packet(1, ok())],
    ]);
    assert.deepEqual(r.errors, []);
    const [cu, ping] = commands(r);
    assert.deepEqual(
      [cu!.method, cu!.path, cu!.status, cu!.request.user],
      ['CHANGE_USER', 'db2', 'OK', 'bob'],
    );
    assert.equal(cu!.response?.authSwitch, 'mysql_native_password');
    assert.equal(cu!.requestSize, change.length + 24);
    assert.ok(!JSON.stringify(cu).includes('99999999'), 'no auth bytes');
    assert.equal(ping!.status, 'OK');
  });

  test('a cursor: the execute answers metadata only, COM_STMT_FETCH brings the rows', () => {
    const r = run([
      ...LOGIN_EOF,
      [0, command(0x16, 'SELECT n FROM t')],
      [1, bytes(packet(1, prepareOk(4, 1, 0)), packet(2, columnDef('n', 0x03)), packet(3, eof()))],
      [0, command(0x17, bytes(u32(4), [1], u32(1)))],
      [1, bytes(packet(1, Uint8Array.of(1)), packet(2, columnDef('n', 0x03)), packet(3, eof(0x40 | 2)))],
      [0, command(0x1c, bytes(u32(4), u32(10)))],
      [
        1,
        bytes(packet(1, bytes([0, 0], u32(7))), packet(2, bytes([0, 0], u32(8))), packet(3, eof(0x80 | 2))),
      ],
    ]);
    assert.deepEqual(r.errors, []);
    const [, exec, fetch] = commands(r);
    assert.equal(exec!.response?.cursor, true);
    assert.equal(exec!.response?.rows, 0);
    assert.equal(fetch!.method, 'STMT_FETCH');
    assert.equal(fetch!.path, 'SELECT n FROM t');
    assert.equal(fetch!.request.rows, 10);
    assert.equal(fetch!.response?.rows, 2);
    assert.deepEqual(fetch!.response?.sample, [[7], [8]]);
  });

  test('MariaDB progress reports (ERR 0xffff) are not the answer', () => {
    const progress = bytes([0xff], u16(0xffff), [1, 1], u24(500), lstr('copy to tmp table'));
    const r = run([
      ...LOGIN,
      [0, query('ALTER TABLE t ADD c INT')],
      [1, bytes(packet(1, progress), packet(2, ok()))],
    ]);
    const e = commands(r)[0]!;
    assert.equal(e.status, 'OK');
    assert.equal(e.response?.progressReports, 1);
  });
});

describe('MySQL framing and odd cases', () => {
  test('every conversation split at every byte gives the same entries', () => {
    const conversation: Step[] = [
      ...LOGIN,
      [0, query('SELECT a, b FROM t')],
      [
        1,
        resultSet(
          ['a', 'b'],
          [
            ['1', '2'],
            ['3', null],
          ],
          { deprecateEof: true },
        ),
      ],
      [0, query('UPDATE t SET a = 1')],
      [1, packet(1, ok({ affected: 2 }))],
    ];
    const strip = (r: ReturnType<typeof run>) => r.entries.map((e) => ({ ...e, timestamp: 0, elapsedMs: 0 }));
    const whole = strip(run(conversation));
    assert.equal(whole.length, 3);
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (cuts) => {
        const steps: Step[] = [];
        for (const st of conversation) {
          if (st[0] === 'gap') continue;
          const [dir, data] = st;
          const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
          let prev = 0;
          for (const c of [...at, data.length]) {
            if (c > prev) steps.push([dir, data.subarray(prev, c)]);
            prev = c;
          }
        }
        const got = run(steps);
        assert.deepEqual(got.errors, []);
        assert.deepEqual(strip(got), whole);
      }),
      { numRuns: 300 },
    );
  });

  test('compression (CLIENT_COMPRESS): zlib and stored packets after the login OK', () => {
    const caps = BASE_CAPS | CAPS.DEPRECATE_EOF | CAPS.COMPRESS;
    const zpacket = (seq: number, plain: Uint8Array, compress: boolean) => {
      const body = compress ? deflateSync(plain) : plain;
      return bytes(u24(body.length), [seq], u24(compress ? plain.length : 0), body);
    };
    const rows = Array.from({ length: 200 }, (_, i) => [String(i), 'same text, compressible']);
    const answer = resultSet(['id', 'v'], rows, { deprecateEof: true });
    const r = run([
      [1, packet(0, greeting({ caps }))],
      [0, packet(1, handshakeResponse({ caps }))],
      // The OK and the first compressed bytes in one segment: compression starts right after the OK.
      [1, packet(2, ok())],
      [0, zpacket(0, query('SELECT id, v FROM t'), false)],
      [1, bytes(zpacket(1, answer.subarray(0, 1000), true), zpacket(2, answer.subarray(1000), true))],
      [0, zpacket(0, query('SELECT 1'), true)],
      [1, zpacket(1, resultSet(['1'], [['1']], { deprecateEof: true }), false)],
    ]);
    assert.deepEqual(r.errors, []);
    assert.equal(r.entries[0]!.request.compressed, true);
    const [big, small] = commands(r);
    assert.equal(big!.response?.rows, 200, 'a packet split across compressed packets');
    assert.equal(big!.request.compressed, true);
    assert.equal(small!.path, 'SELECT 1');
    assert.equal(small!.response?.rows, 1);
  });

  test('a gap in an answer: the entry says so, the next command is picked up again', () => {
    const answer = resultSet(['a'], [['1'], ['2'], ['3']], { deprecateEof: true });
    const r = run([
      ...LOGIN,
      [0, query('SELECT a FROM t')],
      [1, answer.subarray(0, 20)],
      ['gap', 1, 30],
      [1, answer.subarray(50)],
      [0, query('SELECT 2')],
      [1, resultSet(['2'], [['2']], { deprecateEof: true })],
    ]);
    const [cut, next] = commands(r);
    assert.equal(cut!.error, 'response cut by a gap');
    assert.equal(cut!.status, null);
    assert.equal(next!.status, 'OK');
    assert.equal(next!.response?.rows, 1);
    assert.ok(r.errors.length >= 1);
  });

  test('a gap in the client stream: the lost command is skipped, its answer counted as stray', () => {
    const q = query('SELECT a FROM t');
    const r = run([
      ...LOGIN,
      [0, q.subarray(0, 6)],
      ['gap', 0, q.length - 6],
      [1, resultSet(['a'], [['1']], { deprecateEof: true })],
      [0, query('SELECT 2')],
      [1, resultSet(['2'], [['2']], { deprecateEof: true })],
    ]);
    assert.deepEqual(
      commands(r).map((e) => [e.path, e.status]),
      [['SELECT 2', 'OK']],
    );
    assert.deepEqual(r.errors, [
      'mysql: message cut by a gap in the stream',
      'mysql: response without a request',
    ]);
  });

  test('picked up mid-stream: the rest of an answer is skipped until the next command', () => {
    const rest = resultSet(['a'], [['1'], ['2']], { deprecateEof: true }).subarray(9);
    const r = run([
      [1, rest],
      [0, query('SELECT 2')],
      [1, resultSet(['2'], [['2']], { deprecateEof: true })],
      [0, command(0x0e)],
      [1, packet(1, ok())],
    ]);
    assert.deepEqual(r.errors, ['mysql: response without a request']);
    assert.deepEqual(
      r.entries.map((e) => [e.method, e.status, e.response?.rows]),
      [
        ['SELECT', 'OK', 1],
        ['PING', 'OK', undefined],
      ],
    );
  });

  test('mid-stream with the sides the other way round (the client has the lower port)', () => {
    const r = run([
      [1, query('SELECT 2')],
      [0, resultSet(['2'], [['2']])],
    ]);
    assert.deepEqual(r.errors, []);
    const e = r.entries[0]!;
    assert.equal(e.method, 'SELECT');
    assert.equal(e.response?.rows, 1, 'CLIENT_DEPRECATE_EOF learnt from the intermediate EOF');
    assert.equal(e.src?.port, 3306, 'the entry reads client -> server');
  });

  test('an ERR that answers nothing (a server closing an idle connection) is a parse error', () => {
    const r = run([
      ...LOGIN,
      [1, packet(0, err(4031, 'HY000', 'The client was disconnected by the server because of inactivity'))],
    ]);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, /server error 4031 without a request/);
  });

  test('unanswered commands: entries at close, and a bounded queue', () => {
    const steps: Step[] = [...LOGIN];
    for (let i = 0; i < MAX_PENDING + 10; i++) steps.push([0, query(`SELECT ${i}`)]);
    const r = run(steps);
    const cmds = commands(r);
    assert.equal(cmds.length, MAX_PENDING + 10);
    assert.equal(cmds.filter((e) => e.error === 'no response (too many commands pending)').length, 10);
    assert.equal(cmds.filter((e) => e.error === 'no response').length, MAX_PENDING);
  });

  test('a result set under an unknown CLIENT_DEPRECATE_EOF that ends with a definition', () => {
    // Mid-stream (no login): a prepare answered without EOFs ends where the next command begins.
    const r = run([
      [0, command(0x16, 'SELECT a FROM t')],
      [1, bytes(packet(1, prepareOk(3, 1, 0)), packet(2, columnDef('a')))],
      [0, command(0x17, bytes(u32(3), [0], u32(1)))],
      [
        1,
        bytes(
          packet(1, Uint8Array.of(1)),
          packet(2, columnDef('a')),
          packet(3, bytes([0], [0], lstr('v'))),
          packet(4, ok({ header: 0xfe })),
        ),
      ],
    ]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.entries.map((e) => [e.method, e.status, e.response?.rows]),
      [
        ['STMT_PREPARE', 'OK', undefined],
        ['SELECT', 'OK', 1],
      ],
    );
  });
});

describe('MySQL detection', () => {
  test('claims greetings, logins and commands', () => {
    assert.equal(detectMysql(1, packet(0, greeting())), 'yes');
    assert.equal(detectMysql(1, packet(0, greeting()).subarray(0, 8)), 'more');
    assert.equal(detectMysql(0, packet(1, handshakeResponse())), 'yes');
    assert.equal(detectMysql(0, query('SELECT 1')), 'yes');
    assert.equal(detectMysql(0, command(0x0e)), 'yes');
    assert.equal(detectMysql(0, command(0x17, bytes(u32(1), [0], u32(1)))), 'yes');
    assert.equal(detectMysql(1, query('select 1')), 'yes', 'either side may be the client mid-stream');
    assert.equal(
      detectMysql(0, bytes(u24(13), [0], u24(0), query('SELECT 1'))),
      'yes',
      'a compressed packet holding a command',
    );
  });

  test('turns down other protocols', () => {
    const others: [string, Uint8Array][] = [
      ['HTTP request', bytes('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
      ['HTTP response', bytes('HTTP/1.1 200 OK\r\n\r\n')],
      ['TLS ClientHello', Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03)],
      ['Redis', bytes('*1\r\n$4\r\nPING\r\n')],
      ['PostgreSQL startup', Uint8Array.of(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f)],
      ['AMQP', bytes('AMQP', [0, 0, 9, 1])],
      ['SSH', bytes('SSH-2.0-OpenSSH_9.2\r\n')],
      ['Kafka', Uint8Array.of(0, 0, 0, 20, 0, 3, 0, 9, 0, 0, 0, 1, 0, 4, 0x61, 0x62, 0x63, 0x64, 0, 0, 0, 0)],
    ];
    for (const [name, b] of others) {
      assert.equal(detectMysql(0, b), 'no', `${name} as client`);
      assert.equal(detectMysql(1, b), 'no', `${name} as server`);
    }
  });
});

describe('first SQL keyword', () => {
  const cases: [string, string][] = [
    ['select 1', 'SELECT'],
    ['  \n\tInsert into t values (1)', 'INSERT'],
    ['(SELECT 1) UNION (SELECT 2)', 'SELECT'],
    ['/* app:42 */ UPDATE t SET a = 1', 'UPDATE'],
    ['-- note\nDELETE FROM t', 'DELETE'],
    ['# note\nREPLACE INTO t VALUES (1)', 'REPLACE'],
    ['/*!40101 SET NAMES utf8 */', 'SET'],
    ['/*M!100100 SET STATEMENT max_statement_time=1 FOR */ SELECT 1', 'SET'],
    ['', 'QUERY'],
    ['/* unterminated', 'QUERY'],
    ['123', 'QUERY'],
  ];
  for (const [sql, want] of cases) test(JSON.stringify(sql), () => assert.equal(firstKeyword(sql), want));
});
