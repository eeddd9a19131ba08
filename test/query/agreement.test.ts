/**
 * The predicate and the SQL agree (issue 7: "tested to agree with each other on the same data"):
 * fast-check draws entries (every field's type varied where JSON allows it, fields missing,
 * unicode beyond the BMP, NUL, case variants of header names) and queries from the grammar (every
 * operator, both dialects, aliases with protocol guards, derived lists, columns and JSON paths),
 * loads the entries into a real SQLite table and compares, for every query, the entries the
 * predicate accepts with the rows the SQL selects. Also: every generated query round-trips
 * through serialize.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Expr, parseQuery, serialize } from '../../src/query/index.js';
import { holds } from '../support/properties.js';
import { filter, Store } from './support.js';

// ---- values shared by entries and queries, so that comparisons hit ----

const STRINGS = [
  '',
  'a',
  'A',
  'ab',
  'GET',
  'get',
  'OK',
  '500',
  '/api/x',
  '/api',
  'é',
  'É',
  '😀',
  'a😀',
  '\uffff',
  '\ue000',
  'x\u0000y',
  '\u0000',
  'x-id',
  'X-Id',
  'prod',
  'http',
  'redis',
  'pod',
  'service',
];
const NUMBERS = [
  0,
  -1,
  1,
  1.5,
  0.1,
  2,
  200,
  404,
  500,
  1e21,
  2 ** 53,
  2 ** 60,
  1.2345678901234568e20,
  -0.5,
  1234.5678,
  1e-7,
];
const KEYS = ['a', 'A', 'b', 'x-id', 'X-Id', 'X-ID', 'é', '😀', 'k.dot', 'sp ace', 'q"t', '0', ''];

const str = fc.constantFrom(...STRINGS);
// Arbitrary doubles too: SQLite reads them back from the JSON text, the predicate from the object.
const num = fc.oneof(
  fc.constantFrom(...NUMBERS),
  fc.constantFrom(...NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: -1000, max: 1000 }),
);
const anyString = fc.oneof(str, fc.string({ unit: 'grapheme', maxLength: 6 }));

const scalar = fc.oneof(str, num, fc.boolean(), fc.constant(null));
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** Optional: absent, null, or a value. */
function opt<T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> {
  return fc.oneof(a, a, fc.constant(null), fc.constant(undefined));
}

const endpoint = fc.record(
  {
    ip: fc.constantFrom('10.0.0.1', '10.0.0.2', '192.168.1.1'),
    port: fc.oneof(fc.constantFrom(80, 443, 500, 0), num),
    name: opt(str),
    namespace: opt(fc.constantFrom('prod', 'shop', 'é', '')),
    kind: opt(fc.constantFrom('pod', 'service', 'node', 'external')),
    workload: opt(str),
  },
  { requiredKeys: ['ip', 'port'] },
);

const headers = fc.dictionary(fc.constantFrom(...KEYS), fc.oneof(str, json), { maxKeys: 4 });
const detail = fc.record(
  {
    headers: fc.oneof(headers, json),
    status: fc.oneof(num, str, json),
    path: anyString,
    args: fc.array(scalar, { maxLength: 3 }),
    questions: fc.array(
      fc.oneof(fc.record({ name: fc.oneof(str, num), type: str }, { requiredKeys: [] }), scalar),
      { maxLength: 3 },
    ),
    answers: fc.array(fc.record({ name: str }), { maxLength: 2 }),
    flag: fc.oneof(fc.boolean(), scalar),
    nested: json,
  },
  { requiredKeys: [] },
);

/** An entry: top-level fields keep the Entry's types (columns hold strings and numbers only). */
const entryArb = fc.record(
  {
    type: fc.constant('entry'),
    id: str,
    protocol: fc.constantFrom('http', 'grpc', 'redis', 'dns', 'kafka', 'tls', 'postgres'),
    timestamp: fc.oneof(fc.constantFrom(1_700_000_000_000_000, 1_700_000_001_000_000), num),
    elapsedMs: opt(num),
    src: endpoint,
    dst: endpoint,
    method: fc.oneof(str, anyString),
    path: fc.oneof(str, anyString),
    status: opt(fc.oneof(str, num)),
    request: detail,
    response: opt(detail),
    requestSize: num,
    responseSize: num,
    connectionId: opt(num),
    node: opt(str),
    error: opt(anyString),
  },
  { requiredKeys: ['type', 'id', 'protocol', 'timestamp', 'src', 'dst', 'method', 'path', 'request'] },
);

// ---- queries, from the grammar ----

const lit = (v: string | number | boolean | null): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : v === null
      ? 'null'
      : typeof v === 'number'
        ? numLit(v)
        : String(v);
function numLit(n: number): string {
  const s = String(Math.abs(n));
  return n < 0 ? `-${s}` : s;
}

