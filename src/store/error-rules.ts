/**
 * When an entry counts as an error, per protocol: the one definition the store (the service map's
 * `errors`, the `is_error` column) and anything else that counts errors (metrics) share. It reads
 * the summary columns of DESIGN.md's per-protocol table, plus TLS's alert from `response`.
 *
 * Only what the server answered counts. An entry whose answer was never seen (`status` null, the
 * `error` field saying why) is not an error here: that is the capture's view, not the service's.
 */
import type { Entry } from '../dissect/entry.js';

type Status = Entry['status'];

function num(s: Status): number | null {
  return typeof s === 'number' ? s : null;
}

/** Each protocol's rule, on the entry's status (and method, where the code's meaning depends on it). */
const RULES: Record<Entry['protocol'], (status: Status, e: Pick<Entry, 'method' | 'response'>) => boolean> = {
  // RFC 9110 §15.6: 5xx is the server failing; 4xx is the client's mistake, not counted.
  http: (s) => (num(s) ?? 0) >= 500,
  graphql: (s) => (num(s) ?? 0) >= 500,
  // gRPC status codes: 0 is OK, anything else an error (grpc/doc/statuscodes.md).
  grpc: (s) => num(s) !== null && s !== 0,
  // RFC 6455 §7.4.1: 1000 normal, 1001 going away, 1004-1006 reserved / not sent; 1002, 1003 and
  // 1007-1015 report a failure.
  websocket: (s) => {
    const c = num(s);
    return c !== null && (c === 1002 || c === 1003 || (c >= 1007 && c <= 1015));
  },
  // A fatal alert ended the handshake (RFC 8446 §6).
  tls: (_s, e) => {
    const alert = e.response?.alert as { level?: unknown } | undefined;
    return alert?.level === 'fatal';
  },
  // RFC 1035 §4.1.1 rcodes: NXDOMAIN is an answer (and Kubernetes' search path makes most lookups
  // produce several), so only the server failing or refusing counts.
  dns: (s) => typeof s === 'string' && s !== 'NOERROR' && s !== 'NXDOMAIN',
  redis: (s) => s === 'ERROR',
  // SQLSTATE classes 00 (success), 01 (warning), 02 (no data) are not errors; the SSL/GSS
  // negotiation answers (`S`, `N`, `G`) are single letters.
  postgres: (s) => typeof s === 'string' && s.length === 5 && !/^0[012]/.test(s),
  // MySQL reports an error number; success is `OK`.
  mysql: (s) => typeof s === 'number',
  // Kafka error code names: NONE is success.
  kafka: (s) => typeof s === 'string' && s !== 'NONE',
  // AMQP 0-9-1 reply codes: 200 reply-success; 3xx-5xx soft and hard errors.
  amqp: (s) => (num(s) ?? 0) >= 300,
  // MQTT 5.0 §2.4: reason codes >= 0x80 are failures; MQTT 3.1.1 §3.2.2.3: a CONNACK return code
  // other than 0 refuses the connection (and 5.0's CONNACK failures are all >= 0x80).
  mqtt: (s, e) => {
    const c = num(s);
    return c !== null && (c >= 0x80 || (e.method === 'CONNECT' && c !== 0));
  },
  nats: (s) => s === '-ERR',
};

/** Whether `e` is an error by its protocol's rule (unknown protocols never are). */
export function isErrorEntry(e: Pick<Entry, 'protocol' | 'status' | 'method' | 'response'>): boolean {
  const rule = RULES[e.protocol];
  return rule ? rule(e.status, e) : false;
}
