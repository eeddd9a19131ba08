/**
 * An entry as rows: its summary row in `entries` (the columns lists and filters read) and, in
 * `entry_details`, the JSON of what the columns do not hold (request, response, and any field the
 * columns cannot give back exactly). Also the map from entry field paths to summary columns that
 * the query compiler uses (`SqlTarget.column`), so a filter on an indexed field reads the index,
 * and the SQL that rebuilds the whole entry's JSON for filters on any other path.
 */
import type { Entry, EntryEndpoint } from '../dissect/entry.js';
import { DETAIL_LOST, type DetailRef } from './detail-log.js';
import { isErrorEntry } from './error-rules.js';

/** An entry as the store hands it out: `id` is the hub's id, `localId` the agent's. */
export type StoredEntry = Entry & { localId: string };

/**
 * Field path -> summary column. Every field of an entry but `request` and `response` has one, so a
 * filter on anything the summary shows never reads the detail JSON. Types are the JSON types:
 * numbers INTEGER/REAL, strings TEXT, absent or null NULL.
 */
const COLUMNS: Record<string, string> = {
  id: 'CAST(e.id AS TEXT)',
  type: "'entry'",
  localId: 'e.local_id',
  protocol: 'e.protocol',
  timestamp: 'e.ts',
  elapsedMs: 'e.elapsed_ms',
  method: 'e.method',
  path: 'e.path',
  status: 'e.status',
  requestSize: 'e.request_size',
  responseSize: 'e.response_size',
  connectionId: 'e.connection_id',
  node: 'e.node',
  error: 'e.error',
};
for (const side of ['src', 'dst'] as const) {
  Object.assign(COLUMNS, {
    [`${side}.ip`]: `e.${side}_ip`,
    [`${side}.port`]: `e.${side}_port`,
    [`${side}.name`]: `e.${side}_name`,
    [`${side}.namespace`]: `e.${side}_ns`,
    [`${side}.kind`]: `e.${side}_kind`,
    [`${side}.workload`]: `e.${side}_workload`,
    [`${side}.node`]: `e.${side}_node`,
  });
}

/** The SQL expression of the summary column holding `path`, or null when only the JSON has it. */
export function columnOf(path: readonly string[]): string | null {
  return Object.hasOwn(COLUMNS, path.join('.')) ? COLUMNS[path.join('.')]! : null;
}

/** `,"key":<value>` for a column, nothing when it is NULL (an absent field). */
function optionalMember(key: string, col: string): string {
  return `iif(${col} IS NULL, '', ',"${key}":' || json_quote(${col}))`;
}

/** The pieces of an endpoint's JSON object, from its columns, without the names that are NULL. */
function endpointJson(side: 'src' | 'dst'): string[] {
  const c = (f: string) => `e.${side}_${f}`;
  return [
    `'{"ip":'`,
    `json_quote(${c('ip')})`,
    `',"port":'`,
    c('port'),
    optionalMember('name', c('name')),
    optionalMember('namespace', c('ns')),
    optionalMember('kind', c('kind')),
    optionalMember('workload', c('workload')),
    optionalMember('node', c('node')),
    `'}'`,
  ];
}

/**
 * The SQL function that reads a detail from the detail log: `podwire_detail(segment, offset, length,
 * whole, id)`, the text (a whole detail with `"id"` put in front), DETAIL_LOST when its bytes are
 * gone, NULL for a row without a place in the log (version 2's, whose detail is in entry_details).
 * Registered on the store's connection by the Store.
 */
export const DETAIL_FUNCTION = 'podwire_detail';

/**
 * An entry's detail JSON in SQL (in queries that read `entries e LEFT JOIN entry_details d`): from
 * the log, else entry_details, else DETAIL_LOST; never NULL. A whole detail has its `id`.
 */
export const DETAIL_TEXT = `coalesce(${DETAIL_FUNCTION}(e.detail_seg, e.detail_off, e.detail_len, e.detail_whole, e.id), d.json, '${DETAIL_LOST}')`;

