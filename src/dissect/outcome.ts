/**
 * What counts as a failed exchange, per protocol: the one definition behind
 * `podwire_request_errors_total` (src/metrics), the store's `is_error` and service map error rates
 * (src/store), and anything else that says "error".
 * It reads only the summary columns (`status`, and for TLS and GraphQL the response fields their
 * dissectors document), so it agrees with what the traffic list shows.
 *
 * An entry without an answer (status null: the capture ended, a gap, a fire-and-forget message) is
 * not an error here: nothing on the wire says the server failed. `entry.error` is not used either:
 * it reports what podwire could not see (a gap, a cut response), not what the peers said.
 */
import type { Entry } from './entry.js';

/** The fields the rules read: the summary columns and the response (TLS alert, GraphQL errors). */
export type OutcomeFields = Pick<Entry, 'protocol' | 'status' | 'method' | 'response'>;

/** WebSocket close codes that report a failure (RFC 6455 §7.4.1, IANA registry). */
const WEBSOCKET_ERROR_CLOSE = new Set([
  1002, // protocol error
  1003, // unsupported data
  1006, // abnormal closure (never sent, but a peer that does sends a failure)
  1007, // invalid frame payload data
  1008, // policy violation
  1009, // message too big
  1010, // mandatory extension
  1011, // internal error
  1012, // service restart
  1013, // try again later
  1014, // bad gateway
  1015, // TLS handshake failure (never sent)
]);

/**
 * PostgreSQL: an ErrorResponse's SQLSTATE (Appendix A), except classes 00 (success), 01 (warning) and
 * 02 (no data), which are not errors; `ERROR` is an ErrorResponse without a code. `OK` and the
 * SSLRequest / GSSENCRequest answers (`S`, `N`, `G`, protocol §55.2.10) are not SQLSTATEs.
 */
function postgresError(status: string): boolean {
  if (status === 'ERROR') return true;
  return /^[0-9A-Z]{5}$/.test(status) && !/^0[012]/.test(status);
}

function asNumber(status: Entry['status']): number | null {
  if (typeof status === 'number') return status;
  if (typeof status === 'string' && /^\d+$/.test(status)) return Number(status);
  return null;
}

/** GraphQL over HTTP: a result with a non-empty `errors` list failed (wholly or in part). */
function graphqlHasErrors(response: Record<string, unknown> | null): boolean {
  const g = response?.graphql;
  const results = Array.isArray(g) ? g : g ? [g] : [];
  for (const r of results) {
    const errors = (r as { errors?: unknown } | null)?.errors;
    if (Array.isArray(errors) && errors.length > 0) return true;
  }
  return false;
}

/**
 * Whether `e` is a failed exchange:
 * - http: status ≥ 500 (RFC 9110 §15.6: the server failed; 4xx is the client's doing)
 * - grpc: grpc-status ≠ 0 (OK)
 * - graphql: HTTP status ≥ 500, or a result with `errors`
 * - websocket: a close frame with a failure code (1002, 1003, 1006–1015)
 * - tls: a fatal alert (RFC 8446 §6.2)
 * - dns: rcode other than NOERROR and NXDOMAIN (SERVFAIL, REFUSED...): NXDOMAIN is an answer, and
 *   Kubernetes' search path (ndots:5) turns most lookups into several NXDOMAINs before the hit
 * - redis: `ERROR` (an error reply)
 * - postgres: a SQLSTATE outside classes 00, 01, 02 (not `OK`, not the SSL/GSS answer letters)
 * - mysql: an error number (ERR_Packet)
 * - kafka: an error code name other than `NONE`
 * - amqp: a reply code ≥ 300 (AMQP 0-9-1: 200 is reply-success; 3xx-5xx are soft and hard errors)
 * - mqtt: a reason code ≥ 0x80 (MQTT 5.0 §2.4), or a non-zero CONNACK return code (3.1.1 §3.2.2.3)
 * - nats: `-ERR`
 */
export function isErrorEntry(e: OutcomeFields): boolean {
  const status = e.status;
  if (status === null || status === undefined) {
    // TLS: a fatal alert may come instead of the ServerHello, so the status stays null.
    if (e.protocol === 'tls') return tlsFatal(e);
    if (e.protocol === 'graphql') return graphqlHasErrors(e.response);
    return false;
  }
  switch (e.protocol) {
    case 'http': {
      const n = asNumber(status);
      return n !== null && n >= 500;
    }
    case 'grpc': {
      const n = asNumber(status);
      return n !== null && n !== 0;
    }
    case 'graphql': {
      const n = asNumber(status);
      return (n !== null && n >= 500) || graphqlHasErrors(e.response);
    }
    case 'websocket': {
      const n = asNumber(status);
      return e.method === 'close' && n !== null && WEBSOCKET_ERROR_CLOSE.has(n);
    }
    case 'tls':
      return tlsFatal(e);
    case 'dns':
      return status !== 'NOERROR' && status !== 'NXDOMAIN';
    case 'redis':
      return status === 'ERROR';
    case 'postgres':
      return postgresError(String(status));
    case 'mysql':
      return status !== 'OK';
    case 'kafka':
      return status !== 'NONE';
    case 'amqp': {
      const n = asNumber(status);
      return n !== null && n >= 300;
    }
    case 'mqtt': {
      const n = asNumber(status);
      if (n === null) return false;
      return n >= 0x80 || (e.method === 'CONNECT' && n !== 0);
    }
    case 'nats':
      return status === '-ERR';
    default:
      return false;
  }
}

function tlsFatal(e: OutcomeFields): boolean {
  const alert = (e.response as { alert?: { level?: unknown } } | null)?.alert;
  return alert?.level === 'fatal';
}
