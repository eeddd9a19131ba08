/**
 * The server's answer to one command, packet by packet (MySQL protocol: COM_QUERY Response,
 * Text Resultset, Binary Protocol Resultset, COM_STMT_PREPARE Response, COM_FIELD_LIST Response,
 * multi-resultsets under SERVER_MORE_RESULTS_EXISTS, LOCAL INFILE Request). It knows where the
 * answer ends and summarises it: OK fields, the error, result set columns and a row count (rows are
 * counted, and only the first few kept as a sample).
 *
 * Whether EOF packets were deprecated (CLIENT_DEPRECATE_EOF) is known from the login; on a
 * connection picked up mid-stream it is learnt from the first result set (a 5-byte 0xfe packet
 * after the column definitions is the intermediate EOF_Packet of the older protocol).
 */
import {
  binaryRow,
  type ColumnDef,
  isClassicEof,
  isEofLike,
  type PrepareOk,
  parseAuthSwitch,
  parseColumnCount,
  parseColumnDef,
  parseEof,
  parseErr,
  parseOk,
  parsePrepareOk,
  textRow,
} from './packets.js';
import {
  AUTH_MORE_DATA,
  CLIENT,
  EOF_HEADER,
  ERR_HEADER,
  fieldTypeName,
  LOCAL_INFILE_HEADER,
  OK_HEADER,
  PROGRESS_ERRNO,
  type ResponseKind,
  SERVER_STATUS,
} from './protocol.js';
import { printable, text } from './reader.js';

/** Rows kept per response as a sample. */
export const SAMPLE_ROWS = 3;
/** Column definitions listed per response. */
export const MAX_FIELDS = 64;

/** What the reader needs from the connection, and what it tells back. */
export interface ConnectionView {
  /** Negotiated capabilities; null when the login was not seen. */
  caps: number | null;
  /** CLIENT_DEPRECATE_EOF: known from the login, else learnt; null while unknown. */
  deprecateEof: boolean | null;
  /** MariaDB extended column metadata. */
  extendedMetadata: boolean;
}

type State =
  | 'first'
  | 'columns'
  | 'columnsEof'
  | 'rows'
  | 'infile'
  | 'prepareParams'
  | 'prepareParamsEof'
  | 'prepareColumns'
  | 'prepareColumnsEof'
  | 'fieldlist'
  | 'auth'
  | 'stream'
  | 'done';

export interface FieldSummary {
  name: string;
  table?: string;
  type: string;
}

export class ResponseReader {
  state: State = 'first';
  /** Bytes and first-byte time of the packets read. */
  size = 0;
  firstTs: number | null = null;
  /** The summary for the entry's `response`. */
  readonly out: Record<string, unknown> = {};
  /** The final status: 'OK' or the MySQL error code. */
  status: 'OK' | number = 'OK';
  /** The prepare's outcome, for the statement map. */
  prepared: PrepareOk | null = null;
  preparedColumnTypes: number[] = [];
  /** A packet did not fit the protocol. */
  problem: string | null = null;
  /** The answer ended as the protocol says (not cut by a gap or the connection's end). */
  complete = false;

  private remaining = 0;
  private columns = 0;
  private rows = 0;
  private resultSets = 0;
  private types: number[] = [];
  private fields: FieldSummary[] = [];
  private sample: unknown[][] = [];