/**
 * The whole entry's JSON text in the store's queries (which read `entries e LEFT JOIN
 * entry_details d`), for the query compiler's json_extract on paths no column holds. A whole detail
 * (`detail_whole`: version 1's rows, and entries the columns cannot give back exactly) is the JSON
 * itself; a slim one, `{"request":...,"response":...,<fields no column holds>}`, gets the summary
 * fields written in front of its members from the columns. The text is pasted (one concat()) rather
 * than built with json_insert(), which parses and re-serialises the detail: 9 µs a row against 6
 * (bench/store.mjs's JSON filters; reading the detail alone is 2). json_quote() writes each value as
 * JSON (a REAL with the digits that give it back exactly), and a slim detail never holds a key
 * written here, so no key is there twice. A detail whose bytes are gone reads as DETAIL_LOST.
 */
export const ENTRY_JSON = `CASE WHEN e.detail_whole THEN ${DETAIL_TEXT} ELSE concat(${[
  `'{"type":"entry","id":"'`,
  'e.id',
  `'","localId":'`,
  'json_quote(e.local_id)',
  `',"protocol":'`,
  'json_quote(e.protocol)',
  `',"timestamp":'`,
  'e.ts',
  `',"elapsedMs":'`,
  'json_quote(e.elapsed_ms)',
  `',"src":'`,
  ...endpointJson('src'),
  `',"dst":'`,
  ...endpointJson('dst'),
  `',"method":'`,
  'json_quote(e.method)',
  `',"path":'`,
  'json_quote(e.path)',
  `',"status":'`,
  'json_quote(e.status)',
  `',"requestSize":'`,
  'e.request_size',
  `',"responseSize":'`,
  'e.response_size',
  `',"connectionId":'`,
  'json_quote(e.connection_id)',
  optionalMember('node', 'e.node'),
  `',"error":'`,
  'json_quote(e.error)',
  `','`,
  `substr(${DETAIL_TEXT}, 2)`,
].join(', ')}) END`;

/** The summary columns in `INSERT` order (the table's order). */
export const SUMMARY_COLUMNS = [
  'id',
  'ts',
  'protocol',
  'method',
  'path',
  'status',
  'elapsed_ms',
  'src_ip',
  'src_port',
  'src_name',
  'src_ns',
  'src_kind',
  'src_workload',
  'src_node',
  'dst_ip',
  'dst_port',
  'dst_name',
  'dst_ns',
  'dst_kind',
  'dst_workload',
  'dst_node',
  'request_size',
  'response_size',
  'connection_id',
  'node',
  'error',
  'local_id',
  'is_error',
  'detail_whole',
  'detail_seg',
  'detail_off',
  'detail_len',
] as const;

export type SqlValue = string | number | bigint | null;

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * An integral number binds as an SQLite INTEGER (better-sqlite3 binds every JS number as REAL, and
 * an ANY column keeps REAL): `status` 500 must read back with typeof() 'integer', as json_extract
 * reads `500` from the JSON.
 */
function anyValue(v: unknown): SqlValue {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) return Number.isFinite(v) ? v : null;
    // Statuses are small: their BigInts are made once, not once per entry.
    return v >= 0 && v < SMALL_BIGINTS.length ? SMALL_BIGINTS[v]! : BigInt(v);
  }
  return typeof v === 'string' ? v : null;
}

/** 0n to 1023n: HTTP, gRPC, DNS, Kafka and the other protocols' status codes. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));

const optionalText = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/** Why `ep` is not an endpoint the columns can hold, or null. Its fields are read by name: keyed
 * reads of a list of names (ep[f]) cost more than the rest of the check together. */
