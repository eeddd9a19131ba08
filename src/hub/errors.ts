/**
 * The hub's catalogue of coded errors: every error a client of the hub's HTTP and WebSocket APIs can
 * get back, with its HTTP status. Each answers as JSON `{"error": {"code", "message", "span"?,
 * "hint"?}}` (`span` and `hint` only for a query's errors). docs/hub-api.md lists every code with
 * the same text; test/hub/api/errors.test.ts keeps the two in step (as src/wire/errors.ts and
 * docs/errors.md are kept for the engine's counted errors).
 *
 * Query errors keep the query language's own codes (`QueryError.code`, from src/query), so a client
 * sees the same code whether it typed the query into the API, the stream or the CLI; they all answer
 * 400 and are documented with the query language.
 */
import { QueryError } from '../query/index.js';

export const HUB_ERRORS = {
  'hub.unauthorized': {
    status: 401,
    text: 'The hub needs a bearer token (`Authorization: Bearer <token>`) and none, or another one, was sent.',
  },
  'hub.bad_request': {
    status: 400,
    text: 'The HTTP request itself is malformed (a body shorter or longer than its `Content-Length`, an aborted upload).',
  },
  'hub.bad_parameter': {
    status: 400,
    text: 'A path or query-string parameter, or the JSON body, does not have the form the route declares (see /api/openapi.json).',
  },
  'hub.bad_time': {
    status: 400,
    text: '`from` or `to` is neither epoch milliseconds nor an RFC 3339 date-time.',
  },
  'hub.bad_window': {
    status: 400,
    text: '`from` is later than `to`.',
  },
  'hub.bad_cursor': {
    status: 400,
    text: 'The cursor is not one this hub handed out (cursors are opaque: pass back `cursor` as it came).',
  },
  'hub.bad_json': {
    status: 400,
    text: 'The request body is not valid JSON.',
  },
  'hub.body_too_large': {
    status: 413,
    text: 'The request body is larger than the hub accepts.',
  },
  'hub.unsupported_media_type': {
    status: 415,
    text: 'The request body is not `application/json`.',
  },
  'hub.not_found': {
    status: 404,
    text: 'No route of the API has this method and path.',
  },
  'hub.entry_not_found': {
    status: 404,
    text: 'No stored entry has this id (it never existed, or retention removed it).',
  },
  'hub.saved_query_not_found': {
    status: 404,
    text: 'No saved query has this name.',
  },
  'hub.upgrade_required': {
    status: 426,
    text: '`/api/stream` is a WebSocket: connect with a WebSocket client (`Upgrade: websocket`).',
  },
  'hub.stream_full': {
    status: 503,
    text: 'The hub already serves as many live streams as it allows; the WebSocket is closed (code 1013, try again later).',
  },
  'hub.stream_bad_message': {
    status: 400,
    text: 'A message sent on `/api/stream` is not a JSON text frame `{"query": "<text>"}` or `{"query": null}` (at most 100 KiB).',
  },
  'hub.query_timeout': {
    status: 503,
    text: 'The query ran longer than the hub allows (30 s by default) and was abandoned: narrow the time window, or filter on an indexed field (protocol, status, names, namespaces).',
  },
  'hub.internal': {
    status: 500,
    text: 'The hub failed on this request (a podwire bug, or the store failed); the hub log has the details.',
  },
} as const satisfies Record<string, { status: number; text: string }>;

export type HubErrorCode = keyof typeof HUB_ERRORS;

/** The JSON every error answers with. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** Where in the query text the problem is (UTF-16 offsets, end exclusive), for query errors. */
    span?: { start: number; end: number };
    hint?: string;
  };
}

/** An error the API answers a request with: a catalogue code and a message about this request. */
export class HubError extends Error {
  readonly status: number;

  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'HubError';
    this.status = HUB_ERRORS[code].status;
  }
}

/**
 * The status and body for anything a route can throw: our own errors, a query's, fastify's (schema
 * validation, body parsing) and, for anything else, `hub.internal` without the internals' message
 * (it may name files or SQL; the caller logs the real error).
 */
export function errorReply(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof HubError)
    return { status: err.status, body: body(err.code, err.message, err.hint), internal: false };
  if (err instanceof QueryError) return { status: 400, body: queryErrorBody(err), internal: false };
  const fastify = fastifyError(err);
  if (fastify)
    return {
      status: HUB_ERRORS[fastify.code].status,
      body: body(fastify.code, fastify.message),
      internal: false,
    };
  return {
    status: 500,
    body: body('hub.internal', 'the hub failed on this request; its log has the details'),
    internal: true,
  };
}

/** A query error as the API shows it: the query language's code, message, span and hint. */
export function queryErrorBody(err: QueryError): ErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      span: { start: err.span.start, end: err.span.end },
      ...(err.hint !== undefined ? { hint: err.hint } : {}),
    },
  };
}

export function body(code: HubErrorCode, message: string, hint?: string): ErrorBody {
  return { error: { code, message, ...(hint !== undefined ? { hint } : {}) } };
}

interface ValidationItem {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Fastify's own errors (by their `FST_ERR_*` codes and `validation`), in the catalogue's words. */
function fastifyError(err: unknown): { code: HubErrorCode; message: string } | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as {
    code?: unknown;
    validation?: unknown;
    validationContext?: unknown;
    statusCode?: unknown;
  };
  if (Array.isArray(e.validation)) {
    const where = typeof e.validationContext === 'string' ? e.validationContext : 'request';
    return { code: 'hub.bad_parameter', message: validationMessage(where, e.validation as ValidationItem[]) };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'hub.bad_json', message: 'the body is not valid JSON' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'hub.body_too_large', message: 'the request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        code: 'hub.unsupported_media_type',
        message: 'send the body as JSON, with `Content-Type: application/json`',
      };
  }
  // Fastify's other complaints about the request itself (a body shorter than its Content-Length,
  // an aborted upload...).
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return { code: 'hub.bad_request', message: `the request is malformed: ${(err as Error).message}` };
  return null;
}

/** `limit: must be <= 1000` rather than ajv's `querystring/limit must be <= 1000`. */
function validationMessage(where: string, items: readonly ValidationItem[]): string {
  const first = items[0];
  if (!first) return `the ${where} is not valid`;
  const path = (first.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const missing = first.params?.missingProperty;
  if (typeof missing === 'string') return `${where}: \`${missing}\` is required`;
  const allowed = first.params?.allowedValues;
  const tail = Array.isArray(allowed) ? ` (${allowed.join(', ')})` : '';
  return path
    ? `${where} \`${path}\`: ${first.message ?? 'is not valid'}${tail}`
    : `${where}: ${first.message ?? 'is not valid'}${tail}`;
}
