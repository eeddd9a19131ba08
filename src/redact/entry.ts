/**
 * Redaction of an entry before it is stored, streamed or exported (DESIGN.md, Safety). It knows the
 * shapes the HTTP-family dissectors give `request` and `response`:
 *
 * - http1 (src/dissect/http1/summary.ts): `headers` (wire-case names, repeats joined), `path` (the
 *   request-target), `body` as text with `bodyEncoding`, `informational[].headers`;
 * - http2 and gRPC (src/dissect/http2/summary.ts): `headers` and `trailers` (lower-case names,
 *   pseudo-headers apart), `path`, `body: {text, encoding, mimeType}`, gRPC `messages[].json`;
 * - GraphQL (src/dissect/graphql): `request.graphql.operations[].query/variables/extensions`,
 *   `response.graphql`, `response.errors`, on top of the HTTP fields;
 * - WebSocket (src/dissect/websocket): the upgrade path and text `payload`.
 *
 * Other protocols' dissectors drop their secrets themselves (PostgreSQL, MySQL, AMQP, MQTT and NATS
 * passwords and tokens, Redis AUTH), so their entries pass through untouched.
 */
import type { Entry } from '../dissect/entry.js';
import { type CompiledRules, compileRules, DEFAULT_RULES, type RedactionRules } from './rules.js';
import {
  graphqlSecretVariables,
  type ParamHook,
  redactGraphqlLiterals,
  redactGraphqlVariables,
  redactJsonText,
  redactJsonValue,
  redactMultipart,
  redactParams,
  redactUrl,
  type StringHook,
} from './text.js';

type Side = Record<string, unknown>;

/**
 * The entry with its secrets replaced by the rules' replacement (`[REDACTED]` by default). Never
 * changes `e`: returns `e` itself when nothing in it was secret (the common case costs a few map
 * lookups and one scan of each text body, and allocates nothing), else a copy in which only the
 * objects on the way to a secret are new (the rest is shared with `e`).
 */
export function redactEntry(e: Entry, rules: RedactionRules = DEFAULT_RULES): Entry {
  switch (e.protocol) {
    case 'http':
    case 'grpc':
    case 'graphql':
    case 'websocket':
      break;
    default:
      return e;
  }
  const c = compileRules(rules);
  const graphql = e.protocol === 'graphql';
  const path = redactUrl(e.path, c, graphql ? graphqlParam(e.path, c) : undefined);
  const request = redactSide(e.request, c, graphql);
  const response = e.response ? redactSide(e.response, c, graphql) : e.response;
  if (path === e.path && request === e.request && response === e.response) return e;
  return { ...e, path, request, response };
}

function redactSide(side: Side, c: CompiledRules, graphql: boolean): Side {
  let out: Side | null = null;
  const set = (k: string, v: unknown): void => {
    if (v === side[k]) return;
    out ??= { ...side };
    out[k] = v;
  };
  const headers = side.headers;
  if (isRecord(headers)) set('headers', redactHeaders(headers, c));
  if (isRecord(side.trailers)) set('trailers', redactHeaders(side.trailers, c));
  if (Array.isArray(side.informational)) set('informational', redactInformational(side.informational, c));
  if (typeof side.path === 'string')
    set('path', redactUrl(side.path, c, graphql ? graphqlParam(side.path, c) : undefined));
  // Not a field any dissector fills today: a parsed query string, if one is added.
  if (typeof side.query === 'string') set('query', redactParams(side.query, c));
  else if (isRecord(side.query)) set('query', redactParamRecord(side.query, c));
  const contentType = isRecord(headers) ? headerValue(headers, 'content-type') : undefined;
  // HTTP/1.x: the body as text beside `bodyEncoding`.
  if (typeof side.body === 'string' && side.bodyEncoding === 'utf8')
    set('body', redactBody(side.body, contentType, c, graphql));
  // HTTP/2: `{text, encoding, mimeType}`.
  else if (isRecord(side.body) && side.body.encoding === 'utf8' && typeof side.body.text === 'string') {
    const body = side.body;
    const text = redactBody(
      body.text as string,
      typeof body.mimeType === 'string' ? body.mimeType : contentType,
      c,
      graphql,
    );
    if (text !== body.text) set('body', { ...body, text });
  }
  if (isRecord(side.graphql)) set('graphql', redactGraphqlRequest(side.graphql, c));
  if (Array.isArray(side.graphql)) set('graphql', redactJsonValue(side.graphql, c));
  if (graphql && side.errors !== undefined) set('errors', redactJsonValue(side.errors, c));
  if (Array.isArray(side.messages)) set('messages', redactGrpcMessages(side.messages, c));
  if (typeof side.payload === 'string' && side.payloadEncoding === 'utf8' && looksLikeJson(side.payload))
    set('payload', redactJsonText(side.payload, c.key, c.replacementJson));
  return out ?? side;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function headerValue(headers: Record<string, unknown>, lowerName: string): string | undefined {
  for (const k of Object.keys(headers)) {
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) {
      const v = headers[k];
      return typeof v === 'string' ? v : undefined;
    }
  }
  return undefined;
}

