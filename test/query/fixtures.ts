/**
 * Twelve entries shaped as podwire's dissectors write them (the jsonl of test/captures: HTTP/1.1
 * with its headers' own case, HTTP/2 with lower-case names, gRPC, Redis, DNS, Kafka, PostgreSQL,
 * TLS), named by Kubernetes the way enrichment names them. The query tests state by hand which of
 * these each query selects, from DESIGN.md's and Kubeshark's descriptions of the language.
 *
 * Entry i starts at T0 + i seconds.
 */
import type { Entry } from '../../src/dissect/entry.js';

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;

type Given = Omit<
  Entry,
  'type' | 'id' | 'timestamp' | 'connectionId' | 'error' | 'requestSize' | 'responseSize'
> & {
  error?: string | null;
};

const pod = (name: string, namespace: string, ip: string, port: number) =>
  ({
    ip,
    port,
    name,
    namespace,
    kind: 'pod',
    workload: name.replace(/-[^-]+$/, ''),
    node: 'node-1',
  }) as const;
const svc = (name: string, namespace: string, ip: string, port: number) =>
  ({ ip, port, name, namespace, kind: 'service' }) as const;

function entry(i: number, e: Given): Entry {
  return {
    type: 'entry',
    id: `${i + 1}-1`,
    timestamp: T0 + i * 1_000_000,
    connectionId: e.protocol === 'dns' ? null : i + 1,
    requestSize: 100 + i,
    responseSize: 200 - i * 10,
    error: null,
    ...e,
  };
}

const FRONTEND = pod('frontend-7d9f-x2k4p', 'shop', '10.0.1.5', 40000);