function invalidEndpoint(ep: EntryEndpoint, side: 'src' | 'dst'): string | null {
  if (ep === null || typeof ep !== 'object' || typeof ep.ip !== 'string' || !Number.isSafeInteger(ep.port))
    return `${side} is not an endpoint {ip, port}`;
  if (!optionalText(ep.name)) return `${side}.name is not a string`;
  if (!optionalText(ep.namespace)) return `${side}.namespace is not a string`;
  if (!optionalText(ep.kind)) return `${side}.kind is not a string`;
  if (!optionalText(ep.workload)) return `${side}.workload is not a string`;
  if (!optionalText(ep.node)) return `${side}.node is not a string`;
  return null;
}
const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Why an entry cannot be stored, or null when it can. Every summary column must hold what the JSON
 * holds (the query compiler reads either), so a field of the wrong type is refused rather than
 * coerced, and a STRICT column never refuses the whole batch's transaction.
 */
export function invalidEntry(e: Entry): string | null {
  if (e === null || typeof e !== 'object') return 'not an object';
  if (!Number.isSafeInteger(e.timestamp)) return 'timestamp is not an integer (µs)';
  if (typeof e.protocol !== 'string' || (e.protocol as string) === '') return 'no protocol';
  const endpoints = invalidEndpoint(e.src, 'src') ?? invalidEndpoint(e.dst, 'dst');
  if (endpoints !== null) return endpoints;
  if (typeof e.method !== 'string' || typeof e.path !== 'string') return 'method or path is not a string';
  const st = e.status as unknown;
  if (!(st === null || typeof st === 'string' || (typeof st === 'number' && Number.isFinite(st))))
    return 'status is not a string, number or null';
  if (!(e.elapsedMs === null || (typeof e.elapsedMs === 'number' && Number.isFinite(e.elapsedMs))))
    return 'elapsedMs is not a number or null';
  if (!count(e.requestSize) || !count(e.responseSize)) return 'requestSize or responseSize is not a count';
  if (!(e.connectionId === null || Number.isSafeInteger(e.connectionId)))
    return 'connectionId is not an integer';
  if (!optionalText(e.node) || !optionalText(e.error)) return 'node or error is not a string';
  if (e.request === null || typeof e.request !== 'object') return 'request is not an object';
  return null;
}

/**
 * The summary row of `e`: its columns' values in SUMMARY_COLUMNS order, the id (first) left 0 for
 * the writer to set. `whole` says the detail is the whole entry; `detail` is where it is in the
 * detail log.
 */
export function summaryValues(e: Entry, whole: boolean, detail: DetailRef): SqlValue[] {
  const s = e.src;
  const d = e.dst;
  const localId = typeof e.id === 'string' ? e.id : String(e.id ?? '');
  return [
    0,
    e.timestamp,
    e.protocol,
    e.method,
    e.path,
    anyValue(e.status),
    finite(e.elapsedMs),
    s.ip,
    s.port,
    str(s.name),
    str(s.namespace),
    str(s.kind),
    str(s.workload),
    str(s.node),
    d.ip,
    d.port,
    str(d.name),
    str(d.namespace),
    str(d.kind),
    str(d.workload),
    str(d.node),
    e.requestSize,
    e.responseSize,
    e.connectionId,
    str(e.node),
    str(e.error),
    localId,
    isErrorEntry(e) ? 1 : 0,
    whole ? 1 : 0,
    detail[0],
    detail[1],
    detail[2],
  ];
}

/** A summary row as `SELECT e.*` returns it. */
export interface SummaryRecord {
  id: number;
  ts: number;
  protocol: string;
  method: string;
  path: string;
  status: string | number | null;
  elapsed_ms: number | null;
  src_ip: string;
  src_port: number;
  src_name: string | null;
  src_ns: string | null;
  src_kind: string | null;
  src_workload: string | null;
  src_node: string | null;
  dst_ip: string;
  dst_port: number;
  dst_name: string | null;
  dst_ns: string | null;
  dst_kind: string | null;
  dst_workload: string | null;
  dst_node: string | null;
  request_size: number;
  response_size: number;
  connection_id: number | null;
  node: string | null;
  error: string | null;
  local_id: string;
  is_error: number;
  /** 1: the detail JSON is the whole entry (version 1's rows, odd entries); 0: request/response. */
  detail_whole: number;
  /** Where the detail JSON is in the detail log; NULL for rows of version 2 and before (entry_details). */
  detail_seg: number | null;
  detail_off: number | null;
  detail_len: number | null;
}