// Kubernetes' WebSocket bearer token (client-go `wsstream`): `base64url.bearer.authorization.k8s.io.<token>`.
const K8S_WS_TOKEN = /(base64url\.bearer\.authorization\.k8s\.io\.)[^,\s]+/g;

function redactHeaders(headers: Record<string, unknown>, c: CompiledRules): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (typeof v !== 'string') continue;
    let next = v;
    if (c.header.matches(name)) next = c.replacement;
    else {
      const lower = name.toLowerCase();
      // URLs in headers (RFC 9110 §10.2.2 Location, §10.1.3 Referer; Content-Location) carry the
      // query strings and fragments of the requests they name.
      if (lower === 'location' || lower === 'referer' || lower === 'content-location') next = redactUrl(v, c);
      else if (lower === 'sec-websocket-protocol' && v.includes('bearer.authorization.k8s.io'))
        next = v.replace(K8S_WS_TOKEN, `$1${c.replacement}`);
    }
    if (next !== v) {
      out ??= { ...headers };
      out[name] = next;
    }
  }
  return out ?? headers;
}

function redactInformational(list: unknown[], c: CompiledRules): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!isRecord(item) || !isRecord(item.headers)) continue;
    const h = redactHeaders(item.headers, c);
    if (h !== item.headers) {
      out ??= list.slice();
      out[i] = { ...item, headers: h };
    }
  }
  return out ?? list;
}

function redactParamRecord(q: Record<string, unknown>, c: CompiledRules): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(q)) {
    if (!c.param.matches(k) || q[k] === c.replacement) continue;
    out ??= { ...q };
    out[k] = c.replacement;
  }
  return out ?? q;
}

function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x7b || ch === 0x5b) return true;
    if (ch !== 0x20 && ch !== 0x0a && ch !== 0x0d && ch !== 0x09 && ch !== 0xfeff) return false;
  }
  return false;
}

function redactBody(
  text: string,
  contentType: string | undefined,
  c: CompiledRules,
  graphql: boolean,
): string {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('json') || looksLikeJson(text)) {
    if (graphql) {
      const whole = redactGraphqlJsonBody(text, c);
      if (whole !== null) return whole;
    }
    return redactJsonText(text, c.key, c.replacementJson, graphql ? graphqlQueryHook(c) : undefined);
  }
  if (ct.startsWith('application/x-www-form-urlencoded')) return redactParams(text, c);
  if (ct.startsWith('multipart/form-data')) return redactMultipart(text, c);
  if (graphql && ct.startsWith('application/graphql')) return redactGraphqlLiterals(text, c);
  return text;
}

/**
 * A whole GraphQL POST body (GraphQL over HTTP §5: `{query, operationName, variables, extensions}`,
 * or a batch of them), parsed so that the variables bound to secret arguments are found; null when
 * it does not parse (a body cut short), for the text scan to do what it can.
 */
