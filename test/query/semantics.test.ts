/**
 * What each operator selects, one test per query, on the twelve entries of fixtures.ts. The
 * expected entries are worked out by hand from DESIGN.md ("The query language"), Kubeshark's KFL
 * references (v1 `filtering.md`, v2 `kfl2.md`) and docs/query.md's rules (a comparison on a
 * missing field is false, `exists` tests presence, types never convert), and every query runs
 * twice: as the predicate over the objects and as SQL over a real SQLite table (support.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ALL, ENTRIES, except, T0 } from './fixtures.js';
import { both, Store } from './support.js';

const store = new Store();
store.load(ENTRIES);
const NOW = T0 + 10_000_000;

const CASES: [query: string, expected: number[]][] = [
  // DESIGN.md's own examples, KFL v1 and v2.
  ['http and response.status >= 500 and dst.name == "backend"', [1]],
  ['request.path contains "/admin"', [1, 2]],
  ['request.headers["Authorization"] exists', [0, 1]],
  // Kubeshark's "HTTP client error responses (400 – 499)": the whole value must match, so 204 does not.
  ['response.status == r"4.*"', [2]],
  ['http && status_code >= 500 && dst.namespace == "prod"', [1]],
  ['http && status_code >= 500 && dst.pod.namespace == "prod"', [1]],
  ['path.startsWith("/api")', [0, 11]],
  ['"x-id" in request.headers', [0, 1]],
  ['"X-ID" in request.headers', [0, 1]],
  // Protocols as conditions, negation, precedence (or < and < not < comparison).
  ['http', [0, 1, 2, 11]],
  ['not http', [3, 4, 5, 6, 7, 8, 9, 10]],
  ['!http', [3, 4, 5, 6, 7, 8, 9, 10]],
  ['postgresql', [9]],
  ['gql or ws', []],
  ['http or redis and status == "OK"', [0, 1, 2, 5, 11]],
  ['http || redis && status == "OK"', [0, 1, 2, 5, 11]],
  ['(http or redis) and status == "OK"', [5]],
  ['not (http or grpc)', [5, 6, 7, 8, 9, 10]],
  ['not status == 500', except(1)],
  ['!status == 500', except(1)],
  ['http && !path.contains("/health")', [0, 1, 11]],
  ['true', ALL],
  ['false', []],
  ['', ALL],
  // Equality and order: types never convert; missing or null compares false.
  ['status == "OK"', [5, 9]],
  ['status == "500"', []],
  ['status != 500', except(1, 11)],
  ['status >= 500', [1]],
  ['status < 10', [3, 4]],
  ['status >= 200 and status < 300', [0]],
  ['500 <= status', [1]],
  ['status > "M"', [5, 7, 8, 9]],
  ['status == null', [11]],
  ['status exists', except(11)],
  ['response == null', [11]],
  ['elapsedMs == null', [11]],
  ['error != null', [11]],
  ['error exists', [11]],
  ['connectionId == null', [7]],
  ['node == null', ALL],
  ['id == "2-1"', [1]],
  ['response.status == 404', [2]],
  ['"Bearer abc" == request.headers.Authorization', [0]],
  ['dst.port == 443 || dst.port == 6379', [5, 6, 10]],
  ['src.namespace == dst.namespace', [0, 5, 6, 8, 11]],
  ['src.namespace != dst.namespace', [1, 3, 4, 7]],
  ['requestSize > responseSize', [10, 11]],
  // Text: case-sensitive contains, prefix, suffix.
  ['src.name.contains("front")', [0, 1, 3, 4, 7, 10, 11]],
  ['src.name contains "FRONT"', []],
  ['path endsWith ".com"', [7, 10]],
  ['path.endsWith(".com")', [7, 10]],
  ['src.ip.startsWith("10.0.")', except(2)],
  ['request.headers.authorization.startsWith("Bearer ")', [0, 1]],
  ['request.headers["Content-Type"].contains("json")', [1]],
  ['request.headers["content-type"] == "application/grpc"', [3]],
  // Regular expressions: matches() finds, == r"" matches the whole value (numbers by their digits).
  ['method.matches("^(GET|SET)$")', [0, 2, 5, 6, 11]],
  ['method matches "(?i)^get$"', [0, 2, 5, 11]],
  ['dst.name.matches("^backend")', [0, 1, 2, 11]],
  ['dst.name == r"backend"', [1, 2]],
  ['dst.name != r"backend"', [0, 3, 4, 5, 6, 7, 8, 9, 10, 11]],
  ['status == r"O."', [5, 9]],
  ['dst.port == r"44."', [10]],
  // in: lists, header names, arrays, derived lists.
  ['method in ["GET", "POST"]', [0, 1, 2, 3, 4, 5, 11]],
  ['dst.port in [443, 6379]', [5, 6, 10]],
  ['dst.kind in ["service", "external"]', [1, 3, 4, 7, 9, 10]],
  ['"GET" in request.args', [5]],
  ['5 in request.args', []],
  ['"h2" in request.alpn', [10]],
  ['"google.com" in dns_questions', [7]],
  ['"A" in dns_question_types', [7]],
  ['"google.com" in dns_answers', [7]],
  ['"prod" in namespaces', [1, 2, 3, 4, 8, 9]],
  ['"kube-system" in namespaces', [7]],
  ['"cartservice" in services', [3, 4]],
  ['"redis-0" in pods', [5, 6]],
  ['has(request.headers)', [0, 1, 2, 3, 4, 11]],
  ['request.questions[0].type == "A"', [7]],
  ['request.args[1] == "session:abc"', [6]],
  // Kubeshark v2 names, each only on its protocol.
  ['grpc_status != 0', [4]],
  ['grpc && grpc_status == 5', [4]],
  ['status_code == 0', []],
  ['redis_command == "SET"', [6]],
  ['redis && method == "GET"', [5]],
  ['grpc_method == "GetCart"', [3]],
  ['request.rpc startsWith "Empty"', [4]],
  ['kafka_api_key_name == "Produce"', [8]],
  ['kafka_client_id == "console-producer"', [8]],
  ['url.contains("admin")', [1, 2]],
  ['url.contains("session")', []],
  ['http_version == "2"', [1, 3, 4]],
  ['response_body_size > 10000', [1]],
  ['dst.service.name == "cartservice"', [3, 4]],
  ['dst.service.name == "backend"', [1]],
  ['dst.pod.name == "backend"', [1, 2]],
  ['node_name exists', []],
  ['dns and status == "NOERROR"', [7]],
  // Time: timestamps in µs, durations in the unit of the field they meet.
  ['elapsedMs > duration("1.5s")', [1]],
  ['elapsedMs > 1500', [1]],
  ['elapsed_time > 1000000', [1]],
  ['elapsed_time > duration("1s")', [1]],
  ['elapsedMs < 0.1', [5, 6]],
  ['elapsedMs <= duration("100us")', [5, 6]],
  ['timestamp >= timestamp("2026-01-02T03:04:10Z")', [5, 6, 7, 8, 9, 10, 11]],
  ['timestamp >= timestamp("2026-01-02T04:04:10+01:00")', [5, 6, 7, 8, 9, 10, 11]],
  ['timestamp < timestamp("2026-01-02T03:04:05.000001Z")', [0]],
  ['timestamp > now() - duration("3s")', [8, 9, 10, 11]],
  ['timestamp > now() - duration("1m") + duration("57s")', [8, 9, 10, 11]],
];

describe('query semantics (predicate and SQL) on the fixture entries', () => {
  for (const [query, expected] of CASES) {
    test(query === '' ? '(empty query)' : query, () => {
      const { js, sql } = both(store, query, ENTRIES, NOW);
      assert.deepEqual(js, expected, 'predicate');
      assert.deepEqual(sql, expected, 'SQL');
    });
  }
});
