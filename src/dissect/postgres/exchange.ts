/**
 * The unit an entry is made of: one exchange — the startup, a simple Query, an extended-protocol
 * execution (Parse/Bind/Describe/Execute), a prepare without execution, a function call — with what
 * the server answered, and how it becomes an Entry (DESIGN.md: method = first SQL keyword, path =
 * statement text, status = 'OK' or the SQLSTATE).
 */
import type { Entry } from '../entry.js';
import type { Column, CopyResponse, ErrorFields, Param, Sized } from './decode.js';
import { firstKeyword } from './sql.js';

export type ExchangeKind =
  | 'startup'
  | 'sslRequest'
  | 'gssencRequest'
  | 'cancel'
  | 'query'
  | 'execute'
  | 'prepare'
  | 'functionCall'
  | 'lost';

/** Errors and notices listed per entry. */
const NOTICE_CAP = 16;
/** Statement results listed per entry (a Query string may hold many statements). */
const RESULT_CAP = 64;

export interface CommandResult {
  tag: string;
  command: string;
  rows: number | null;
  /** DataRow messages before this result's CommandComplete. */
  rowsReturned: number;
}

export interface CopyState extends CopyResponse {
  direction: 'in' | 'out' | 'both';
  /** CopyData messages and their payload bytes (both directions for 'both'). */
  messages: number;
  bytes: number;
  /** Newlines in the data: the rows of a text or CSV copy. */
  lines: number;
  done: boolean;
  failed: string | null;
}

export interface Exchange {
  kind: ExchangeKind;
  reqTs: number;
  respTs: number | null;
  reqSize: number;
  respSize: number;
  /** Frontend messages that make up the request (`Parse`, `Bind`, `Execute`...), in order. */
  messages: string[];
  query: Sized | null;
  /** Extended protocol: the prepared statement and portal, the Bind parameters. */
  statement: string | null;
  portal: string | null;
  /** A Parse for this statement was part of this exchange. */
  parsed: boolean;
  paramTypes: number[] | null;
  params: Param[] | null;
  paramCount: number | null;
  maxRows: number | null;
  extra: Record<string, unknown>;
  // the response
  results: CommandResult[];
  /** DataRows since the last result. */
  pendingRows: number;
  rowsReturned: number;
  columns: Column[] | null;
  columnCount: number | null;
  parameterTypes: number[] | null;
  noData: boolean;
  suspended: boolean;
  error: ErrorFields | null;
  notices: ErrorFields[];
  parameterStatus: Record<string, string> | null;
  transactionStatus: string | null;
  copy: CopyState | null;
  responseExtra: Record<string, unknown>;
  /** Why the entry is incomplete or odd. */
  problems: string[];
  /** Not run: the server was skipping to Sync after an earlier error. */
  skipped: boolean;
  /** Emitted already. */
  done: boolean;
}

export function newExchange(kind: ExchangeKind, ts: number): Exchange {
  return {
    kind,
    reqTs: ts,
    respTs: null,
    reqSize: 0,
    respSize: 0,
    messages: [],
    query: null,
    statement: null,
    portal: null,
    parsed: false,
    paramTypes: null,
    params: null,
    paramCount: null,
    maxRows: null,
    extra: {},
    results: [],
    pendingRows: 0,
    rowsReturned: 0,
    columns: null,
    columnCount: null,
    parameterTypes: null,
    noData: false,
    suspended: false,
    error: null,
    notices: [],
    parameterStatus: null,
    transactionStatus: null,
    copy: null,
    responseExtra: {},
    problems: [],
    skipped: false,
    done: false,
  };
}

/** Something the server said about this exchange: counts its bytes, notes its first byte. */
export function answered(ex: Exchange, f: { ts: number; wire: number; damaged: number }): void {
  if (ex.respTs === null) ex.respTs = f.ts;
  ex.respSize += f.wire;
  if (f.damaged > 0) note(ex, `${f.damaged} bytes of the response lost in a gap`);
}

/** Problems noted per entry. */
const PROBLEM_CAP = 8;

/** Notes why an entry is incomplete or odd (once per reason, a few at most). */
export function note(ex: Exchange, why: string): void {
  if (ex.problems.length < PROBLEM_CAP && !ex.problems.includes(why)) ex.problems.push(why);
}

export function addResult(ex: Exchange, tag: string, command: string, rows: number | null): void {
  if (ex.results.length < RESULT_CAP) ex.results.push({ tag, command, rows, rowsReturned: ex.pendingRows });
  ex.pendingRows = 0;
}

