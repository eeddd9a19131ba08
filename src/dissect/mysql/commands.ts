/**
 * Client commands (MySQL protocol: Command Phase): what each one asks, as the entry's summary
 * (method, path) and `request` fields. COM_QUERY's query attributes and COM_STMT_EXECUTE's bound
 * parameters are decoded (values capped); the statement text of an execute comes from its prepare.
 */
import { type BoundParam, boundParams, MAX_STATEMENT, MAX_VALUE } from './packets.js';
import { CLIENT, COM, commandName, type ResponseKind, responseKind } from './protocol.js';
import { printable, Reader, text } from './reader.js';
import type { Statement, StatementMap } from './statements.js';

/** COM_STMT_EXECUTE flags (enum_cursor_type): MySQL's PARAMETER_COUNT_AVAILABLE. */
const PARAMETER_COUNT_AVAILABLE = 0x08;
/** MariaDB: statement id -1 executes the statement prepared last (pipelined PREPARE + EXECUTE). */
export const LAST_PREPARED = 0xffffffff;

export interface ParsedCommand {
  code: number;
  name: string;
  kind: ResponseKind;
  method: string;
  path: string;
  request: Record<string, unknown>;
  /** The statement an execute, fetch, reset or close names, when its prepare was seen. */
  statement: Statement | null;
  /** Statement text of a COM_STMT_PREPARE, to remember once the server gives it an id. */
  prepareText: { text: string; length: number } | null;
  /** The parameter types an execute bound, to remember for the statement. */
  boundTypes: number[] | null;
  /** What could not be read, for a parse error. */
  problem: string | null;
}

/**
 * The first SQL keyword of a statement, upper case: leading blanks, comments (`-- `, `#`, `/* *\/`)
 * and parentheses are skipped; MySQL's executable comments (`/*!40101 SET ...*\/`, MariaDB's `/*M!`)
 * are read as the statement they contain. `QUERY` when there is no keyword.
 */
export function firstKeyword(sql: string): string {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x28 || c === 0x3b) {
      i++;
    } else if (c === 0x23 || (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d)) {
      const nl = sql.indexOf('\n', i);
      if (nl < 0) return 'QUERY';
      i = nl + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      // /*! and /*M! hold executable text after an optional version number.
      const exec = /^\/\*M?!\d*/.exec(sql.slice(i, i + 12));
      if (exec) {
        i += exec[0].length;
        continue;
      }
      const end = sql.indexOf('*/', i + 2);
      if (end < 0) return 'QUERY';
      i = end + 2;
    } else {
      break;
    }
  }
  const m = /^[A-Za-z_]+/.exec(sql.slice(i, i + 32));
  return m ? m[0].toUpperCase() : 'QUERY';
}

function statementText(b: Uint8Array, fullLength: number): { text: string; length: number } {
  return { text: text(b, MAX_STATEMENT), length: fullLength };
}

/** Whether a COM_QUERY carries query attributes: by capability, or (unknown) by its second byte. */
function hasQueryAttributes(p: Uint8Array, caps: number | null): boolean {
  if (caps !== null) return (caps & CLIENT.QUERY_ATTRIBUTES) !== 0;
  const x = p[1];
  return x !== undefined && x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d;
}

/**
 * Decodes one command. `p` is the payload (maybe cut at MAX_KEPT), `length` its full length,
 * `caps` the negotiated capabilities (null when the login was not seen).
 */
