/**
 * plain-head.ts against its reference, parseHeadText (the head decoded as text, split and matched
 * with regular expressions): for any bytes — heads with CRLF, LF and bare CR line ends, obs-fold,
 * blanks around names and values, tabs, colons, control bytes, UTF-8 and broken UTF-8, bad start
 * lines, heads not yet whole — parseHead must answer exactly what parseHeadText answers. Each input
 * is parsed twice, so that lines remembered by the first parse are met again by the second.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type HeadResult, parseHead, parseHeadText } from '../../../src/dissect/http1/parser.js';

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** Bytes that matter to the line reader, and some that do not; rarely, bytes it leaves to parseHeadText. */
const piece = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('a', 'Z', '0', '-', '/', '.', '=', ';', ',', '"', '~') },
  { weight: 10, arbitrary: fc.constantFrom(' ', '\t', ':', ' : ') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\r', '\x00', '\x0b', '\x7f', '\xa0', '\xe9', '\xef\xbb\xbf', '\xc3\xa9'),
  },
);
const text = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
const eol = fc.oneof(
  { weight: 20, arbitrary: fc.constant('\r\n') },
  { weight: 6, arbitrary: fc.constant('\n') },
  { weight: 1, arbitrary: fc.constant('\r') },
);

const fieldLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom('Host', 'content-length', 'X-Id', 'Date', 'Set-Cookie'), text, text)
      .map(([n, pad, v]) => `${n}:${pad}${v}`),
  },
  { weight: 2, arbitrary: fc.tuple(text, text).map(([n, v]) => `${n}:${v}`) },
  { weight: 1, arbitrary: text.map((v) => ` ${v}`) }, // obs-fold
  { weight: 1, arbitrary: text },
);
const fields = fc.array(fc.tuple(fieldLine, eol), { maxLength: 6 });

const requestLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('GET', 'POST', 'M-SEARCH', 'get'),
        fc.constantFrom('/', '/a?b=c', '*', 'http://h/x'),
      )
      .map(([m, t]) => `${m} ${t} HTTP/1.1`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(text, text, fc.constantFrom('0', '1', '2', '1 '))
      .map(([m, t, v]) => `${m} ${t} HTTP/1.${v}`),
  },
  { weight: 1, arbitrary: text },
);

const statusLine = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.constantFrom('0', '1'),
        fc.constantFrom('200', '404', '101'),
        fc.constantFrom('', ' OK', '\tOK', ' ', ' Not Found'),
      )
      .map(([v, c, r]) => `HTTP/1.${v} ${c}${r}`),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('HTTP/1.1 ', 'HTTP/1.1 2', 'HTTP/2 '), text).map(([a, b]) => a + b),
  },
  { weight: 1, arbitrary: text },
);

function head(dir: 0 | 1) {
  return fc
    .tuple(
      dir === 0 ? requestLine : statusLine,
      eol,
      fields,
      fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '', '\r'),
      fc.constantFrom('', 'body', '\r\n'),
    )
    .map(([start, e0, fields, end, body]) =>
      ascii(start + e0 + fields.map(([f, e]) => f + e).join('') + end + body),
    );
}

/** Whether a result came from plain-head.ts (its field pairs are frozen, the text parser's are not). */
function plain(r: HeadResult): boolean {
  return r.kind === 'message' && r.head.headers.length > 0 && Object.isFrozen(r.head.headers[0]);
}

describe('HTTP/1 plain heads', () => {
  for (const dir of [0, 1] as const) {
    test(`${dir === 0 ? 'requests' : 'responses'}: parseHead answers as parseHeadText`, () => {
      let fast = 0;
      fc.assert(
        fc.property(head(dir), (buf) => {
          const want = parseHeadText(buf, dir);
          for (let i = 0; i < 2; i++) {
            const got = parseHead(buf, dir);
            assert.deepEqual(got, want);
            if (plain(got)) fast++;
          }
        }),
        { numRuns: 4000 },
      );
      assert.ok(fast > 300, `the plain reader took ${fast} heads`);
    });
  }

  test('the usual heads take the plain reader, and the same line yields the same pair', () => {
    const req = ascii('GET /api/v1/pods?watch=1 HTTP/1.1\r\nHost: api:8080\r\nAccept: */*\r\n\r\n');
    const a = parseHead(req, 0);
    const b = parseHead(req, 0);
    assert.ok(a.kind === 'message' && b.kind === 'message');
    assert.deepEqual(a.head, {
      kind: 'request',
      method: 'GET',
      target: '/api/v1/pods?watch=1',
      version: '1.1',
      headers: [
        ['Host', 'api:8080'],
        ['Accept', '*/*'],
      ],
      size: req.length,
    });
    assert.equal(a.head.headers[0], b.head.headers[0], 'a line met again is not parsed again');
    assert.notEqual(a.head.headers, b.head.headers, 'each head has its own list');
    const resp = ascii('HTTP/1.0 404 Not Found\nContent-Length:  12 \n\nnot found...');
    const r = parseHead(resp, 1);
    assert.ok(r.kind === 'message' && plain(r));
    assert.deepEqual(r.head, {
      kind: 'response',
      version: '1.0',
      status: 404,
      reason: 'Not Found',
      headers: [['Content-Length', '12']],
      size: resp.length - 12,
    });
  });
});