function endpoint(
  ip: string,
  port: number,
  name: string | null,
  namespace: string | null,
  kind: string | null,
  workload: string | null,
  node: string | null,
): EntryEndpoint {
  const ep: EntryEndpoint = { ip, port };
  if (name !== null) ep.name = name;
  if (namespace !== null) ep.namespace = namespace;
  if (kind !== null) ep.kind = kind as EntryEndpoint['kind'];
  if (workload !== null) ep.workload = workload;
  if (node !== null) ep.node = node;
  return ep;
}

/** The entry without request and response, from its summary row alone. */
export function summaryOf(r: SummaryRecord): Omit<StoredEntry, 'request' | 'response'> {
  const out: Omit<StoredEntry, 'request' | 'response'> = {
    type: 'entry',
    id: String(r.id),
    localId: r.local_id,
    protocol: r.protocol as Entry['protocol'],
    timestamp: r.ts,
    elapsedMs: r.elapsed_ms,
    src: endpoint(r.src_ip, r.src_port, r.src_name, r.src_ns, r.src_kind, r.src_workload, r.src_node),
    dst: endpoint(r.dst_ip, r.dst_port, r.dst_name, r.dst_ns, r.dst_kind, r.dst_workload, r.dst_node),
    method: r.method,
    path: r.path,
    status: r.status,
    requestSize: r.request_size,
    responseSize: r.response_size,
    connectionId: r.connection_id,
    error: r.error,
  };
  if (r.node !== null) out.node = r.node;
  return out;
}

/**
 * Whether the summary columns give `ep` back exactly: ip, port, and text or absent names only (the
 * columns hold name, namespace, kind, workload and node as text; a null would come back absent).
 */
function endpointInColumns(ep: EntryEndpoint): boolean {
  for (const k in ep) {
    switch (k) {
      case 'ip':
      case 'port':
        continue;
      case 'name':
      case 'namespace':
      case 'kind':
      case 'workload':
      case 'node': {
        const v = (ep as unknown as Record<string, unknown>)[k];
        if (v === undefined || typeof v === 'string') continue;
        return false;
      }
      default:
        return false;
    }
  }
  return true;
}

/**
 * Whether the summary row gives the entry's field `k` back as it is, for the summary fields (the
 * keys the slim detail leaves out); checked after invalidEntry(), which already holds most fields
 * to their column's type. `error` absent reads back as null, as in the summaries lists hand out.
 */
function inColumns(e: Entry, k: string): boolean {
  switch (k) {
    case 'type':
      return e.type === 'entry';
    case 'id':
      return typeof e.id === 'string';
    case 'protocol':
    case 'timestamp':
    case 'elapsedMs':
    case 'method':
    case 'path':
    case 'status':
    case 'requestSize':
    case 'responseSize':
    case 'connectionId':
    // The store's own, set from the agent's id.
    case 'localId':
      return true;
    case 'error':
      return e.error === null || typeof e.error === 'string';
    case 'node':
      return e.node === undefined || typeof e.node === 'string';
    case 'src':
      return endpointInColumns(e.src);
    case 'dst':
      return endpointInColumns(e.dst);
    default:
      return false;
  }
}

/** The fields the summary row holds: a slim detail leaves them out, ENTRY_JSON writes them. */
const SUMMARY_KEYS = new Set([
  'type',
  'id',
  'localId',
  'protocol',
  'timestamp',
  'elapsedMs',
  'src',
  'dst',
  'method',
  'path',
  'status',
  'requestSize',
  'responseSize',
  'connectionId',
  'node',
  'error',
]);

