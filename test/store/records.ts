/**
 * Synthetic entries and connection records, shaped like the pipeline's (an HTTP exchange, a TCP
 * connection), for tests that need many of them or chosen times. Light on imports: the child
 * process of durability.test.ts uses it too.
 */
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';

/** A plain-data copy, as JSON would carry it (undefined fields gone). */
export function asJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

const TEMPLATE: Entry = {
  type: 'entry',
  id: '1-1',
  protocol: 'http',
  timestamp: 0,
  elapsedMs: 1.5,
  src: { ip: '10.0.0.1', port: 40000 },
  dst: { ip: '10.0.0.2', port: 8080 },
  method: 'GET',
  path: '/',
  status: 200,
  request: { httpVersion: '1.1', method: 'GET', path: '/', headers: { Host: 'api' } },
  response: { httpVersion: '1.1', status: 200, headers: { 'Content-Type': 'text/plain' }, body: 'ok' },
  requestSize: 40,
  responseSize: 60,
  connectionId: 1,
  error: null,
};

/** An entry at `timestamp` with the fields given. */
export function makeEntry(timestamp: number, fields: Partial<Entry> = {}): Entry {
  return { ...TEMPLATE, timestamp, ...fields };
}

export function makeConnection(
  id: number,
  start: number,
  end: number,
  fields: Partial<ConnectionRecord> = {},
) {
  const half = {
    packets: 3,
    bytes: 100,
    wireBytes: 300,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
  };
  const rec: ConnectionRecord = {
    type: 'connection',
    id,
    src: { ip: '10.0.0.1', port: 40000 + id },
    dst: { ip: '10.0.0.2', port: 8080 },
    ipVersion: 4,
    start,
    end,
    durationMs: (end - start) / 1000,
    closeReason: 'open',
    closedBy: null,
    midstream: false,
    handshake: null,
    sent: half,
    received: half,
    ...fields,
  };
  return rec;
}