export const ENTRIES: readonly Entry[] = [
  // 0: HTTP/1.1 GET 204, headers in the client's case.
  entry(0, {
    protocol: 'http',
    elapsedMs: 12.5,
    src: FRONTEND,
    dst: pod('backend-5c6d-abcde', 'shop', '10.0.2.7', 8080),
    method: 'GET',
    path: '/api/users?limit=5',
    status: 204,
    request: {
      httpVersion: '1.1',
      method: 'GET',
      path: '/api/users?limit=5',
      headers: { Host: 'backend', Authorization: 'Bearer abc', 'X-Id': '42' },
      bodySize: 0,
    },
    response: { httpVersion: '1.1', status: 204, statusText: 'No Content', headers: {}, bodySize: 0 },
  }),
  // 1: HTTP/2 POST 500 to a Service in prod, lower-case header names.
  entry(1, {
    protocol: 'http',
    elapsedMs: 1600,
    src: FRONTEND,
    dst: svc('backend', 'prod', '10.96.0.10', 80),
    method: 'POST',
    path: '/admin/login',
    status: 500,
    request: {
      httpVersion: '2',
      method: 'POST',
      path: '/admin/login',
      headers: { authorization: 'Bearer xyz', 'x-id': '7', 'content-type': 'application/json' },
      bodySize: 27,
    },
    response: {
      httpVersion: '2',
      status: 500,
      headers: { 'content-type': 'text/plain' },
      bodySize: 12000,
    },
  }),
  // 2: HTTP/1.1 GET 404 to a pod named backend in prod.
  entry(2, {
    protocol: 'http',
    elapsedMs: 3,
    src: { ip: '192.168.1.9', port: 51000, name: 'laptop.example.net', kind: 'external' },
    dst: pod('backend', 'prod', '10.0.3.9', 8080),
    method: 'GET',
    path: '/admin/health',
    status: 404,
    request: {
      httpVersion: '1.1',
      method: 'GET',
      path: '/admin/health',
      headers: { Host: 'x' },
      bodySize: 0,
    },
    response: { httpVersion: '1.1', status: 404, statusText: 'Not Found', headers: {}, bodySize: 9 },
  }),
  // 3: gRPC OK to a Service.
  entry(3, {
    protocol: 'grpc',
    elapsedMs: 2.023,
    src: FRONTEND,
    dst: svc('cartservice', 'prod', '10.96.0.20', 7070),
    method: 'POST',
    path: '/hipstershop.CartService/GetCart',
    status: 0,
    request: {
      httpVersion: '2',
      service: 'hipstershop.CartService',
      rpc: 'GetCart',
      headers: { 'content-type': 'application/grpc', te: 'trailers' },
    },
    response: { httpVersion: '2', httpStatus: 200, grpcStatus: 0, grpcStatusName: 'OK' },
  }),
  // 4: gRPC NOT_FOUND (5).
  entry(4, {
    protocol: 'grpc',
    elapsedMs: 1.2,
    src: FRONTEND,
    dst: svc('cartservice', 'prod', '10.96.0.20', 7070),
    method: 'POST',
    path: '/hipstershop.CartService/EmptyCart',
    status: 5,
    request: { httpVersion: '2', service: 'hipstershop.CartService', rpc: 'EmptyCart', headers: {} },
    response: { httpVersion: '2', httpStatus: 200, grpcStatus: 5, grpcStatusName: 'NOT_FOUND' },
  }),
  // 5: Redis GET, OK.
  entry(5, {
    protocol: 'redis',
    elapsedMs: 0.063,
    src: pod('cart-6b7c-zzz11', 'shop', '10.0.1.8', 48954),
    dst: pod('redis-0', 'shop', '10.0.4.2', 6379),
    method: 'GET',
    path: 'user:1',
    status: 'OK',
    request: { command: 'GET', args: ['GET', 'user:1'], argCount: 2 },
    response: { type: 'bulk', value: '{"name":"ann"}', length: 14 },
  }),
  // 6: Redis SET, ERROR.
  entry(6, {
    protocol: 'redis',
    elapsedMs: 0.05,
    src: pod('cart-6b7c-zzz11', 'shop', '10.0.1.8', 48954),
    dst: pod('redis-0', 'shop', '10.0.4.2', 6379),
    method: 'SET',
    path: 'session:abc',
    status: 'ERROR',
    request: { command: 'SET', args: ['SET', 'session:abc', 'v'], argCount: 3 },
    response: { type: 'error', value: 'OOM command not allowed' },
  }),
  // 7: DNS A query for google.com (UDP: no connection id).
  entry(7, {
    protocol: 'dns',
    elapsedMs: 0.294,
    src: FRONTEND,
    dst: svc('kube-dns', 'kube-system', '10.96.0.10', 53),
    method: 'A',
    path: 'google.com',
    status: 'NOERROR',
    request: { id: 59441, questions: [{ name: 'google.com', type: 'A', class: 'IN' }], answers: [] },
    response: {
      id: 59441,
      questions: [{ name: 'google.com', type: 'A', class: 'IN' }],
      answers: [{ name: 'google.com', type: 'A', class: 'IN', ttl: 12, data: '142.250.1.100' }],
      rcode: 'NOERROR',
    },
  }),
  // 8: Kafka Produce.
  entry(8, {
    protocol: 'kafka',
    elapsedMs: 1.619,
    src: pod('orders-1', 'prod', '10.0.5.1', 51704),
    dst: pod('kafka-0', 'prod', '10.0.5.9', 9092),
    method: 'Produce',
    path: 'orders',
    status: 'NONE',
    request: { apiKey: 0, apiVersion: 9, clientId: 'console-producer', topics: [{ name: 'orders' }] },
    response: { topics: [{ name: 'orders', error: 'NONE' }] },
  }),
  // 9: PostgreSQL to a database outside the cluster.
  entry(9, {
    protocol: 'postgres',
    elapsedMs: 4.404,
    src: pod('orders-1', 'prod', '10.0.5.1', 60144),
    dst: { ip: '203.0.113.7', port: 5432, name: 'db.example.com', kind: 'external' },
    method: 'SELECT',
    path: "SELECT 'x'",
    status: 'OK',
    request: { type: 'execute', query: "SELECT 'x'", params: [] },
    response: { tag: 'SELECT 1', rows: 1 },
  }),
  // 10: TLS handshake.
  entry(10, {
    protocol: 'tls',
    elapsedMs: 4.407,
    src: FRONTEND,
    dst: { ip: '142.250.1.100', port: 443, name: 'api.example.com', kind: 'external' },
    method: 'handshake',
    path: 'api.example.com',
    status: '1.3',
    request: {
      sni: 'api.example.com',
      alpn: ['h2', 'http/1.1'],
      ja4: 't13d1516h2_8daaf6152771_02713d6af862',
    },
    response: { version: 'TLS 1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256' },
  }),
  // 11: HTTP request without a response.
  entry(11, {
    protocol: 'http',
    elapsedMs: null,
    src: FRONTEND,
    dst: pod('backend-5c6d-abcde', 'shop', '10.0.2.7', 8080),
    method: 'GET',
    path: '/api/slow',
    status: null,
    request: {
      httpVersion: '1.1',
      method: 'GET',
      path: '/api/slow',
      headers: { host: 'backend' },
      bodySize: 0,
    },
    response: null,
    error: 'no response',
  }),
];

export const ALL = ENTRIES.map((_, i) => i);
export const except = (...out: number[]) => ALL.filter((i) => !out.includes(i));
