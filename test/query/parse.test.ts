/**
 * The grammar: what tree each query parses to (written as an S-expression), the spans nodes carry,
 * and serialize's round trip. Precedence follows DESIGN.md: `or < and < not < comparison`, with
 * `and`/`or` at different levels (unlike Kubeshark v1), `&& || !` the same as `and or not`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Expr, parseQuery, serialize } from '../../src/query/index.js';

/** A compact S-expression of the tree (no spans). */
function shape(e: Expr): string {
  switch (e.type) {
    case 'MatchAll':
      return '(all)';
    case 'Logical':
      return `(${e.token} ${shape(e.left)} ${shape(e.right)})`;
    case 'Not':
      return `(${e.token} ${shape(e.operand)})`;
    case 'Group':
      return `(group ${shape(e.expr)})`;
    case 'Compare':
      return `(${e.op} ${shape(e.left)} ${shape(e.right)})`;
    case 'Match':
      return `(${e.op}${e.style === 'method' ? '()' : ''} ${shape(e.subject)} ${shape(e.pattern)})`;
    case 'Exists':
      return `(${e.style === 'has' ? 'has' : 'exists'} ${shape(e.subject)})`;
    case 'In':
      return `(in ${shape(e.element)} ${shape(e.collection)})`;
    case 'Path':
      return e.segments
        .map((s) => (s.kind === 'name' ? s.raw : `[${s.kind}:${JSON.stringify(s.value)}]`))
        .join('.');
    case 'Literal':
      return JSON.stringify(e.value);
    case 'Regex':
      return `/${e.pattern}/`;
    case 'List':
      return `[${e.items.map(shape).join(' ')}]`;
    case 'Call':
      return `(${e.name}${e.args.map((a) => ` ${shape(a)}`).join('')})`;
    case 'Arith':
      return `(${e.op} ${shape(e.left)} ${shape(e.right)})`;
    case 'Negate':
      return `(neg ${shape(e.operand)})`;
  }
}

const TREES: [string, string][] = [
  ['http or redis and status == "OK"', '(or http (and redis (== status "OK")))'],
  ['http and redis or grpc', '(or (and http redis) grpc)'],
  ['http || redis && grpc', '(|| http (&& redis grpc))'],
  ['http and redis and grpc', '(and (and http redis) grpc)'],
  ['http or redis or grpc', '(or (or http redis) grpc)'],
  ['(http or redis) and grpc', '(and (group (or http redis)) grpc)'],
  ['not status == 500', '(not (== status 500))'],
  ['!status == 500', '(! (== status 500))'],
  ['!http && grpc', '(&& (! http) grpc)'],
  ['not not http', '(not (not http))'],
  ['not http or grpc', '(or (not http) grpc)'],
  ['status >= 500', '(>= status 500)'],
  ['500 <= status', '(<= 500 status)'],
  ['request.path contains "/admin"', '(contains request.path "/admin")'],
  ['path.startsWith("/api")', '(startsWith() path "/api")'],
  [
    'path endsWith ".js" and path.matches("^/v[0-9]")',
    '(and (endsWith path ".js") (matches() path "^/v[0-9]"))',
  ],
  ['request.headers["Authorization"] exists', '(exists request.headers.[key:"Authorization"])'],
  ['has(request.headers)', '(has request.headers)'],
  ['"x-id" in request.headers', '(in "x-id" request.headers)'],
  ['method in ["GET", \'POST\']', '(in method ["GET" "POST"])'],
  ['response.status == r"4.*"', '(== response.status /4.*/)'],
  ['request.questions[0].name', 'request.questions.[index:0].name'],
  ['request.headers.x.y["z w"][12]', 'request.headers.x.y.[key:"z w"].[index:12]'],
  ['request.and.in.not == 1', '(== request.and.in.not 1)'],
  ['timestamp > now() - duration("5m")', '(> timestamp (- (now) (duration "5m")))'],
  ['timestamp >= timestamp("2026-01-02T03:04:05Z")', '(>= timestamp (timestamp "2026-01-02T03:04:05Z"))'],
  ['request.x == -1', '(== request.x (neg 1))'],
  ['request.x == - - 1', '(== request.x (neg (neg 1)))'],
  ['timestamp > 3 - 2 - 1', '(> timestamp (- (- 3 2) 1))'],
  ['request.x == null or request.y == nil', '(or (== request.x null) (== request.y null))'],
  ['request.x == true and request.y != false', '(and (== request.x true) (!= request.y false))'],
  ['request.x == 0x1F', '(== request.x 31)'],
  ['request.x == 5u', '(== request.x 5)'],
  ['request.x == 1.5e3', '(== request.x 1500)'],
  ['request.x == "a\\tb\\u00e9\\x41\\101\\U0001F600"', '(== request.x "a\\tbéAA😀")'],
  ["request.x == 'it\\'s'", '(== request.x "it\'s")'],
  ['request.x == r"a\\"b\\d"', '(== request.x /a"b\\d/)'],
  ['', '(all)'],
  ['  \n\t ', '(all)'],
];