export function parseCommand(
  p: Uint8Array,
  length: number,
  caps: number | null,
  statements: StatementMap,
  lastPrepared: Statement | null,
): ParsedCommand {
  const code = p[0] ?? -1;
  const name = commandName(code);
  const cmd: ParsedCommand = {
    code,
    name,
    kind: responseKind(code),
    method: name,
    path: '',
    request: { command: name },
    statement: null,
    prepareText: null,
    boundTypes: null,
    problem: null,
  };
  const r = new Reader(p, 1);
  switch (code) {
    case COM.QUERY: {
      const attrs = hasQueryAttributes(p, caps);
      if (attrs) {
        const count = r.lenenc() ?? 0;
        r.lenenc(); // parameter_set_count, always 1
        if (count > 0) {
          const bound = boundParams(r, count, true, null);
          if (!bound) {
            cmd.problem = 'COM_QUERY: query attributes cut short';
            break;
          }
          cmd.request.attributes = bound.params;
        }
      }
      if (r.short) {
        cmd.problem = 'COM_QUERY: query attributes cut short';
        break;
      }
      const s = statementText(r.b.subarray(r.pos), length - r.pos);
      cmd.method = firstKeyword(s.text);
      cmd.path = s.text;
      cmd.request.query = s.text;
      cmd.request.queryLength = s.length;
      break;
    }
    case COM.STMT_PREPARE: {
      const s = statementText(r.rest(), length - 1);
      cmd.path = s.text;
      cmd.prepareText = s;
      cmd.request.query = s.text;
      cmd.request.queryLength = s.length;
      break;
    }
    case COM.STMT_EXECUTE:
    case COM.STMT_BULK_EXECUTE: {
      const id = r.u32();
      const flags = code === COM.STMT_EXECUTE ? r.u8() : r.u16();
      if (code === COM.STMT_EXECUTE) r.u32(); // iteration_count
      const stmt = id === LAST_PREPARED ? lastPrepared : statements.get(id);
      cmd.statement = stmt;
      cmd.request.statementId = id === LAST_PREPARED && stmt ? stmt.id : id;
      if (code === COM.STMT_EXECUTE && flags & 0x07) cmd.request.cursor = true;
      if (code === COM.STMT_BULK_EXECUTE) cmd.request.bulk = true;
      if (stmt) {
        cmd.method = firstKeyword(stmt.text);
        cmd.path = stmt.text;
        cmd.request.query = stmt.text;
        cmd.request.queryLength = stmt.textLength;
        if (code === COM.STMT_EXECUTE) {
          const qa = caps !== null && (caps & CLIENT.QUERY_ATTRIBUTES) !== 0;
          let count = stmt.params;
          if (qa && flags & PARAMETER_COUNT_AVAILABLE) count = r.lenenc() ?? 0;
          if (count > 0 && !r.atEnd) {
            const bound = boundParams(r, count, qa, stmt.paramTypes);
            if (bound) {
              cmd.request.params = bound.params;
              cmd.boundTypes = bound.types;
            } else if (p.length >= length) {
              cmd.problem = 'COM_STMT_EXECUTE: parameters cut short';
            }
          }
        }
      } else {
        cmd.method = name;
      }
      break;
    }
    case COM.STMT_CLOSE:
    case COM.STMT_RESET:
    case COM.STMT_FETCH:
    case COM.STMT_SEND_LONG_DATA: {
      const id = r.u32();
      cmd.request.statementId = id;
      if (code === COM.STMT_FETCH) cmd.request.rows = r.u32();
      if (code === COM.STMT_SEND_LONG_DATA) {
        cmd.request.param = r.u16();
        cmd.request.dataLength = Math.max(0, length - 7);
      }
      const stmt = id === LAST_PREPARED ? lastPrepared : statements.get(id);
      cmd.statement = stmt;
      if (stmt) cmd.path = stmt.text;
      break;
    }
    case COM.INIT_DB:
    case COM.CREATE_DB:
    case COM.DROP_DB:
      cmd.path = text(r.rest(), 256);
      cmd.request.schema = cmd.path;
      break;
    case COM.FIELD_LIST: {
      cmd.path = text(r.nulBytes(), 256);
      cmd.request.table = cmd.path;
      const wildcard = r.rest();
      if (wildcard.length > 0) cmd.request.wildcard = printable(wildcard, MAX_VALUE);
      break;
    }
    case COM.PROCESS_KILL:
      cmd.request.connectionId = r.u32();
      cmd.path = String(cmd.request.connectionId);
      break;
    case COM.SET_OPTION:
      cmd.request.option = r.u16() === 0 ? 'MULTI_STATEMENTS_ON' : 'MULTI_STATEMENTS_OFF';
      break;
    case COM.REFRESH:
      cmd.request.flags = r.u8();
      break;
    case COM.CHANGE_USER: {
      // MySQL protocol: COM_CHANGE_USER — user, auth response (never kept), schema, ...
      cmd.request.user = text(r.nulBytes(), 128);
      const secure = caps === null || (caps & CLIENT.SECURE_CONNECTION) !== 0;
      if (secure) r.skip(r.u8());
      else r.nulBytes();
      const schema = text(r.nulBytes(), 256);
      cmd.request.schema = schema;
      cmd.path = schema;
      break;
    }
    case COM.BINLOG_DUMP: {
      cmd.request.position = r.u32();
      r.u16(); // flags
      cmd.request.serverId = r.u32();
      cmd.path = text(r.rest(), 256);
      cmd.request.file = cmd.path;
      break;
    }
    case COM.BINLOG_DUMP_GTID: {
      r.u16(); // flags
      cmd.request.serverId = r.u32();
      const nameLen = r.u32();
      cmd.path = text(r.bytes(nameLen), 256);
      cmd.request.file = cmd.path;
      cmd.request.position = r.u64();
      break;
    }
    default:
      break;
  }
  return cmd;
}

export type { BoundParam };
