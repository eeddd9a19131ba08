/**
 * Every error the language reports: code, message, the text its span covers, the hint; one test
 * per query. Also the caret display, that every code in the catalogue is exercised here and
 * documented in docs/query.md, and that no input crashes with anything but a QueryError.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES, parseQuery, QueryError, type QueryErrorCode } from '../../src/query/index.js';
import { ROOT } from '../support/paths.js';

type Case = [query: string, code: QueryErrorCode, message: string, under: string, hint?: string];

const CASES: Case[] = [
  // query.syntax
  ['http or', 'query.syntax', 'the query ends where a condition or value is expected', ''],
  [
    'http redis',
    'query.syntax',
    "unexpected 'redis' after a complete condition",
    'redis',
    'join conditions with and / or (&& / ||)',
  ],
  [
    'http AND redis',
    'query.syntax',
    "unexpected 'AND' after a complete condition",
    'AND',
    'keywords are lower case: and',
  ],
  [
    'http)',
    'query.syntax',
    "unexpected ')' after a complete condition",
    ')',
    'this parenthesis closes nothing',
  ],
  ['(http', 'query.syntax', "expected ')', found the end of the query", ''],
  [
    'status == 5 == 4',
    'query.syntax',
    "comparisons do not chain: unexpected '=='",
    '==',
    'combine comparisons with and: a < b and b < c',
  ],
  ['status ==', 'query.syntax', 'the query ends where a condition or value is expected', ''],
  ['and', 'query.syntax', "expected a condition or value, found 'and'", 'and'],
  [
    'request.x[1.5] == 1',
    'query.syntax',
    'expected a string key or a whole number in [ ], found number 1.5',
    '1.5',
  ],
  [
    'request.x[-1] == 1',
    'query.syntax',
    "expected a string key or a whole number in [ ], found '-'",
    '-',
    'indexes count from 0; negative indexes are not supported',
  ],
  ['request. == 1', 'query.syntax', "expected a field name after '.', found '=='", '=='],
  ['"a".b == 1', 'query.syntax', "'.b' applies to a field only", 'b'],
  ['method in ["GET"', 'query.syntax', "expected ']' or ',', found the end of the query", ''],
  [
    'request.headers.x-id exists',
    'query.syntax',
    "'request.headers.x-id' reads as a subtraction",
    'request.headers.x-id',
    'a name with a hyphen needs brackets: request.headers["x-id"]',
  ],
  // query.character
  ['status = 500', 'query.character', "unexpected character '='", '=', 'compare with =='],
  ['http & redis', 'query.character', "unexpected character '&'", '&', 'write && or and'],
  ['http | redis', 'query.character', "unexpected character '|'", '|', 'write || or or'],
  [
    'request.path.* == "x"',
    'query.character',
    "unexpected character '*'",
    '*',
    'wildcard selectors and multiplication are not supported',
  ],
  [
    'status == 1 ? 2 : 3',
    'query.character',
    "unexpected character '?'",
    '?',
    'the conditional operator ?: is not supported',
  ],
  ['status # 1', 'query.character', "unexpected character '#'", '#'],
  ['path == 😀', 'query.character', "unexpected character '😀'", '😀'],
  // query.unterminated-string
  ['path == "abc', 'query.unterminated-string', 'string has no closing "', '"abc'],
  ["path == r'abc", 'query.unterminated-string', "regular expression has no closing '", "r'abc"],
  // query.escape
  [
    'path == "a\\qb"',
    'query.escape',
    "unknown escape '\\q'",
    '\\q',
    'escapes are \\\\ \\" \\\' \\n \\r \\t \\xHH \\uHHHH \\UHHHHHHHH; write a backslash as \\\\',
  ],
  ['path == "\\u12"', 'query.escape', '\\u needs 4 hexadecimal digits', '\\u12"'],
  [
    'path == "\\U00110000"',
    'query.escape',
    '\\U00110000 is beyond the last code point U+10FFFF',
    '\\U00110000',
  ],
  ['path == "\\uD800"', 'query.escape', 'the string holds an unpaired surrogate', '"\\uD800"'],
  // query.number
  ['status == 0x', 'query.number', 'a hexadecimal number needs digits after 0x', '0x'],
  ['status == 12abc', 'query.number', "malformed number '12abc'", '12abc'],
  ['status == 1e999', 'query.number', "number '1e999' is too large", '1e999'],
  [
    'status == 9007199254740993',
    'query.number',
    "integer '9007199254740993' has no exact double (it would read as 9007199254740992)",
    '9007199254740993',
  ],
  // query.unknown-field
  [
    'dst.nmae == "backend"',
    'query.unknown-field',
    "unknown field 'dst.nmae'; did you mean 'dst.name'?",
    'dst.nmae',
  ],
  [
    'dst.pod.nmae == "x"',
    'query.unknown-field',
    "unknown field 'dst.pod.nmae'; did you mean 'dst.pod.name'?",
    'dst.pod.nmae',
  ],
  ['stauts >= 500', 'query.unknown-field', "unknown field 'stauts'; did you mean 'status'?", 'stauts'],
  ['htp', 'query.unknown-field', "unknown field 'htp'; did you mean 'http'?", 'htp'],
  [
    'statuscode == 200',
    'query.unknown-field',
    "unknown field 'statuscode'; did you mean 'status_code'?",
    'statuscode',
  ],
  [
    'reqest.headers["x"] exists',
    'query.unknown-field',
    `unknown field 'reqest.headers["x"]'; did you mean 'request.headers'?`,
    'reqest.headers["x"]',
  ],
  [
    'src.foo == 1',
    'query.unknown-field',
    "unknown field 'src.foo'",
    'src.foo',
    'src has ip, port, name, pod.name, service.name, namespace, pod.namespace, service.namespace, kind, workload, node',
  ],
  [
    'zzzzqqq == 1',
    'query.unknown-field',
    "unknown field 'zzzzqqq'",
    'zzzzqqq',
    'the fields are listed in docs/query.md ("Fields")',
  ],
  [
    'src.name.first == "x"',
    'query.unknown-field',
    "'src.name' is a string; it has no field 'first'",
    'first',
  ],
  ['src[0] == 1', 'query.unknown-field', "'src' is an object; it has no index [0]", '0'],
  [
    'namespaces.x == 1',
    'query.unknown-field',
    "'namespaces' is a list; it has no field 'x'",
    'x',
    'test it with in: "x" in namespaces',
  ],
  // query.unknown-function
  [
    'size(path) > 1',
    'query.unknown-function',
    "unknown function 'size'",
    'size',
    'functions are timestamp("..."), duration("..."), now() and has(field)',
  ],
  [
    'path.lower() == "x"',
    'query.unknown-function',
    "unknown method 'lower'",
    'lower',
    'methods are contains, startsWith, endsWith and matches',
  ],
  [
    'path.startswith("/api")',
    'query.unknown-function',
    "unknown method 'startswith'; did you mean 'startsWith'?",
    'startswith',
    'methods are contains, startsWith, endsWith and matches',
  ],
  // query.arity
  ['now(1) > 0', 'query.arity', 'now() takes 0 arguments, got 1', 'now(1)'],
  ['path.contains()', 'query.arity', 'contains() takes 1 argument, got 0', 'contains()'],
  ['path.contains("a", "b")', 'query.arity', 'contains() takes 1 argument, got 2', 'contains("a", "b")'],
  ['has()', 'query.arity', 'has() takes 1 argument, got 0', 'has()'],
  ['timestamp > timestamp()', 'query.arity', 'timestamp() takes 1 argument, got 0', 'timestamp()'],
  // query.type
  [
    'dst.port == "80"',
    'query.type',
    "cannot compare 'dst.port' (a number) with a string",
    '"80"',
    'write the number without quotes: dst.port == 80',
  ],
  [
    'method == 5',
    'query.type',
    "cannot compare 'method' (a string) with a number",
    '5',
    'quote it: method == "5"',
  ],
  [
    'status',
    'query.type',
    "'status' is a string or a number, not a condition",
    'status',
    'compare it or test it: status exists',
  ],
  ['1', 'query.type', '1 is not a condition', '1', 'compare it with a field: status == 500'],
  [
    'src == "x"',
    'query.type',
    "'src' is an object; compare one of its fields",
    'src',
    'for example src.name',
  ],
  [
    'timestamp > "2026"',
    'query.type',
    "cannot compare 'timestamp' (a timestamp) with a string",
    '"2026"',
    'write timestamp("2026")',
  ],
  [
    'timestamp > duration("5m")',
    'query.type',
    "cannot compare 'timestamp' (a timestamp) with a duration",
    'duration("5m")',
    'a duration is not a point in time; write now() - duration(...)',
  ],
  [
    'elapsedMs > timestamp("2026-01-02T03:04:05Z")',
    'query.type',
    "cannot compare 'elapsedMs' (a duration) with a timestamp",
    'timestamp("2026-01-02T03:04:05Z")',
  ],
  [
    'request.x == duration("1s")',
    'query.type',
    "'request.x' has no unit to read a duration in",
    'duration("1s")',
    'compare durations with elapsedMs (ms) or elapsed_time (µs)',
  ],
  ['path contains 5', 'query.type', 'contains takes a string literal', '5'],
  ['path.startsWith(path)', 'query.type', 'startsWith takes a string literal', 'path'],
  [
    'path.contains(r"x")',
    'query.type',
    'contains takes a string, not a regular expression',
    'r"x"',
    'use matches for a pattern',
  ],
  ['path matches 5', 'query.type', 'matches takes a regular expression: a string or r"..."', '5'],
  [
    'dst.port.contains("8")',
    'query.type',
    "contains applies to text; 'dst.port' is a number",
    'dst.port',
    'compare numbers with == < >, or match their digits: dst.port == r"..."',
  ],
  [
    '"x" in path',
    'query.type',
    "in tests elements of a list or keys of an object; 'path' is a string",
    'path',
    'for a substring write path.contains("x")',
  ],
  ['src.name in 5', 'query.type', 'the right side of in must be a field or a list [...]', '5'],
  ['status < null', 'query.type', 'null can only be compared with == or !=', 'null', 'status exists'],
  ['status < true', 'query.type', 'booleans are not ordered', 'true'],
  [
    'http == true',
    'query.type',
    "'http' is a protocol condition, not a value",
    'http',
    'write protocol == "http" to compare the protocol',
  ],
  ['http exists', 'query.type', "'http' is a protocol condition; use it alone", 'http'],
  ['now() exists', 'query.type', 'exists applies to a field', 'now()'],
  [
    'src.port - dst.port > 0',
    'query.type',
    '- applies to constants, not to fields',
    'src.port - dst.port',
    'arithmetic applies to numbers, timestamp(), duration() and now()',
  ],
  ['namespaces == "x"', 'query.type', 'a list can only be tested with in', 'namespaces', '"x" in namespaces'],
  ['request.x < r"a"', 'query.type', 'a regular expression can only be compared with == or !=', 'r"a"'],
  [
    'path == duration("1s")',
    'query.type',
    "cannot compare 'path' (a string) with a duration",
    'duration("1s")',
  ],
  ['"a" == 1', 'query.type', 'cannot compare a string with a number', '"a" == 1'],
  ['r"a" == r"b"', 'query.type', 'cannot compare two regular expressions', 'r"a" == r"b"'],
  [
    'method in [path]',
    'query.type',
    'list items must be strings, numbers, booleans, null or timestamps',
    'path',
  ],
  ['status == -"a"', 'query.type', '- applies to numbers and durations only', '-"a"'],
  ['status == (http and grpc)', 'query.type', 'a condition cannot be used as a value here', 'http and grpc'],
  [
    'timestamp > timestamp(5)',
    'query.type',
    'timestamp() takes a string literal',
    '5',
    'timestamp("2026-01-02T03:04:05Z")',
  ],
  [
    'timestamp > duration("1s") - now()',
    'query.type',
    'cannot subtract a timestamp from a duration',
    'duration("1s") - now()',
  ],
  ['true == r"x"', 'query.type', 'a regular expression matches strings and numbers only', 'true'],
  ['[1] == r"x"', 'query.type', 'a regular expression matches a field', '[1]'],
  ['src == r"x"', 'query.type', "'src' is an object; regular expressions match text", 'src'],
  ['5 contains "x"', 'query.type', 'contains applies to strings', '5'],
  [
    'namespaces contains "x"',
    'query.type',
    'contains applies to a text field',
    'namespaces',
    'to test membership write "x" in namespaces',
  ],
  [
    'namespaces',
    'query.type',
    "'namespaces' is a list, not a condition",
    'namespaces',
    'test it with in: "x" in namespaces',
  ],
  ['now()', 'query.type', 'this is a value, not a condition', 'now()', 'compare it: status >= 500'],
  ['r"x" in request.headers', 'query.type', 'the left side of in must be a value or a field', 'r"x"'],
  ['null in namespaces', 'query.type', 'null is never in namespaces', 'null'],
  ['duration("1s") in request.x', 'query.type', 'a duration has no unit here', 'duration("1s")'],
  ['dns_questions exists', 'query.type', "'dns_questions' is a list; test it with in", 'dns_questions'],
  [
    'src.port == dst.name',
    'query.type',
    "cannot compare 'src.port' (a number) with 'dst.name' (a string)",
    'src.port == dst.name',
  ],
  ['duration("1s") > 5', 'query.type', 'cannot compare a duration with a number', 'duration("1s") > 5'],
  ['null < 1', 'query.type', 'null can only be compared with == or !=', 'null < 1'],
  ['"a"[0] == 1', 'query.syntax', "'[0]' applies to a field only", '0'],
  [
    'tiemstamp("x")',
    'query.unknown-function',
    "unknown function 'tiemstamp'; did you mean 'timestamp'?",
    'tiemstamp',
    'functions are timestamp("..."), duration("..."), now() and has(field)',
  ],
  // query.value
  [
    'protocol == "HTTP"',
    'query.value',
    `'protocol' is never "HTTP"; did you mean "http"?`,
    '"HTTP"',
    'protocol is one of http, grpc, graphql, websocket, tls, dns, redis, postgres, mysql, kafka, amqp, mqtt, nats',
  ],
  [
    'dst.kind == "Pod"',
    'query.value',
    `'dst.kind' is never "Pod"; did you mean "pod"?`,
    '"Pod"',
    'dst.kind is one of pod, service, node, external',
  ],
  [
    'protocol in ["http", "HTTPS"]',
    'query.value',
    `'protocol' is never "HTTPS"; did you mean "http"?`,
    '"HTTPS"',
    'protocol is one of http, grpc, graphql, websocket, tls, dns, redis, postgres, mysql, kafka, amqp, mqtt, nats',
  ],
  // query.regex
  ['path.matches("(")', 'query.regex', 'invalid regular expression: Unterminated group', '"("'],
  ['path.matches("\\\\A")', 'query.regex', 'invalid regular expression: Invalid escape', '"\\\\A"'],
  [
    'path == r"(a+)+"',
    'query.regex',
    'invalid regular expression: nested unbounded repetition such as (a+)+ can take exponential time; rewrite it',
    'r"(a+)+"',
  ],
  [
    'path.matches("(x*)*y")',
    'query.regex',
    'invalid regular expression: nested unbounded repetition such as (a+)+ can take exponential time; rewrite it',
    '"(x*)*y"',
  ],
  [
    'path.matches("(a)\\\\1")',
    'query.regex',
    'invalid regular expression: backreferences (\\1, \\k<name>) are not supported (RE2 syntax, as in CEL)',
    '"(a)\\\\1"',
  ],
  [
    'path.matches("(?=x)")',
    'query.regex',
    'invalid regular expression: lookahead and lookbehind are not supported (RE2 syntax, as in CEL)',
    '"(?=x)"',
  ],
  [
    'path.matches("(?U)x")',
    'query.regex',
    "invalid regular expression: flag 'U' in (?U) is not supported (only i, m and s)",
    '"(?U)x"',
  ],
  // query.timestamp
  [
    'timestamp > timestamp("yesterday")',
    'query.timestamp',
    'invalid timestamp: expected an RFC 3339 date-time such as "2026-01-02T03:04:05Z"',
    '"yesterday"',
  ],
  [
    'timestamp > timestamp("2026-13-01T00:00:00Z")',
    'query.timestamp',
    'invalid timestamp: month 13 is not 1 to 12',
    '"2026-13-01T00:00:00Z"',
  ],
  [
    'timestamp > timestamp("2026-02-29T00:00:00Z")',
    'query.timestamp',
    'invalid timestamp: day 29 is not in 2026-02',
    '"2026-02-29T00:00:00Z"',
  ],
  // query.duration
  [
    'elapsedMs > duration("5 minutes")',
    'query.duration',
    'invalid duration: expected a duration such as "1.5s", "300ms", "5m" or "1h30m" (units ns us ms s m h)',
    '"5 minutes"',
  ],
  [
    'elapsedMs > duration("5d")',
    'query.duration',
    'invalid duration: expected a duration such as "1.5s", "300ms", "5m" or "1h30m" (units ns us ms s m h)',
    '"5d"',
  ],
  // query.limit
  [`${'('.repeat(65)}http${')'.repeat(65)}`, 'query.limit', 'query is nested more than 64 levels deep', '('],
  [`${'not '.repeat(65)}http`, 'query.limit', 'query is nested more than 64 levels deep', 'not'],
  [
    `${'http or '.repeat(2100)}http`,
    'query.limit',
    'query is 16804 characters long; at most 16384 are accepted',
    '',
  ],
];

function caught(query: string): QueryError {
  try {
    parseQuery(query);
  } catch (e) {
    assert.ok(e instanceof QueryError, `not a QueryError: ${String(e)}`);
    return e;
  }
  assert.fail(`accepted: ${query}`);
}

describe('query errors', () => {
  for (const [query, code, message, under, hint] of CASES) {
    test(query.length > 80 ? `${query.slice(0, 60)}... (${query.length} characters)` : query, () => {
      const e = caught(query);
      assert.equal(e.code, code);
      assert.equal(e.message, message);
      const covered = query.slice(e.span.start, e.span.end);
      if (code === 'query.limit' && under === '') assert.equal(e.span.start, 16384);
      else assert.equal(covered, under);
      assert.equal(e.hint, hint);
    });
  }

  test('format() shows the query with carets under the span, then the hint', () => {
    const text = 'http and dst.nmae == "backend"';
    assert.equal(
      caught(text).format(text),
      [
        "unknown field 'dst.nmae'; did you mean 'dst.name'? [query.unknown-field]",
        '  http and dst.nmae == "backend"',
        '           ^^^^^^^^',
      ].join('\n'),
    );
    const t2 = 'dst.port == "80"';
    assert.equal(
      caught(t2).format(t2),
      [
        "cannot compare 'dst.port' (a number) with a string [query.type]",
        '  dst.port == "80"',
        '              ^^^^',
        'hint: write the number without quotes: dst.port == 80',
      ].join('\n'),
    );
  });

  test('format() on a multi-line query shows the line of the error; an empty span gets one caret', () => {
    const text = 'http\n  and\tstauts >= 500';
    assert.equal(
      caught(text).format(text),
      [
        "unknown field 'stauts'; did you mean 'status'? [query.unknown-field]",
        '    and stauts >= 500',
        '        ^^^^^^',
      ].join('\n'),
    );
    const t2 = 'http or';
    assert.equal(caught(t2).format(t2).split('\n').slice(1).join('\n'), '  http or\n         ^');
  });

  test('every code of the catalogue is exercised above and documented in docs/query.md', () => {
    const tested = new Set(CASES.map((c) => c[1]));
    const docs = readFileSync(join(ROOT, 'docs', 'query.md'), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) {
      assert.ok(tested.has(code as QueryErrorCode), `${code} has no test`);
      assert.match(
        docs,
        new RegExp(`\\| \`${code.replace('.', '\\.')}\` \\|`),
        `${code} is not in docs/query.md`,
      );
    }
    const documented = [...docs.matchAll(/\| `(query\.[a-z-]+)` \|/g)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(ERROR_CODES).sort(), 'docs list exactly the catalogue');
  });

  test('random text never fails with anything but a QueryError', () => {
    const pieces = fc.constantFrom(
      'http',
      'status',
      'request.headers',
      '["x"]',
      '[0]',
      '.',
      '(',
      ')',
      '[',
      ']',
      ',',
      '==',
      '!=',
      '<',
      '>=',
      'and',
      'or',
      'not',
      '!',
      '&&',
      '||',
      'in',
      'exists',
      'contains',
      '.matches(',
      'r"',
      '"',
      "'",
      '\\',
      '5',
      '-',
      '1e3',
      'null',
      'true',
      'now()',
      'duration("',
      'timestamp(',
      '+',
      ' ',
      'has(',
      'é',
      '😀',
      '\u0000',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.array(pieces, { maxLength: 12 }).map((a) => a.join('')),
          fc.string({ maxLength: 30 }),
        ),
        (text) => {
          try {
            parseQuery(text);
          } catch (e) {
            if (!(e instanceof QueryError)) throw e;
            assert.ok(
              e.span.start >= 0 && e.span.end <= text.length && e.span.start <= e.span.end,
              `span of ${text}`,
            );
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