export function addNotice(ex: Exchange, fields: ErrorFields): void {
  if (ex.notices.length < NOTICE_CAP) ex.notices.push(fields);
}

function method(ex: Exchange): string {
  switch (ex.kind) {
    case 'startup':
      return 'STARTUP';
    case 'sslRequest':
      return 'SSLREQUEST';
    case 'gssencRequest':
      return 'GSSENCREQUEST';
    case 'cancel':
      return 'CANCEL';
    case 'functionCall':
      return 'FUNCTIONCALL';
    case 'lost':
      return '';
    default:
      // An Execute of a statement whose Parse was not captured: the keyword is unknown.
      return ex.query ? firstKeyword(ex.query.text) : ex.kind === 'execute' ? 'EXECUTE' : '';
  }
}

function path(ex: Exchange): string {
  if (ex.kind === 'startup') return String(ex.extra.database ?? ex.extra.user ?? '');
  if (ex.kind === 'functionCall') return String(ex.extra.oid ?? '');
  return ex.query?.text ?? '';
}

function status(ex: Exchange, hasResponse: boolean): string | null {
  if (ex.error?.code) return ex.error.code;
  if (ex.kind === 'sslRequest' || ex.kind === 'gssencRequest')
    return (ex.responseExtra.answer as string) ?? null;
  if (!hasResponse || ex.skipped) return null;
  // A startup is OK once the server is ready for queries (§55.2.1), not at its first answer.
  if (ex.kind === 'startup' && ex.transactionStatus === null) return null;
  if (ex.error) return 'ERROR'; // an ErrorResponse without a code field: not from a real server
  return 'OK';
}

function requestFields(ex: Exchange): Record<string, unknown> {
  const r: Record<string, unknown> = { type: ex.kind };
  if (ex.query) {
    r.query = ex.query.text;
    r.queryLength = ex.query.length;
    if (Buffer.byteLength(ex.query.text) < ex.query.length) r.queryTruncated = true;
  }
  if (ex.statement !== null) r.statement = ex.statement;
  if (ex.portal !== null) r.portal = ex.portal;
  if (ex.kind === 'execute' || ex.kind === 'prepare') r.parsed = ex.parsed;
  if (ex.paramTypes) r.paramTypes = ex.paramTypes;
  if (ex.params) r.params = ex.params;
  if (ex.paramCount !== null) r.paramCount = ex.paramCount;
  if (ex.maxRows !== null) r.maxRows = ex.maxRows;
  if (ex.messages.length) r.messages = ex.messages;
  Object.assign(r, ex.extra);
  return r;
}

function responseFields(ex: Exchange): Record<string, unknown> {
  const r: Record<string, unknown> = {};
  const last = ex.results[ex.results.length - 1];
  if (last) {
    r.tag = last.tag;
    r.command = last.command;
    r.rows = last.rows;
  }
  if (ex.kind === 'query' || ex.kind === 'execute') r.rowsReturned = ex.rowsReturned;
  if (ex.results.length > 1) r.results = ex.results;
  if (ex.columns) {
    r.columns = ex.columns;
    r.columnCount = ex.columnCount;
  }
  if (ex.parameterTypes) r.parameterTypes = ex.parameterTypes;
  if (ex.noData) r.noData = true;
  if (ex.suspended) r.suspended = true;
  if (ex.copy) r.copy = ex.copy;
  if (ex.error) r.error = ex.error;
  if (ex.notices.length) r.notices = ex.notices;
  if (ex.parameterStatus) r.parameterStatus = ex.parameterStatus;
  if (ex.transactionStatus) r.transactionStatus = ex.transactionStatus;
  Object.assign(r, ex.responseExtra);
  return r;
}

export type PostgresEntry = Omit<Entry, 'type' | 'id' | 'src' | 'dst' | 'connectionId'>;

export function buildEntry(ex: Exchange): PostgresEntry {
  const hasResponse = ex.respTs !== null;
  return {
    protocol: 'postgres',
    timestamp: ex.reqTs,
    elapsedMs: ex.respTs !== null ? Math.round(ex.respTs - ex.reqTs) / 1000 : null,
    method: method(ex),
    path: path(ex),
    status: status(ex, hasResponse),
    request: requestFields(ex),
    response: hasResponse ? responseFields(ex) : null,
    requestSize: ex.reqSize,
    responseSize: ex.respSize,
    error: ex.problems.length ? ex.problems.join('; ') : null,
  };
}
