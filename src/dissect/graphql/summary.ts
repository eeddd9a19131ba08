/**
 * GraphQL exchanges as entries (DESIGN.md: method = operation type, path = operation name, status =
 * HTTP status, errors in `response`). The HTTP dissectors (1.x, and 2 if it wants) call these on a
 * finished exchange and emit protocol `graphql` instead of `http` when the request is GraphQL.
 */
import type { GraphqlRequest } from './detect.js';

export interface GraphqlError {
  message: string;
  path?: unknown;
  extensions?: unknown;
}

export interface GraphqlResult {
  /** Whether `data` was present (and not null) in the response (§6.1: partial results). */
  hasData: boolean;
  errors: GraphqlError[];
}

/** How many errors are kept per result for display. */
const MAX_ERRORS = 20;

/** The summary columns of a GraphQL exchange. */
export function graphqlColumns(req: GraphqlRequest): { method: string; path: string } {
  const first = req.operations[0]!;
  // A batch is listed by its first operation's type and every operation's name.
  const names = req.operations.map((o) => o.name ?? '').filter((n) => n !== '');
  return { method: first.type, path: names.join(',') };
}

/**
 * The results of a GraphQL response body (one per operation when batched); null when the body is
 * not a GraphQL response (not JSON, no `data` nor `errors`).
 */
export function graphqlResults(body: string | null): GraphqlResult[] | null {
  if (body === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(body) as unknown;
  } catch {
    return null;
  }
  const items = Array.isArray(json) ? json : [json];
  const out: GraphqlResult[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return null;
    const o = item as Record<string, unknown>;
    if (!('data' in o) && !('errors' in o)) return null;
    const errors: GraphqlError[] = [];
    if (Array.isArray(o.errors)) {
      for (const e of o.errors.slice(0, MAX_ERRORS)) {
        if (typeof e !== 'object' || e === null) continue;
        const r = e as Record<string, unknown>;
        const err: GraphqlError = { message: typeof r.message === 'string' ? r.message : String(r.message) };
        if (r.path !== undefined) err.path = r.path;
        if (r.extensions !== undefined) err.extensions = r.extensions;
        errors.push(err);
      }
    }
    out.push({ hasData: o.data !== undefined && o.data !== null, errors });
  }
  return out;
}
