/**
 * Values where JavaScript and SQLite part ways unless the compilers take care (sql.ts's header):
 * code point order above U+FFFF, NUL inside strings, integers above 2^53 in JSON text, booleans
 * that json_extract turns into 1/0, header names in two cases, inherited JavaScript properties,
 * a bad regular expression reaching the SQL function, and the regexp cache's bound. Each query
 * runs as the predicate and as SQL; the expected rows come from the rules in docs/query.md.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  compileSql,
  parseQuery,
  QueryError,
  REGEX_CACHE_SIZE,
  regexCacheStats,
  registerSqlFunctions,
} from '../../src/query/index.js';
import { both, Store } from './support.js';

const base = {
  type: 'entry',
  id: 'e',
  protocol: 'http',
  timestamp: 1,
  elapsedMs: 1,
  src: { ip: '10.0.0.1', port: 1 },
  dst: { ip: '10.0.0.2', port: 2 },
  method: 'GET',
  path: '/',
  status: 200,
  request: {},
  response: null,
  requestSize: 0,
  responseSize: 0,
  connectionId: 1,
  error: null,
};

const ENTRIES = [
  // 0: astral path, status above 2^53 as JavaScript prints it, headers in two cases.
  {
    ...base,
    path: '😀',
    status: 2 ** 60,
    request: { headers: { 'X-Id': 'first', 'x-id': 'second' }, flag: true, n: 1, big: 2 ** 60 },
  },
  // 1: a private-use BMP character (sorts below 😀 by code point, above it by UTF-16 unit).
  { ...base, path: '\ue000', request: { flag: false, n: 0, list: [true, 1, '1', null] } },
  // 2: NUL inside strings.
  { ...base, path: 'ab\u0000cd', method: '', request: { s: '\u0000' } },
  // 3: an elapsed time whose µs overflow the doubles.
  { ...base, elapsedMs: 1.7e306, request: { proto: 'inherited?' } },
];

const store = new Store();
store.load(ENTRIES);

const CASES: [string, number[]][] = [
  ['path > "\\uffff"', [0]],
  ['path < "😀"', [1, 2, 3]],
  ['path >= "\\ue000"', [0, 1]],
  ['path.startsWith("ab\\u0000")', [2]],
  ['path.endsWith("\\u0000cd")', [2]],
  ['path.endsWith("cd")', [2]],
  ['path contains "\\u0000"', [2]],
  ['request.s == "\\u0000"', [2]],
  ['method.endsWith("x")', []],
  ['path.startsWith("\\U0010FFFF")', []],
  ['status == 1152921504606846976', [0]],
  ['status == 1152921504606847000', [0]],
  ['status > 1e18', [0]],
  ['request.big == 1152921504606846976', [0]],
  ['request.big >= 1152921504606847000', [0]],
  ['request.big == r"1152921504606847000"', [0]],
  ['request.big in [1152921504606846976]', [0]],
  ['request.flag == true', [0]],
  ['request.flag', [0]],
  ['not request.flag', [1, 2, 3]],
  ['request.flag == false', [1]],
  ['request.flag == 1', []],
  ['request.n == true', []],
  ['request.n == 1', [0]],
  ['true in request.list', [1]],
  ['1 in request.list', [1]],
  ['"1" in request.list', [1]],
  ['null in request.list', [1]],
  ['false in request.list', []],
  ['request.headers["x-id"] == "first"', [0]],
  ['request.headers["X-ID"] == "first"', [0]],
  ['"X-ID" in request.headers', [0]],
  ['request.constructor exists', []],
  ['"constructor" in request', []],
  ['request.proto exists', [3]],
  ['"__proto__" in request', []],
  ['"length" in request.list', []],
  ['request.list.length exists', []],
  ['elapsed_time > 1e300', [3]],
  ['elapsed_time == 1.7976931348623157e308', [3]],
];

describe('edge values agree and follow the rules', () => {
  for (const [query, expected] of CASES) {
    test(query, () => {
      const { js, sql } = both(store, query, ENTRIES);
      assert.deepEqual(js, expected, 'predicate');
      assert.deepEqual(sql, expected, 'SQL');
    });
  }
});

describe('the regexp SQL function', () => {
  test('a pattern the checker would refuse is an error, not a crash or a silent 0', () => {
    const db = new Database(':memory:');
    registerSqlFunctions(db);
    assert.deepEqual(db.prepare("SELECT regexp('^a.c$', 'abc') AS r").get(), { r: 1 });
    assert.deepEqual(
      db.prepare("SELECT regexp('4..', 404) AS r, regexp('x', NULL) AS n, regexp('x', x'78') AS b").get(),
      {
        r: 1,
        n: null,
        b: 0,
      },
    );
    assert.throws(
      () => db.prepare("SELECT regexp('(', 'x')").get(),
      (e: unknown) =>
        e instanceof QueryError &&
        e.code === 'query.regex' &&
        e.message === 'invalid regular expression /(/: Unterminated group',
    );
    assert.throws(() => db.prepare("SELECT regexp('(a+)+$', 'x')").get(), /nested unbounded repetition/);
    db.close();
  });

  test(`the cache of compiled patterns holds at most ${REGEX_CACHE_SIZE} and counts evictions`, () => {
    const db = new Database(':memory:');
    registerSqlFunctions(db);
    const evicted = regexCacheStats.evicted;
    const stmt = db.prepare('SELECT regexp(?, ?) AS r');
    for (let i = 0; i < REGEX_CACHE_SIZE + 50; i++) assert.deepEqual(stmt.get(`^p${i}$`, `p${i}`), { r: 1 });
    assert.ok(regexCacheStats.evicted - evicted >= 50, `evicted ${regexCacheStats.evicted - evicted}`);
    const hits = regexCacheStats.hits;
    stmt.get(`^p${REGEX_CACHE_SIZE + 49}$`, 'x');
    assert.equal(regexCacheStats.hits, hits + 1);
    db.close();
  });

  test('a query with a regular expression on a connection without the function says so', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (json TEXT); INSERT INTO t VALUES (\'{"path":"/a"}\')');
    const { sql, params } = compileQuerySql('path.matches("^/a")');
    assert.throws(
      () => db.prepare(`SELECT 1 FROM t WHERE ${sql}`).all(...params),
      /no such function: regexp/,
    );
    db.close();
  });
});

function compileQuerySql(text: string) {
  return compileSql(parseQuery(text), { column: () => null, json: 't.json' });
}