/**
 * The detail to store for `e`, slim: request, response, and the fields no column holds. The summary
 * fields are not repeated: about a third of an entry's JSON, as much less to serialise and to write
 * (docs/store.md, Performance). Null when a summary field is one the columns cannot give back
 * exactly (an endpoint with fields of its own or a null name, a null `node`, an id that is not
 * text): such an entry's detail is the whole entry, as version 1 stored every entry (the writer puts
 * the hub's id in front: src/store/writer.ts).
 */
export function slimDetail(e: Entry): Record<string, unknown> | null {
  const detail: Record<string, unknown> = { request: e.request, response: e.response };
  for (const k in e) {
    if (k === 'request' || k === 'response' || !Object.hasOwn(e, k)) continue;
    if (SUMMARY_KEYS.has(k)) {
      if (!inColumns(e, k)) return null;
    } else detail[k] = (e as unknown as Record<string, unknown>)[k];
  }
  return detail;
}

/**
 * The JSON of `detail` (slimDetail's, or the whole entry, for `e`). A string under request/response
 * holding more than `bodyCap` bytes is cut to that (and `<key>Truncated: true` set beside it); a
 * string is its length in bytes, or 3/4 of it when its sibling `<key>Encoding` is `base64` (a body
 * the dissector kept as base64). The caller's objects are not changed.
 */
export function detailJson(detail: Record<string, unknown>, e: Entry, bodyCap: number): string {
  const json = JSON.stringify(detail);
  // Cheap test first: a detail shorter than the cap has no string longer than it.
  if (json.length <= bodyCap) return json;
  const request = capStrings(e.request, bodyCap);
  const response = e.response === null ? null : capStrings(e.response, bodyCap);
  if (request === e.request && response === e.response) return json;
  return JSON.stringify({ ...detail, request, response });
}

/** The whole entry from its summary row and its detail JSON (DETAIL_TEXT). */
export function entryOf(r: SummaryRecord, detail: string): StoredEntry {
  const d = JSON.parse(detail) as StoredEntry & { detailLost?: true };
  if (r.detail_whole && d.detailLost !== true) return d;
  return Object.assign(summaryOf(r), d as Pick<StoredEntry, 'request' | 'response'>);
}

/** Cuts a string to `cap` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, cap: number): string {
  const code = s.charCodeAt(cap - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? cap - 1 : cap);
}

/** `v` with its long strings cut, copied only along the paths that changed (the same object otherwise). */
function capStrings<T>(v: T, cap: number, depth = 0): T {
  if (depth > 64 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const item = v[i] as unknown;
      const capped =
        typeof item === 'string' && item.length > cap ? cut(item, cap) : capStrings(item, cap, depth + 1);
      if (capped !== item) {
        out ??= v.slice();
        out[i] = capped;
      }
    }
    return (out ?? v) as T;
  }
  let out: Record<string, unknown> | null = null;
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    if (typeof item === 'string' && item.length > cap) {
      // base64: 4 characters carry 3 bytes; cut at a multiple of 4 so it stays decodable.
      const base64 = (v as Record<string, unknown>)[`${k}Encoding`] === 'base64';
      const pad = item.endsWith('==') ? 2 : item.endsWith('=') ? 1 : 0;
      if (base64 && Math.floor(item.length / 4) * 3 - pad <= cap) continue;
      const keep = base64 ? Math.floor(cap / 3) * 4 : cap;
      out ??= { ...(v as Record<string, unknown>) };
      out[k] = base64 ? item.slice(0, keep) : cut(item, keep);
      out[`${k}Truncated`] = true;
      continue;
    }
    const capped = capStrings(item, cap, depth + 1);
    if (capped !== item) {
      out ??= { ...(v as Record<string, unknown>) };
      out[k] = capped;
    }
  }
  return (out ?? v) as T;
}