const stringFields = [
  'method',
  'path',
  'id',
  'src.name',
  'dst.name',
  'src.namespace',
  'dst.namespace',
  'src.ip',
  'node',
  'error',
  'redis_command',
  'url',
  'dst.pod.namespace',
  'src.service.name',
];
const numberFields = [
  'src.port',
  'dst.port',
  'requestSize',
  'responseSize',
  'connectionId',
  'timestamp',
  'elapsedMs',
  'elapsed_time',
];
const mixedFields = ['status', 'status_code', 'grpc_status'];
const openFields = [
  'request.status',
  'response.status',
  'request.path',
  'request.headers["x-id"]',
  'request.headers.A',
  'response.headers["X-ID"]',
  'request.headers["é"]',
  'request.headers["k.dot"]',
  'request.headers["q\\"t"]',
  'request.args[0]',
  'request.args[2]',
  'request.questions[0].name',
  'request.flag',
  'request.nested',
  'request.nested.a',
  'request.nested["😀"]',
  'request.nested[0]',
  'response.nested.b[1]',
  'http_version',
];
const collections = [
  'request.headers',
  'response.headers',
  'request.args',
  'request.nested',
  'request.questions',
  'request.nested.a',
  'response.args',
];
const derived = ['namespaces', 'pods', 'services', 'dns_questions', 'dns_question_types', 'dns_answers'];
const patterns = [
  'a',
  '^A',
  '4..',
  '(?i)get',
  'é',
  '.*',
  '^$',
  '\\d+',
  '[a-z]+$',
  '😀',
  '.',
  'x\\u0000y',
  '^-?[0-9.]+$',
  '(?s).y',
];

const cmpOp = fc.constantFrom('==', '!=', '<', '<=', '>', '>=');
const field = (list: string[]) => fc.constantFrom(...list);

const atom: fc.Arbitrary<string> = fc.oneof(
  // field vs literal of its type
  fc.tuple(field(stringFields), cmpOp, str).map(([f, o, v]) => `${f} ${o} ${lit(v)}`),
  fc.tuple(field(numberFields), cmpOp, num).map(([f, o, v]) => `${f} ${o} ${lit(v)}`),
  fc.tuple(field(mixedFields), cmpOp, fc.oneof(str, num)).map(([f, o, v]) => `${f} ${o} ${lit(v)}`),
  fc.tuple(field(openFields), cmpOp, fc.oneof(str, num)).map(([f, o, v]) => `${f} ${o} ${lit(v)}`),
  fc
    .tuple(field(openFields), fc.constantFrom('==', '!='), fc.oneof(fc.boolean(), fc.constant(null)))
    .map(([f, o, v]) => `${f} ${o} ${lit(v)}`),
  fc
    .tuple(
      field([...stringFields, ...numberFields, ...mixedFields]),
      fc.constantFrom('==', '!='),
      fc.constantFrom('null', 'nil'),
    )
    .map(([f, o, v]) => `${f} ${o} ${v}`),
  // literal on the left
  fc.tuple(num, cmpOp, field(mixedFields)).map(([v, o, f]) => `${lit(v)} ${o} ${f}`),
  // field vs field
  fc
    .tuple(
      field([...openFields, ...mixedFields, 'src.namespace', 'dst.namespace']),
      cmpOp,
      field([...openFields, ...mixedFields, 'dst.name']),
    )
    .map(([a, o, b]) => `${a} ${o} ${b}`),
  fc
    .tuple(
      field(numberFields.filter((f) => f !== 'timestamp' && f !== 'elapsedMs' && f !== 'elapsed_time')),
      cmpOp,
      field(['src.port', 'requestSize']),
    )
    .map(([a, o, b]) => `${a} ${o} ${b}`),
  // text operators, infix and method
  fc
    .tuple(
      field([...stringFields, ...mixedFields, ...openFields]),
      fc.constantFrom('contains', 'startsWith', 'endsWith'),
      anyString,
      fc.boolean(),
    )
    .map(([f, o, v, infix]) => (infix ? `${f} ${o} ${lit(v)}` : `${f}.${o}(${lit(v)})`)),
  // regular expressions
  fc
    .tuple(
      field([...stringFields, ...numberFields, ...mixedFields, ...openFields]),
      fc.constantFrom(...patterns),
      fc.constantFrom(0, 1, 2, 3),
    )
    .map(([f, p, form]) =>
      form === 0
        ? `${f}.matches(${JSON.stringify(p)})`
        : form === 1
          ? `${f} matches ${JSON.stringify(p)}`
          : `${f} ${form === 2 ? '==' : '!='} r"${p.replace(/"/g, '\\"')}"`,
    ),
  // exists / has / bare boolean
  fc
    .tuple(
      field([
        ...stringFields,
        ...numberFields,
        ...mixedFields,
        ...openFields,
        ...collections,
        'response',
        'namespaces',
      ]),
      fc.boolean(),
    )
    .map(([f, postfix]) => (postfix ? `${f} exists` : `has(${f})`)),
  field(openFields.filter((f) => f !== 'http_version')),
  // in
  fc
    .tuple(fc.oneof(str, num, fc.boolean(), fc.constant(null)), field(collections))
    .map(([v, c]) => `${lit(v)} in ${c}`),
  fc.tuple(field([...openFields, 'method', 'status']), field(collections)).map(([f, c]) => `${f} in ${c}`),
  fc.tuple(str, field(derived)).map(([v, d]) => `${lit(v)} in ${d}`),
  fc
    .tuple(field(['dst.name', 'request.path']), field(['namespaces', 'pods', 'dns_questions']))
    .map(([f, d]) => `${f} in ${d}`),
  fc
    .tuple(
      field([...stringFields, ...openFields]),
      fc.array(fc.oneof(str, fc.constant(null)), { maxLength: 3 }),
    )
    .map(([f, vs]) => `${f} in [${vs.map(lit).join(', ')}]`),
  fc
    .tuple(field([...mixedFields, ...openFields]), fc.array(fc.oneof(str, num), { maxLength: 3 }))
    .map(([f, vs]) => `${f} in [${vs.map(lit).join(', ')}]`),
  // protocols, time
  fc.constantFrom('http', 'grpc', 'redis', 'dns', 'postgresql', 'true', 'false'),
  fc.constantFrom(
    'timestamp > now() - duration("1s")',
    'timestamp >= timestamp("2023-11-14T22:13:20Z")',
    'elapsedMs < duration("1.5s")',
    'elapsed_time >= duration("500ms")',
  ),
);