  /**
   * @param kind how the command is answered
   * @param binary rows are in the binary protocol (COM_STMT_EXECUTE, COM_STMT_FETCH)
   * @param knownTypes column types from the prepare, for rows sent without metadata
   */
  constructor(
    readonly kind: ResponseKind,
    private readonly conn: ConnectionView,
    private readonly binary: boolean,
    private readonly knownTypes: readonly number[] = [],
  ) {
    if (kind === 'rows') {
      this.state = 'rows';
      this.types = [...knownTypes];
      this.columns = knownTypes.length;
    }
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** The answer may be complete: only an EOF_Packet that an unknown CLIENT_DEPRECATE_EOF may omit is missing. */
  get canEnd(): boolean {
    return (
      this.state === 'prepareColumnsEof' ||
      (this.state === 'prepareParamsEof' && this.prepared?.columns === 0)
    );
  }

  /** Waiting for the client to finish a LOCAL INFILE upload. */
  get awaitingUpload(): boolean {
    return this.state === 'infile';
  }

  /** The client's upload ended (an empty packet): the server's OK or ERR comes next. */
  uploadDone(): void {
    if (this.state === 'infile') this.state = 'first';
  }

  /**
   * One server packet (`p` may be cut at MAX_KEPT; `length` is the whole payload). Returns false
   * when the packet does not belong to this answer (which is then complete): an EOF that an unknown
   * CLIENT_DEPRECATE_EOF left out was expected and something else came.
   */
  feed(p: Uint8Array, length: number, wire: number, ts: number): boolean {
    if (this.state === 'done') return false;
    const first = p[0] ?? -1;
    const optionalEof = this.state === 'prepareParamsEof' || this.state === 'prepareColumnsEof';
    if (optionalEof && this.conn.deprecateEof === null && !isClassicEof(p, length)) {
      // No EOF_Packet: CLIENT_DEPRECATE_EOF is on. After the parameters, the column definitions
      // follow (if any); otherwise this answer ended with its last definition, and the packet is
      // the next answer's.
      this.conn.deprecateEof = true;
      if (this.state === 'prepareColumnsEof' || (this.prepared?.columns ?? 0) === 0) {
        this.finish();
        return false;
      }
    }
    if (first === ERR_HEADER) {
      const err = parseErr(p);
      this.account(wire, ts);
      // MariaDB progress reports (MARIADB_CLIENT_PROGRESS) come before the real answer.
      if (err.errorCode === PROGRESS_ERRNO) {
        this.out.progressReports = ((this.out.progressReports as number | undefined) ?? 0) + 1;
        return true;
      }
      this.out.errorCode = err.errorCode;
      if (err.sqlState !== null) this.out.sqlState = err.sqlState;
      this.out.message = err.message;
      if (this.state === 'stream') this.out.events = this.rows;
      this.status = err.errorCode;
      this.finish();
      return true;
    }
    this.account(wire, ts);
    this.step(p, length, first);
    return true;
  }

  private account(wire: number, ts: number): void {
    this.size += wire;
    if (this.firstTs === null) this.firstTs = ts;
  }

  private step(p: Uint8Array, length: number, first: number): void {
    const conn = this.conn;
    switch (this.state) {
      case 'first':
        this.firstPacket(p, length, first);
        return;
      case 'columns':
        this.columnDef(p);
        if (--this.remaining <= 0) this.state = 'columnsEof';
        if (this.state === 'columnsEof' && conn.deprecateEof === true) this.state = 'rows';
        return;
      case 'columnsEof':
        if (isClassicEof(p, length)) {
          if (conn.deprecateEof === null) conn.deprecateEof = false;
          const eof = parseEof(p);
          // A cursor was opened (COM_STMT_EXECUTE with a cursor type): rows come by COM_STMT_FETCH.
          if (eof.status & SERVER_STATUS.CURSOR_EXISTS) {
            this.out.cursor = true;
            this.finish();
          } else {
            this.state = 'rows';
          }
          return;
        }
        if (conn.deprecateEof === null) conn.deprecateEof = true;
        this.state = 'rows';
        this.row(p, length, first);
        return;
      case 'rows':
        this.row(p, length, first);
        return;
      case 'prepareParams':
        if (--this.remaining <= 0) this.afterPrepareParams();
        return;
      case 'prepareParamsEof':
        if (isClassicEof(p, length)) {
          if (conn.deprecateEof === null) conn.deprecateEof = false;
          this.afterPrepareParamsEof();
          return;
        }
        // The definitions of the columns began (EOF deprecated).
        this.afterPrepareParamsEof();
        this.step(p, length, first);
        return;
      case 'prepareColumns': {
        const def = parseColumnDef(p, this.protocol41, conn.extendedMetadata);
        if (def) this.preparedColumnTypes.push(def.type | ((def.flags & 0x20) << 10));
        if (--this.remaining <= 0) {
          this.state = 'prepareColumnsEof';
          if (conn.deprecateEof === true) this.finish();
        }
        return;
      }
      case 'prepareColumnsEof':
        if (isClassicEof(p, length) && conn.deprecateEof === null) conn.deprecateEof = false;
        this.finish();
        return;
      case 'fieldlist':
        if (first === EOF_HEADER && isEofLike(p, length, conn.deprecateEof)) {
          this.out.columns = this.columns;
          this.out.fields = this.fields;
          this.finish();
          return;
        }
        this.columnDef(p);
        this.columns++;
        return;
      case 'auth':
        this.authPacket(p, first);
        return;
      case 'stream':
        if (first === EOF_HEADER && length < 9) {
          this.out.events = this.rows;
          this.finish();
        } else {
          this.rows++;
        }
        return;
      case 'infile':
        // The server spoke before the upload ended: read it as the final answer.
        this.state = 'first';
        this.firstPacket(p, length, first);
        return;
      default:
        return;
    }
  }

  private get protocol41(): boolean {
    return this.conn.caps === null || (this.conn.caps & CLIENT.PROTOCOL_41) !== 0;
  }

  private firstPacket(p: Uint8Array, length: number, first: number): void {
    switch (this.kind) {
      case 'auth':
        this.state = 'auth';
        this.authPacket(p, first);
        return;
      case 'string':
        this.out.text = printable(p, 1024);
        this.finish();
        return;
      case 'stream':
        this.state = 'stream';
        this.step(p, length, first);
        return;
      case 'fieldlist':
        this.state = 'fieldlist';
        this.step(p, length, first);
        return;
      case 'prepare':
        this.prepareOk(p, first);
        return;
      case 'simple':
      case 'none':
      case 'rows':
        if (first === OK_HEADER) this.ok(p);
        else if (first === EOF_HEADER) this.eof(p);
        else this.problem = `unexpected response 0x${first.toString(16)}`;
        this.finish();
        return;
      case 'resultset':
        break;
    }
    if (first === OK_HEADER) {
      const ok = this.ok(p);
      if (ok.status & SERVER_STATUS.MORE_RESULTS_EXISTS) this.resultSets++;
      else this.finish();
      return;
    }
    if (first === LOCAL_INFILE_HEADER) {
      // MySQL protocol: LOCAL INFILE Request — the client uploads the file, then the server answers.
      this.out.infile = text(p.subarray(1), 512);
      this.state = 'infile';
      return;
    }
    if (first === EOF_HEADER && length < 9) {
      this.eof(p);
      this.finish();
      return;
    }
    const cc = parseColumnCount(p);
    if (!cc || cc.count === 0) {
      this.problem = 'result set without columns';
      this.finish();
      return;
    }
    this.resultSets++;
    if (this.resultSets === 1) this.columns = cc.count;
    this.types = [];
    this.remaining = cc.count;
    if (cc.metadata) {
      this.state = 'columns';
    } else {
      // Metadata left out (optional result set metadata): binary rows need the prepare's types.
      this.types = [...this.knownTypes];
      this.state = this.conn.deprecateEof === true ? 'rows' : 'columnsEof';
    }
  }

  private columnDef(p: Uint8Array): ColumnDef | null {
    const def = parseColumnDef(p, this.protocol41, this.conn.extendedMetadata);
    if (!def) {
      this.problem = 'malformed column definition';
      this.types.push(0xfd);
      return null;
    }
    this.types.push(def.type | ((def.flags & 0x20) << 10)); // UNSIGNED_FLAG as the 0x8000 of a param type
    if (this.resultSets <= 1 && this.fields.length < MAX_FIELDS) {
      const f: FieldSummary = { name: def.name, type: fieldTypeName(def.type) };
      if (def.table) f.table = def.table;
      this.fields.push(f);
    }
    return def;
  }

  private row(p: Uint8Array, length: number, first: number): void {
    if (first === EOF_HEADER && isEofLike(p, length, this.conn.deprecateEof)) {
      const status = isClassicEof(p, length) ? this.eof(p).status : this.ok(p).status;
      if (status & SERVER_STATUS.MORE_RESULTS_EXISTS && this.kind === 'resultset') this.state = 'first';
      else this.finish();
      return;
    }
    this.rows++;
    if (this.sample.length < SAMPLE_ROWS && this.resultSets <= 1) {
      if (this.binary) {
        if (this.types.length > 0) this.sample.push(binaryRow(p, this.types));
      } else {
        this.sample.push(textRow(p, this.types.length || this.columns));
      }
    }
  }

  private prepareOk(p: Uint8Array, first: number): void {
    const ok = first === OK_HEADER ? parsePrepareOk(p) : null;
    if (!ok) {
      this.problem = `COM_STMT_PREPARE: unexpected response 0x${first.toString(16)}`;
      this.finish();
      return;
    }
    this.prepared = ok;
    this.out.statementId = ok.statementId;
    this.out.params = ok.params;
    this.out.columns = ok.columns;
    this.out.warnings = ok.warnings;
    if (!ok.metadata) {
      // Optional metadata left out: no definitions, and no EOF_Packet after them.
      this.finish();
      return;
    }
    this.remaining = ok.params;
    if (ok.params > 0) this.state = 'prepareParams';
    else this.afterPrepareParamsEof();
  }

  private afterPrepareParams(): void {
    if (this.conn.deprecateEof === true || (this.prepared?.params ?? 0) === 0) this.afterPrepareParamsEof();
    else this.state = 'prepareParamsEof';
  }

  private afterPrepareParamsEof(): void {
    const cols = this.prepared?.columns ?? 0;
    if (cols === 0) {
      this.finish();
      return;
    }
    this.remaining = cols;
    this.state = 'prepareColumns';
  }

  private authPacket(p: Uint8Array, first: number): void {
    if (first === OK_HEADER) {
      this.ok(p);
      this.finish();
    } else if (first === EOF_HEADER) {
      this.out.authSwitch = parseAuthSwitch(p);
    } else if (first === AUTH_MORE_DATA) {
      if (p.length === 2 && p[1] === 3) this.out.authPath = 'fast';
      else if (p.length === 2 && p[1] === 4) this.out.authPath = 'full';
    } else {
      this.problem = `unexpected authentication packet 0x${first.toString(16)}`;
    }
  }

  private ok(p: Uint8Array) {
    const ok = parseOk(p, this.conn.caps);
    this.out.affectedRows = ((this.out.affectedRows as number | undefined) ?? 0) + ok.affectedRows;
    if (ok.lastInsertId || this.out.lastInsertId === undefined) this.out.lastInsertId = ok.lastInsertId;
    this.out.warnings = ((this.out.warnings as number | undefined) ?? 0) + ok.warnings;
    this.out.serverStatus = ok.status;
    if (ok.info) this.out.info = ok.info;
    return ok;
  }

  private eof(p: Uint8Array) {
    const eof = parseEof(p);
    this.out.warnings = ((this.out.warnings as number | undefined) ?? 0) + eof.warnings;
    this.out.serverStatus = eof.status;
    return eof;
  }

  /** Ends the answer and completes its summary; `complete` false when it was cut off. */
  finish(complete = true): void {
    if (this.state === 'done') return;
    this.complete = complete;
    if (this.kind === 'resultset' || this.kind === 'rows') {
      if (this.resultSets > 0 || this.kind === 'rows') {
        this.out.columns = this.columns;
        this.out.rows = this.rows;
        if (this.fields.length > 0) this.out.fields = this.fields;
        if (this.sample.length > 0) this.out.sample = this.sample;
        if (this.resultSets > 1) this.out.resultSets = this.resultSets;
      }
    }
    this.state = 'done';
  }
}