describe('parse trees', () => {
  for (const [query, tree] of TREES) {
    test(query.trim() === '' ? JSON.stringify(query) : query, () => {
      assert.equal(shape(parseQuery(query).ast), tree);
    });
  }
});

describe('spans', () => {
  test('dst.name == "backend" and not http', () => {
    const text = 'dst.name == "backend" and not http';
    const ast = parseQuery(text).ast;
    assert.equal(ast.type, 'Logical');
    if (ast.type !== 'Logical') return;
    assert.deepEqual(ast.span, { start: 0, end: text.length });
    const cmp = ast.left;
    assert.equal(cmp.type, 'Compare');
    if (cmp.type !== 'Compare') return;
    assert.deepEqual(cmp.span, { start: 0, end: 21 });
    assert.equal(text.slice(cmp.left.span.start, cmp.left.span.end), 'dst.name');
    assert.equal(text.slice(cmp.right.span.start, cmp.right.span.end), '"backend"');
    assert.equal(text.slice(ast.right.span.start, ast.right.span.end), 'not http');
  });

  test('request.headers["x-id"].contains("7")', () => {
    const text = 'request.headers["x-id"].contains("7")';
    const ast = parseQuery(text).ast;
    assert.equal(ast.type, 'Match');
    if (ast.type !== 'Match') return;
    assert.deepEqual(ast.span, { start: 0, end: text.length });
    assert.equal(ast.subject.type, 'Path');
    if (ast.subject.type !== 'Path') return;
    assert.equal(text.slice(ast.subject.span.start, ast.subject.span.end), 'request.headers["x-id"]');
    assert.deepEqual(
      ast.subject.segments.map((s) => text.slice(s.span.start, s.span.end)),
      ['request', 'headers', '"x-id"'],
    );
  });

  test('(http)', () => {
    const ast = parseQuery('(http)').ast;
    assert.deepEqual(ast.span, { start: 0, end: 6 });
    assert.equal(ast.type, 'Group');
  });
});

const ROUND_TRIPS: [string, string][] = [
  ['http   and\tresponse.status>=500', 'http and response.status >= 500'],
  [
    'http&&status_code>=500&&dst.pod.namespace=="prod"',
    'http && status_code >= 500 && dst.pod.namespace == "prod"',
  ],
  ["path == 'single'", "path == 'single'"],
  ['status == nil', 'status == nil'],
  ['status==0x1f', 'status == 0x1f'],
  ['!(http||grpc)', '!(http || grpc)'],
  ['not(http or grpc)', 'not (http or grpc)'],
  ['request.headers[ "X-Id" ] exists', 'request.headers["X-Id"] exists'],
  ['has( request.headers )', 'has(request.headers)'],
  ['method in [ "GET" ,"POST" ]', 'method in ["GET", "POST"]'],
  ['timestamp>now()-duration("5m")', 'timestamp > now() - duration("5m")'],
  ['path.matches( r"^/api" )', 'path.matches(r"^/api")'],
  ['status == -(1)', 'status == -(1)'],
  ['', ''],
];

describe('serialize', () => {
  for (const [query, canonical] of ROUND_TRIPS) {
    test(query === '' ? '(empty query)' : query, () => {
      const q = parseQuery(query);
      assert.equal(serialize(q), canonical);
      assert.equal(serialize(parseQuery(canonical)), canonical);
      assert.equal(shape(parseQuery(canonical).ast), shape(q.ast));
    });
  }

  test('a tree built by code gets the parentheses its shape needs', () => {
    const span = { start: 0, end: 0 };
    const path = (n: string): Expr => ({
      type: 'Path',
      segments: [{ kind: 'name', value: n, raw: n, span }],
      span,
    });
    const or: Expr = {
      type: 'Logical',
      op: 'or',
      token: 'or',
      left: path('http'),
      right: path('redis'),
      span,
    };
    const and: Expr = { type: 'Logical', op: 'and', token: '&&', left: or, right: path('grpc'), span };
    const not: Expr = { type: 'Not', token: '!', operand: and, span };
    const text = serialize(not);
    assert.equal(text, '!((http or redis) && grpc)');
    // The parentheses come back as groups; the logical shape is the code's.
    assert.equal(shape(parseQuery(text).ast), '(! (group (&& (group (or http redis)) grpc)))');
    const rightNested: Expr = { type: 'Logical', op: 'or', token: 'or', left: path('http'), right: or, span };
    assert.equal(serialize(rightNested), 'http or (http or redis)');
  });
});
