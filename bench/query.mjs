#!/usr/bin/env node
/**
 * `node bench/query.mjs` (after a build): how fast the query language is. Builds ENTRIES synthetic
 * entries (default 1,000,000: a mix of HTTP/1.1, HTTP/2, gRPC, Redis and DNS shaped as the
 * dissectors write them, named by Kubernetes; request/response detail drawn from a pool of 256
 * so the heap stays near 0.5 GB) and, for each query below, runs its predicate over all of them
 * and prints evaluations per second and how many matched. Also the cost of parseQuery +
 * compilePredicate + compileSql per query.
 *
 * Needs a build (`npx tsc -p tsconfig.json`). ENTRIES sets the count; ROUNDS (default 3) the
 * passes per query, of which the best is reported.
 */
import { compilePredicate, compileSql, parseQuery } from '../dist/src/query/index.js';

const N = Number(process.env.ENTRIES ?? 1_000_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const T0 = Date.UTC(2026, 0, 2) * 1000;

const PROTOCOLS = ['http', 'http', 'http', 'grpc', 'redis', 'dns'];
const NAMESPACES = ['shop', 'prod', 'kube-system', 'payments'];
const METHODS = ['GET', 'GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = [200, 200, 200, 201, 204, 301, 404, 500, 503];

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const rand = rng(42);
const pick = (a) => a[Math.floor(rand() * a.length)];

function detail(i) {
  const h1 = i % 2 === 0;
  return {
    request: {
      httpVersion: h1 ? '1.1' : '2',
      method: METHODS[i % METHODS.length],
      path: `/api/v${i % 3}/items/${i}`,
      headers: h1
        ? {
            Host: 'backend',
            'User-Agent': 'curl/8.5',
            ...(i % 3 === 0 ? { Authorization: 'Bearer x' } : {}),
            'X-Id': String(i),
          }
        : {
            ':authority': 'backend',
            'user-agent': 'grpc-go/1.60',
            'x-id': String(i),
            'content-type': 'application/json',
          },
      bodySize: (i * 37) % 5000,
      questions: [{ name: `svc-${i}.example.com`, type: 'A', class: 'IN' }],
    },
    response: {
      httpVersion: h1 ? '1.1' : '2',
      status: STATUSES[i % STATUSES.length],
      headers: { 'content-type': 'application/json' },
      bodySize: (i * 91) % 20000,
    },
  };
}
const DETAILS = Array.from({ length: 256 }, (_, i) => detail(i));

function entry(i) {
  const protocol = pick(PROTOCOLS);
  const d = DETAILS[i & 255];
  const status =
    protocol === 'redis'
      ? pick(['OK', 'OK', 'ERROR', 'NIL'])
      : protocol === 'dns'
        ? pick(['NOERROR', 'NXDOMAIN'])
        : protocol === 'grpc'
          ? pick([0, 0, 0, 5, 14])
          : pick(STATUSES);
  return {
    type: 'entry',
    id: `${i}-1`,
    protocol,
    timestamp: T0 + i * 1000,
    elapsedMs: Math.round(rand() * 200000) / 100,
    src: {
      ip: `10.0.${(i >> 8) & 255}.${i & 255}`,
      port: 40000 + (i % 20000),
      name: `frontend-${i % 50}`,
      namespace: pick(NAMESPACES),
      kind: 'pod',
    },
    dst: {
      ip: '10.96.0.10',
      port: protocol === 'redis' ? 6379 : 8080,
      name: `backend-${i % 7}`,
      namespace: pick(NAMESPACES),
      kind: i % 3 ? 'pod' : 'service',
    },
    method: protocol === 'redis' ? 'GET' : d.request.method,
    path: d.request.path,
    status,
    request: d.request,
    response: i % 50 === 0 ? null : d.response,
    requestSize: 100 + (i % 900),
    responseSize: 200 + (i % 9000),
    connectionId: i >> 2,
    error: i % 50 === 0 ? 'no response' : null,
  };
}

const QUERIES = [
  'http',
  'status >= 500',
  'http and response.status >= 500 and dst.name == "backend-3"',
  'http && status_code >= 500 && dst.pod.namespace == "prod"',
  'request.headers["Authorization"] exists',
  '"x-id" in request.headers',
  'path.startsWith("/api/v1")',
  'request.path contains "/items/1"',
  'response.status == r"5.."',
  'method in ["PUT", "DELETE"] or redis_command == "GET"',
  '"prod" in namespaces and not (grpc_status == 0)',
  'elapsedMs > duration("1.5s") || error != null',
  'timestamp > timestamp("2026-01-02T00:05:00Z") and timestamp < timestamp("2026-01-02T00:10:00Z")',
];

const t0 = process.hrtime.bigint();
const entries = new Array(N);
for (let i = 0; i < N; i++) entries[i] = entry(i);
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
console.log(
  `${N.toLocaleString('en')} entries built in ${buildMs.toFixed(0)} ms, heap ${heapMb.toFixed(0)} MB`,
);

const target = {
  column: (p) => (['protocol', 'status', 'timestamp'].includes(p.join('.')) ? p.join('_') : null),
  json: 'json',
};
const COMPILE_REPS = 2000;
let c0 = process.hrtime.bigint();
for (let r = 0; r < COMPILE_REPS; r++) {
  for (const text of QUERIES) {
    const q = parseQuery(text);
    compilePredicate(q, { nowUs: T0 });
    compileSql(q, target, { nowUs: T0 });
  }
}
const compileUs = Number(process.hrtime.bigint() - c0) / 1e3 / (COMPILE_REPS * QUERIES.length);
console.log(
  `parseQuery + compilePredicate + compileSql: ${compileUs.toFixed(1)} µs a query (mean of the ${QUERIES.length} below)\n`,
);

console.log(`${'evaluations/s'.padStart(14)}  ${'matched'.padStart(9)}  query`);
let total = 0;
for (const text of QUERIES) {
  const pred = compilePredicate(parseQuery(text), { nowUs: T0 });
  let best = Number.POSITIVE_INFINITY;
  let matched = 0;
  for (let r = 0; r < ROUNDS; r++) {
    c0 = process.hrtime.bigint();
    matched = 0;
    for (let i = 0; i < N; i++) if (pred(entries[i])) matched++;
    best = Math.min(best, Number(process.hrtime.bigint() - c0));
  }
  const perSec = N / (best / 1e9);
  total += perSec;
  console.log(
    `${Math.round(perSec).toLocaleString('en').padStart(14)}  ${matched.toLocaleString('en').padStart(9)}  ${text}`,
  );
}
console.log(
  `\nmean: ${Math.round(total / QUERIES.length).toLocaleString('en')} evaluations/s (node ${process.version}, best of ${ROUNDS})`,
);