function redactGraphqlJsonBody(text: string, c: CompiledRules): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const one = (v: unknown): unknown => {
    if (!isRecord(v)) return redactJsonValue(v, c);
    const op = redactGraphqlOperation(v, c);
    let out: Record<string, unknown> | null = null;
    for (const k of Object.keys(op)) {
      if (k === 'query' || k === 'variables' || k === 'extensions') continue;
      const r = c.key.matches(k) ? c.replacement : redactJsonValue(op[k], c);
      if (r !== op[k]) {
        out ??= { ...op };
        out[k] = r;
      }
    }
    return out ?? op;
  };
  let changed = false;
  const red = Array.isArray(parsed)
    ? parsed.map((x) => {
        const r = one(x);
        changed ||= r !== x;
        return r;
      })
    : one(parsed);
  changed ||= red !== parsed;
  return changed ? JSON.stringify(red) : text;
}

/** GraphQL over HTTP §5 POST body: the `query` member's document has its secret literals redacted. */
function graphqlQueryHook(c: CompiledRules): StringHook {
  return (key, literal) => {
    if (key !== 'query') return null;
    let doc: unknown;
    try {
      doc = JSON.parse(literal);
    } catch {
      return null;
    }
    if (typeof doc !== 'string') return null;
    const red = redactGraphqlLiterals(doc, c);
    return red === doc ? null : JSON.stringify(red);
  };
}

function decodeParam(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** GraphQL over HTTP §5 GET: `query` and `variables` travel as (percent-encoded) parameters. */
function graphqlParam(url: string, c: CompiledRules): ParamHook | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  let secretVariables: Set<string> = new Set();
  for (const part of url
    .slice(q + 1)
    .split('#')[0]!
    .split('&'))
    if (part.startsWith('query='))
      secretVariables = graphqlSecretVariables(decodeParam(part.slice(6)) ?? '', c);
  return (name, value) => {
    if (name !== 'query' && name !== 'variables') return null;
    const text = decodeParam(value);
    if (text === null) return null;
    let red = text;
    if (name === 'query') red = redactGraphqlLiterals(text, c);
    else {
      try {
        const vars = JSON.parse(text) as unknown;
        const r = redactGraphqlVariables(vars, secretVariables, c);
        if (r !== vars) red = JSON.stringify(r);
      } catch {
        red = redactJsonText(text, c.key, c.replacementJson);
      }
    }
    return red === text ? null : encodeURIComponent(red);
  };
}

/** One operation `{query, variables, extensions, ...}`: literals, secret keys, secret variables. */
function redactGraphqlOperation(op: Record<string, unknown>, c: CompiledRules): Record<string, unknown> {
  let next: Record<string, unknown> | null = null;
  const query = typeof op.query === 'string' ? op.query : '';
  if (query) {
    const q = redactGraphqlLiterals(query, c);
    if (q !== query) next = { ...op, query: q };
  }
  if (op.variables !== undefined) {
    const r = redactGraphqlVariables(op.variables, graphqlSecretVariables(query, c), c);
    if (r !== op.variables) {
      next ??= { ...op };
      next.variables = r;
    }
  }
  if (op.extensions !== undefined) {
    const r = redactJsonValue(op.extensions, c);
    if (r !== op.extensions) {
      next ??= { ...op };
      next.extensions = r;
    }
  }
  return next ?? op;
}

function redactGraphqlRequest(g: Record<string, unknown>, c: CompiledRules): Record<string, unknown> {
  if (!Array.isArray(g.operations)) return redactJsonValue(g, c) as Record<string, unknown>;
  let ops: unknown[] | null = null;
  for (let i = 0; i < g.operations.length; i++) {
    const op = g.operations[i];
    if (!isRecord(op)) continue;
    const next = redactGraphqlOperation(op, c);
    if (next !== op) {
      ops ??= g.operations.slice();
      ops[i] = next;
    }
  }
  return ops ? { ...g, operations: ops } : g;
}

/** gRPC messages decoded with names from `.proto` files (`json`); schema-less ones have numbers only. */
function redactGrpcMessages(messages: unknown[], c: CompiledRules): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isRecord(m) || m.json === undefined) continue;
    const json = redactJsonValue(m.json, c);
    if (json !== m.json) {
      out ??= messages.slice();
      out[i] = { ...m, json };
    }
  }
  return out ?? messages;
}
