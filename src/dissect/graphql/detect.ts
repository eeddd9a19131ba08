/**
 * GraphQL over HTTP (GraphQL over HTTP draft, 2024: §5 request, §6 response): a request is GraphQL
 * when it carries a document with at least one operation, as a POST JSON body `{query,
 * operationName, variables}` (or an array of them: batching, as Apollo and others send it), a POST
 * `application/graphql` body, or GET query parameters. The document decides, not the URL: a
 * `/graphql` path without a document stays plain HTTP.
 */
import { documentOperations, type OperationType, selectOperation } from './document.js';

/** Query text kept per operation for display. */
export const MAX_QUERY_CHARS = 16 * 1024;

export interface GraphqlOperation {
  type: OperationType;
  /** The operation's name from the document, else the request's operationName, else null. */
  name: string | null;
  query: string;
  variables?: unknown;
  extensions?: unknown;
}

export interface GraphqlRequest {
  transport: 'post-json' | 'post-graphql' | 'get';
  batched: boolean;
  operations: GraphqlOperation[];
}

/**
 * The GraphQL operations of an HTTP request, or null when it is not GraphQL. `body` is the decoded
 * text of a complete body (null when absent, binary or cut).
 */
export function graphqlRequest(
  method: string,
  target: string,
  contentType: string | undefined,
  body: string | null,
): GraphqlRequest | null {
  const ct = (contentType ?? '').toLowerCase();
  if (method === 'GET') {
    const q = target.indexOf('?');
    if (q < 0) return null;
    const params = new URLSearchParams(target.slice(q + 1));
    const query = params.get('query');
    if (query === null) return null;
    const op = operation(query, params.get('operationName'), parseJson(params.get('variables')), undefined);
    return op ? { transport: 'get', batched: false, operations: [op] } : null;
  }
  if (body === null) return null;
  if (ct.startsWith('application/graphql') && !ct.includes('json')) {
    const op = operation(body, null, undefined, undefined);
    return op ? { transport: 'post-graphql', batched: false, operations: [op] } : null;
  }
  const trimmed = body.trimStart();
  if (!(ct.includes('json') || trimmed.startsWith('{') || trimmed.startsWith('['))) return null;
  const json = parseJson(body);
  if (Array.isArray(json)) {
    if (json.length === 0) return null;
    const ops: GraphqlOperation[] = [];
    for (const item of json) {
      const op = fromParams(item);
      if (!op) return null;
      ops.push(op);
    }
    return { transport: 'post-json', batched: true, operations: ops };
  }
  const op = fromParams(json);
  return op ? { transport: 'post-json', batched: false, operations: [op] } : null;
}

function fromParams(v: unknown): GraphqlOperation | null {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.query !== 'string') return null;
  const name = typeof o.operationName === 'string' ? o.operationName : null;
  return operation(o.query, name, o.variables, o.extensions);
}

function operation(
  query: string,
  operationName: string | null,
  variables: unknown,
  extensions: unknown,
): GraphqlOperation | null {
  const ops = documentOperations(query);
  if (!ops) return null;
  const chosen = selectOperation(ops, operationName);
  if (!chosen) return null;
  const op: GraphqlOperation = {
    type: chosen.type,
    name: chosen.name ?? operationName,
    query: query.length > MAX_QUERY_CHARS ? `${query.slice(0, MAX_QUERY_CHARS)}…` : query,
  };
  if (variables !== undefined && variables !== null) op.variables = variables;
  if (extensions !== undefined && extensions !== null) op.extensions = extensions;
  return op;
}

function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