const query: fc.Arbitrary<string> = fc.letrec((tie) => ({
  q: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    atom,
    atom,
    fc
      .tuple(tie('q'), fc.constantFrom('and', 'or', '&&', '||'), tie('q'))
      .map(([a, o, b]) => `${a} ${o} ${b}`),
    tie('q').map((a) => `not ${a}`),
    tie('q').map((a) => `!(${a})`),
    tie('q').map((a) => `(${a})`),
  ),
})).q;

/** Parses a generated query; one the checker refuses is a generator bug, reported with its text. */
function parsed(text: string) {
  try {
    return parseQuery(text);
  } catch (e) {
    throw new Error(`generated query refused: ${text}: ${(e as Error).message}`);
  }
}

/** The tree without spans, for comparing parses. */
function strip(e: Expr): unknown {
  return JSON.parse(JSON.stringify(e, (k, v) => (k === 'span' ? undefined : v)));
}

/** Property runs (QUERY_AGREEMENT_RUNS=20000 for a long soak; each run is 10 to 30 queries). */
const RUNS = Number(process.env.QUERY_AGREEMENT_RUNS ?? 200);

describe('predicate and SQL agree', () => {
  const store = new Store();
  const NOW = 1_700_000_000_500_000;

  test('on random entries and random queries (fast-check)', () => {
    let checked = 0;
    // Queries that split the entries (some in, some out): a generator that only made always-true
    // or always-false queries would agree without testing anything.
    let splitting = 0;
    holds(
      fc.property(
        fc.array(entryArb, { minLength: 8, maxLength: 30 }),
        fc.array(query, { minLength: 10, maxLength: 30 }),
        (entries, queries) => {
          // The store holds what JSON keeps; the predicate reads the same objects.
          const stored = entries.map((e) => JSON.parse(JSON.stringify(e)));
          store.load(stored);
          for (const text of queries) {
            const q = parsed(text);
            const js = filter(q, entries, NOW);
            const sql = store.select(q, NOW);
            assert.deepEqual(sql, js, `query: ${text}`);
            checked++;
            if (js.length > 0 && js.length < entries.length) splitting++;
          }
        },
      ),
      { numRuns: RUNS },
    );
    assert.ok(checked > RUNS * 12, `only ${checked} queries checked`);
    assert.ok(splitting > checked / 5, `only ${splitting} of ${checked} queries split the entries`);
    if (process.env.QUERY_AGREEMENT_RUNS) console.log(`${checked} queries, ${splitting} splitting`);
  });

  test('every generated query round-trips through serialize', () => {
    holds(
      fc.property(query, (text) => {
        const a = parsed(text);
        const s = serialize(a);
        const b = parseQuery(s);
        assert.deepEqual(strip(b.ast), strip(a.ast), `${text} -> ${s}`);
        assert.equal(serialize(b), s);
      }),
      { numRuns: 500 },
    );
  });
});
