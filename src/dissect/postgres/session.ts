/**
 * One PostgreSQL connection (protocol 3.x, PostgreSQL docs chapter 55): a framer per direction, the
 * startup phase, and the pairing of the server's answers with the client's messages.
 *
 * Pairing (§55.2.2 Simple Query, §55.2.3 Extended Query): the server answers the client's messages
 * in order, so every frontend message that gets an answer becomes an `Op` in one queue, and each
 * backend message is taken by the oldest op that can accept it. Ops belong to exchanges (what an
 * entry reports): a Query is one; Parse/Bind/Describe/Execute up to and including an Execute are one
 * execution; a batch's Parse without Execute is a prepare. After an ErrorResponse in the extended
 * protocol the server discards every message up to the next Sync (§55.2.3 "error recovery"): those
 * ops get no answer, and the session skips them the same way.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { BoundedMap } from './bounded-map.js';
import * as decode from './decode.js';
import {
  addNotice,
  addResult,
  answered,
  buildEntry,
  type CopyState,
  type Exchange,
  type ExchangeKind,
  newExchange,
  note,
} from './exchange.js';
import { type Frame, Framer, LONG_PREFIX, MAX_KEEP, UNTYPED } from './framer.js';
import {
  AUTH_NAMES,
  B,
  CANCEL_REQUEST_CODE,
  F,
  GSSENC_REQUEST_CODE,
  messageName,
  PROTOCOL_MAJOR,
  SSL_REQUEST_CODE,
  TRANSACTION_STATUS,
} from './messages.js';
import { Reader } from './reader.js';
import { parseTag } from './sql.js';

/** Messages waiting for the server's answer; past this the oldest is reported unanswered. */
export const MAX_PENDING = 4096;
/** How far down the queue an answer may look for its message (after a gap or a desync). */
const LOOKAHEAD = 64;
/** Prepared statements and portals remembered per connection. */
export const STATEMENT_CAP = 256;
const PORTAL_CAP = 256;
/** Parameter values kept from the startup and ParameterStatus messages. */
const PARAMETER_CAP = 64;
const NOT_EXECUTED = 'not executed: an earlier message failed and the server skipped to Sync';
/** A placeholder for client messages lost in a gap: it takes every answer up to a ReadyForQuery. */
const LOST = -2;

interface Op {
  /** The frontend message type, or LOST. */
  type: number;
  ex: Exchange | null;
  /** Sync: the batch's exchanges, finished at its ReadyForQuery. */
  batch?: Exchange[];
}

/** The backend messages that may answer each frontend message (§55.2.2, §55.2.3). */
const ACCEPTS: Record<number, readonly number[]> = {
  [F.Parse]: [B.ParseComplete, B.ErrorResponse],
  [F.Bind]: [B.BindComplete, B.ErrorResponse],
  [F.Describe]: [B.ParameterDescription, B.RowDescription, B.NoData, B.ErrorResponse],
  [F.Execute]: [
    B.DataRow,
    B.CommandComplete,
    B.EmptyQueryResponse,
    B.PortalSuspended,
    B.ErrorResponse,
    B.CopyInResponse,
    B.CopyOutResponse,
    B.CopyBothResponse,
  ],
  [F.Close]: [B.CloseComplete, B.ErrorResponse],
  // A Sync may fail: committing the implicit transaction can raise a deferred constraint's error.
  [F.Sync]: [B.ReadyForQuery, B.ErrorResponse],
  [F.Query]: [
    B.RowDescription,
    B.DataRow,
    B.CommandComplete,
    B.EmptyQueryResponse,
    B.ErrorResponse,
    B.CopyInResponse,
    B.CopyOutResponse,
    B.CopyBothResponse,
    B.ReadyForQuery,
  ],
  [F.FunctionCall]: [B.FunctionCallResponse, B.ErrorResponse, B.ReadyForQuery],
};

function accepts(op: Op, type: number): boolean {
  return op.type === LOST || (ACCEPTS[op.type]?.includes(type) ?? false);
}

/** What AuthenticationXxx asks for, as pg_hba.conf names the method. */
const AUTH_METHOD: Record<number, string> = {
  2: 'kerberos',
  3: 'password',
  5: 'md5',
  7: 'gss',
  9: 'sspi',
  10: 'sasl',
};

/** The connection summary attached to the connection record. */
interface ConnectionInfo {
  user?: string;
  database?: string;
  application?: string;
  serverVersion?: string;
  authMethod?: string;
  backendPid?: number;
  encryption?: string;
  /** Messages seen, by name, per direction. */
  messages: { client: Record<string, number>; server: Record<string, number> };
  /** Server messages no client message was waiting for (e.g. a capture started mid-query). */
  unmatched: number;
  notices: number;
  notifications: number;
  /** ErrorResponses outside any exchange (e.g. FATAL at shutdown), by SQLSTATE. */
  errors: string[];
}

export class PostgresSession implements TcpSession {
  private readonly framers: readonly [Framer, Framer];
  private readonly queue: Op[] = [];
  /** The extended-protocol exchange being built (no Execute yet). */
  private open: Exchange | null = null;
  /** Exchanges begun since the last Sync. */
  private batch: Exchange[] = [];
  /** The server is skipping to the next Sync after an error. */
  private discarding = false;
  private startup: Exchange | null = null;
  /** SSLRequest / GSSENCRequest waiting for its answer, or answered 'N' and waiting for the startup. */
  private negotiation: Exchange | null = null;
  private readonly negotiated: { request: string; answer: string }[] = [];
  private authCode = -1;
  private copyIn: Exchange | null = null;
  private copyOut: Exchange | null = null;
  /** The last four bytes of COPY data each way, to recognise the end-of-data line `\.`. */
  private readonly copyTail: [number, number] = [0, 0];
  private readonly statements = new BoundedMap<string, decode.Sized>(STATEMENT_CAP);
  /** Portal name to statement name. */
  private readonly portals = new BoundedMap<string, string>(PORTAL_CAP);
  private readonly info: ConnectionInfo = {
    messages: { client: {}, server: {} },
    unmatched: 0,
    notices: 0,
    notifications: 0,
    errors: [],
  };
  /** After 'S' (TLS) or 'G' (GSS encryption) the bytes are no longer PostgreSQL messages. */
  private handedOver: 'tls' | 'gss' | null = null;
  /** A bug was hit (see `internal`): bytes are no longer parsed, what is pending is still reported. */
  private broken = false;
  private closed = false;

  constructor(private readonly ctx: SessionContext) {
    const keep = (dir: Direction) => (type: number, length: number) =>
      // Row data and COPY data are counted as they stream past, never kept.
      type === F.CopyData || (dir === 1 && type === B.DataRow)
        ? 0
        : length <= MAX_KEEP
          ? length
          : LONG_PREFIX;
    this.framers = [
      new Framer(0, this.events(0), { keep: keep(0) }),
      new Framer(1, this.events(1), { keep: keep(1) }),
    ];
  }

  /** Bytes the framers hold across calls (for tests). */
  get buffered(): number {
    return this.framers[0].buffered + this.framers[1].buffered;
  }

  get pending(): number {
    return this.queue.length;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.handedOver || this.closed || this.broken) return;
    let used = data.length;
    try {
      used = this.framers[dir].push(data, ts);
    } catch (err) {
      this.internal(err);
      return;
    }
    if (this.handedOver === 'tls') {
      // §55.2.10: after 'S' the rest of the connection is TLS, starting right after that byte.
      const tls = this.ctx.switchTo('tls');
      if (tls && used < data.length) tls.onData(dir, data.subarray(used), ts);
    }
  }

  onGap(dir: Direction, bytes: number, ts: number): void {
    if (this.handedOver || this.closed || this.broken) return;
    this.guard(() => this.framers[dir].gap(bytes, ts));
  }

  onEnd(dir: Direction, ts: number): void {
    if (this.handedOver || this.closed || this.broken) return;
    this.guard(() => this.framers[dir].end(ts));
  }

  onClose(ts: number): void {
    if (this.closed) return;
    this.closed = true;
    this.guard(() => {
      if (!this.handedOver && !this.broken) for (const f of this.framers) f.end(ts);
      this.flushAll('no response');
    });
    this.ctx.annotate('postgres', this.info);
  }

  // ---- framing events

  private events(dir: Direction) {
    return {
      onFrame: (f: Frame): boolean => {
        const name =
          f.type === UNTYPED
            ? startupName(f.body)
            : f.single
              ? 'EncryptionResponse'
              : messageName(dir, f.type);
        const counts = dir === 0 ? this.info.messages.client : this.info.messages.server;
        if (name && !(dir === 0 && f.type === F.Password)) counts[name] = (counts[name] ?? 0) + 1;
        if (dir === 0) this.onClient(f);
        else this.onServer(f);
        return this.handedOver === null;
      },
      onBody: (type: number, chunk: Uint8Array): void => {
        if (type !== F.CopyData) return; // same code both ways ('d')
        const copy = (dir === 0 ? this.copyIn : this.copyOut)?.copy;
        if (!copy) return;
        countCopy(copy, chunk);
        for (let i = Math.max(0, chunk.length - 4); i < chunk.length; i++)
          this.copyTail[dir] = ((this.copyTail[dir] << 8) | chunk[i]!) >>> 0;
      },
      onLost: (why: string, ts: number): void => this.lost(dir, why, ts),
    };
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internal(err);
    }
  }

  /** A bug, not bad input: report it as a parse error and stop dissecting this connection. */
  private internal(err: unknown): void {
    this.ctx.parseError(`postgres: internal error: ${err instanceof Error ? err.message : String(err)}`);
    this.broken = true;
  }

  private malformed(dir: Direction, f: Frame): void {
    const name = messageName(dir, f.type) ?? `0x${f.type.toString(16)}`;
    this.ctx.parseError(`postgres ${dir === 0 ? 'client' : 'server'}: malformed ${name} (§55.7)`);
  }

  private lost(dir: Direction, why: string, ts: number): void {
    this.ctx.parseError(`postgres ${dir === 0 ? 'client' : 'server'}: ${why}`);
    if (dir === 0) {
      this.open = null;
      this.copyIn = null;
      this.discarding = false;
      const tail = this.queue[this.queue.length - 1];
      if (tail?.type !== LOST) {
        const ex = newExchange('lost', ts);
        note(ex, `request lost: ${why}`);
        this.enqueue({ type: LOST, ex });
      }
    } else {
      this.copyOut = null;
      // Clients send a simple Query only once the previous one's ReadyForQuery came (libpq, psql,
      // and the drivers that do not pipeline; §55.2.2 allows no overlap to be assumed otherwise):
      // a Query with a later Query queued behind it was answered in the bytes just lost.
      let last = -1;
      for (let i = 0; i < this.queue.length; i++) if (this.queue[i]!.type === F.Query) last = i;
      const kept: Op[] = [];
      for (const [i, op] of this.queue.entries()) {
        if (op.type === F.Query && i < last && op.ex) {
          note(op.ex, 'response lost in a gap');
          this.endCopy(op.ex);
          this.finish(op.ex);
        } else kept.push(op);
      }
      this.queue.splice(0, this.queue.length, ...kept);
      const head = this.queue[0]?.ex;
      // The head's answer may have begun in the lost bytes: its counts may be short.
      if (head) note(head, 'gap in the response stream');
    }
  }

  // ---- client messages

  private onClient(f: Frame): void {
    if (f.type === UNTYPED) {
      this.onStartupPacket(f);
      return;
    }
    if (this.copyIn && (f.type === F.CopyData || f.type === F.CopyDone || f.type === F.CopyFail)) {
      this.onClientCopy(this.copyIn, f);
      return;
    }
    switch (f.type) {
      case F.Query: {
        const q = decode.query(f.body, f.length, f.truncated);
        if (!q) {
          this.malformed(0, f);
          return;
        }
        const ex = this.begin('query', f, 'Query');
        ex.query = q;
        this.open = null;
        this.enqueue({ type: F.Query, ex });
        return;
      }
      case F.Parse: {
        const p = decode.parse(f.body, f.length, f.truncated);
        if (!p) {
          this.malformed(0, f);
          return;
        }
        // A second Parse before an Execute is another statement: the first one was only prepared.
        const ex = this.extended(f, 'Parse', (open) => open.parsed || open.portal !== null);
        ex.kind = ex.kind === 'execute' ? 'execute' : 'prepare';
        ex.statement = p.statement;
        ex.query = p.query;
        ex.parsed = true;
        ex.paramTypes = p.paramTypes;
        // The statement is named as soon as it is sent: a Bind may follow in the same packet.
        this.statements.set(p.statement, p.query);
        this.enqueue({ type: F.Parse, ex });
        return;
      }
      case F.Bind: {
        const b = decode.bind(f.body, f.truncated);
        if (!b) {
          this.malformed(0, f);
          return;
        }
        const ex = this.extended(f, 'Bind', (open) => open.portal !== null);
        // The text comes from this exchange's Parse when it names the same statement, else from
        // the statement prepared earlier on the connection.
        if (!ex.parsed || ex.statement !== b.statement) ex.query = this.statements.get(b.statement) ?? null;
        ex.portal = b.portal;
        ex.statement = b.statement;
        ex.params = b.params;
        ex.paramCount = b.paramCount;
        this.portals.set(b.portal, b.statement);
        this.enqueue({ type: F.Bind, ex });
        return;
      }
      case F.Describe: {
        const t = decode.target(f.body);
        if (!t) {
          this.malformed(0, f);
          return;
        }
        const ex = this.extended(f, 'Describe');
        if (ex.query === null) {
          const statement = t.kind === 'statement' ? t.name : this.portals.get(t.name);
          if (statement !== undefined) {
            ex.statement = statement;
            ex.query = this.statements.get(statement) ?? null;
          }
        }
        this.enqueue({ type: F.Describe, ex });
        return;
      }
      case F.Execute: {
        const e = decode.execute(f.body);
        if (!e) {
          this.malformed(0, f);
          return;
        }
        const ex = this.extended(f, 'Execute');
        ex.kind = 'execute';
        ex.portal = e.portal;
        ex.maxRows = e.maxRows;
        const statement = this.portals.get(e.portal);
        if (ex.query === null && statement !== undefined) {
          ex.statement = statement;
          ex.query = this.statements.get(statement) ?? null;
        }
        this.open = null;
        this.enqueue({ type: F.Execute, ex });
        return;
      }
      case F.Close: {
        const t = decode.target(f.body);
        if (!t) {
          this.malformed(0, f);
          return;
        }
        if (t.kind === 'statement') this.statements.delete(t.name);
        else this.portals.delete(t.name);
        this.enqueue({ type: F.Close, ex: null });
        return;
      }
      case F.Sync: {
        this.open = null;
        const batch = this.batch;
        this.batch = [];
        const last = batch[batch.length - 1];
        if (last && !last.done) {
          last.messages.push('Sync');
          last.reqSize += f.wire;
        }
        this.enqueue({ type: F.Sync, ex: null, batch });
        return;
      }
      case F.FunctionCall: {
        const c = decode.functionCall(f.body);
        if (!c) {
          this.malformed(0, f);
          return;
        }
        const ex = this.begin('functionCall', f, 'FunctionCall');
        ex.extra.oid = c.oid;
        ex.extra.argCount = c.argCount;
        this.open = null;
        this.enqueue({ type: F.FunctionCall, ex });
        return;
      }
      case F.Password:
        this.onPassword(f);
        return;
      case F.Flush:
      case F.Terminate:
        return;
      default:
        // CopyData / CopyDone / CopyFail outside a COPY (a capture that began inside one): counted.
        return;
    }
  }

  /** A new exchange from this frame. */
  private begin(kind: ExchangeKind, f: Frame, message: string): Exchange {
    const ex = newExchange(kind, f.ts);
    ex.messages.push(message);
    ex.reqSize = f.wire;
    if (f.damaged) note(ex, `${f.damaged} bytes of ${message} lost in a gap`);
    return ex;
  }

  /**
   * The extended-protocol exchange this Parse/Bind/Describe/Execute belongs to: the open one, unless
   * `startsNew` says this message begins another.
   */
  private extended(f: Frame, message: string, startsNew?: (open: Exchange) => boolean): Exchange {
    let ex = this.open;
    if (ex?.done && ex.error && this.discarding) {
      // The rest of a failed execution (a Bind/Execute sent after the server's error came): the
      // server discards it (§55.2.3), and the failed exchange already told the story.
      return ex;
    }
    if (!ex || ex.done || startsNew?.(ex)) {
      ex = this.begin('prepare', f, message);
      this.open = ex;
      this.batch.push(ex);
      // A batch spans many Executes when pipelined; keep the list bounded like the queue.
      if (this.batch.length > MAX_PENDING) this.batch.shift();
      return ex;
    }
    ex.messages.push(message);
    ex.reqSize += f.wire;
    if (f.damaged) note(ex, `${f.damaged} bytes of ${message} lost in a gap`);
    return ex;
  }

  private enqueue(op: Op): void {
    if (this.discarding && op.type !== F.Sync && op.type !== LOST) {
      this.skip(op);
      return;
    }
    if (op.type === F.Sync) this.discarding = false;
    if (this.queue.length >= MAX_PENDING) {
      const old = this.queue.shift()!;
      this.unanswered(old, 'no response (too many messages waiting)');
    }
    this.queue.push(op);
  }

  /** §55.7 StartupMessage, SSLRequest, GSSENCRequest, CancelRequest. */
  private onStartupPacket(f: Frame): void {
    const r = new Reader(f.body);
    const code = r.u32();
    if (!r.ok) {
      this.malformed(0, f);
      return;
    }
    if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) {
      const ex = newExchange(code === SSL_REQUEST_CODE ? 'sslRequest' : 'gssencRequest', f.ts);
      ex.reqSize = f.wire;
      this.negotiation = ex;
      this.framers[1].singleByteNext = true;
      return;
    }
    if (code === CANCEL_REQUEST_CODE) {
      // The secret key is the cancel password: only the process id is kept. No answer follows.
      const ex = newExchange('cancel', f.ts);
      ex.reqSize = f.wire;
      ex.extra.pid = r.i32();
      this.finish(ex);
      return;
    }
    if (code >>> 16 !== PROTOCOL_MAJOR) {
      this.ctx.parseError(`postgres client: unsupported protocol ${code >>> 16}.${code & 0xffff} (§55.1)`);
      return;
    }
    const s = decode.startupParams(f.body.subarray(4), code);
    if (!s) {
      this.malformed(0, f);
      return;
    }
    this.framers[0].untypedAllowed = false;
    const ex = newExchange('startup', f.ts);
    ex.reqSize = f.wire;
    ex.messages.push('StartupMessage');
    ex.extra.protocolVersion = s.version;
    const { user, database, application_name, options, ...rest } = s.params;
    if (user !== undefined) ex.extra.user = user;
    // §55.7 StartupMessage: the database defaults to the user name.
    ex.extra.database = database ?? user ?? '';
    if (application_name !== undefined) ex.extra.application = application_name;
    if (options !== undefined) ex.extra.options = options;
    if (Object.keys(rest).length) ex.extra.parameters = rest;
    if (this.negotiated.length) ex.extra.encryptionRequests = [...this.negotiated];
    this.negotiation = null;
    this.startup = ex;
    this.info.user = user;
    this.info.database = String(ex.extra.database);
    this.info.application = application_name;
  }

  /** 'p': PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse; content never kept. */
  private onPassword(f: Frame): void {
    const name =
      this.authCode === 10
        ? 'SASLInitialResponse'
        : this.authCode === 11
          ? 'SASLResponse'
          : this.authCode === 7 || this.authCode === 8 || this.authCode === 9
            ? 'GSSResponse'
            : 'PasswordMessage';
    const counts = this.info.messages.client;
    counts[name] = (counts[name] ?? 0) + 1;
    const ex = this.startup;
    if (!ex || ex.done) return;
    ex.messages.push(name);
    ex.reqSize += f.wire;
    if (name === 'SASLInitialResponse') {
      const m = decode.saslMechanism(f.body);
      if (m !== null) ex.responseExtra.saslMechanism = m;
    }
  }

  private onClientCopy(ex: Exchange, f: Frame): void {
    const copy = ex.copy!;
    ex.reqSize += f.wire;
    if (f.type === F.CopyData) copy.messages++;
    else if (f.type === F.CopyDone) {
      copy.done = true;
      this.copyIn = null;
      this.endOfData(copy, 0);
    } else {
      copy.failed = decode.copyFail(f.body) ?? '';
      this.copyIn = null;
    }
  }

  // ---- server messages

  private onServer(f: Frame): void {
    if (f.single) {
      this.onEncryptionAnswer(f);
      return;
    }
    const startup = this.startup && !this.startup.done ? this.startup : null;
    if (startup) {
      this.onStartupAnswer(startup, f);
      return;
    }
    if (this.negotiation && f.type === B.ErrorResponse) {
      // A server that does not know SSLRequest / GSSENCRequest answers with an error (§55.2.10).
      const ex = this.negotiation;
      answered(ex, f);
      ex.error = decode.errorFields(f.body) ?? { message: 'malformed ErrorResponse' };
      this.negotiation = null;
      this.finish(ex);
      return;
    }
    switch (f.type) {
      case B.NotificationResponse: {
        this.onNotification(f);
        return;
      }
      case B.NoticeResponse: {
        const n = decode.errorFields(f.body);
        if (!n) {
          this.malformed(1, f);
          return;
        }
        const ex = this.current();
        this.info.notices++;
        if (ex) {
          answered(ex, f);
          addNotice(ex, n);
        }
        return;
      }
      case B.ParameterStatus: {
        const p = decode.parameterStatus(f.body);
        if (!p) {
          this.malformed(1, f);
          return;
        }
        if (p.name === 'server_version') this.info.serverVersion = p.value;
        if (p.name === 'application_name') this.info.application = p.value;
        const ex = this.current();
        if (ex) {
          answered(ex, f);
          ex.parameterStatus ??= {};
          if (Object.keys(ex.parameterStatus).length < PARAMETER_CAP) ex.parameterStatus[p.name] = p.value;
        }
        return;
      }
      case B.CopyData:
      case B.CopyDone: {
        const ex = this.copyOut;
        if (!ex?.copy) return;
        answered(ex, f);
        if (f.type === B.CopyData) ex.copy.messages++;
        else {
          ex.copy.done = true;
          this.copyOut = null;
          this.endOfData(ex.copy, 1);
        }
        return;
      }
      case B.Authentication:
      case B.BackendKeyData:
      case B.NegotiateProtocolVersion:
        return; // startup-phase messages outside the startup (capture began mid-way): counted only
    }
    const op = this.take(f.type);
    if (!op) {
      this.info.unmatched++;
      if (f.type === B.ErrorResponse) {
        const e = decode.errorFields(f.body);
        if (e?.code && this.info.errors.length < 16) this.info.errors.push(e.code);
      }
      return;
    }
    const ex = op.ex;
    if (ex) answered(ex, f);
    switch (f.type) {
      case B.ParseComplete:
      case B.BindComplete:
      case B.CloseComplete:
        this.queue.shift();
        return;
      case B.ParameterDescription: {
        const t = decode.parameterDescription(f.body);
        if (!t) {
          this.malformed(1, f);
          return;
        }
        if (ex) ex.parameterTypes = t;
        return;
      }
      case B.RowDescription: {
        const d = decode.rowDescription(f.body);
        if (!d) this.malformed(1, f);
        if (ex && d) {
          ex.columns = d.columns;
          ex.columnCount = d.count;
        }
        if (op.type === F.Describe) this.queue.shift();
        return;
      }
      case B.NoData:
        if (ex) ex.noData = true;
        this.queue.shift();
        return;
      case B.DataRow:
        if (ex) {
          ex.rowsReturned++;
          ex.pendingRows++;
        }
        return;
      case B.CommandComplete:
      case B.EmptyQueryResponse:
      case B.PortalSuspended: {
        if (ex) {
          if (f.type === B.CommandComplete) {
            const tag = decode.commandTag(f.body);
            if (tag === null) this.malformed(1, f);
            const t = parseTag(tag ?? '');
            addResult(ex, t.tag, t.command, t.rows);
          } else if (f.type === B.EmptyQueryResponse) addResult(ex, '', '', null);
          else ex.suspended = true;
          if (ex.copy) this.endCopy(ex);
        }
        if (op.type === F.Execute) {
          this.queue.shift();
          if (ex) this.finish(ex);
        }
        return;
      }
      case B.CopyInResponse:
      case B.CopyOutResponse:
      case B.CopyBothResponse: {
        const c = decode.copyResponse(f.body);
        if (!c) this.malformed(1, f);
        if (!ex) return;
        const direction = f.type === B.CopyInResponse ? 'in' : f.type === B.CopyOutResponse ? 'out' : 'both';
        this.copyTail[0] = 0;
        this.copyTail[1] = 0;
        ex.copy = {
          direction,
          format: c?.format ?? 'text',
          columns: c?.columns ?? 0,
          messages: 0,
          bytes: 0,
          lines: 0,
          done: false,
          failed: null,
        };
        if (direction !== 'out') this.copyIn = ex;
        if (direction !== 'in') this.copyOut = ex;
        return;
      }
      case B.FunctionCallResponse: {
        const len = decode.functionResult(f.body);
        if (len === null) this.malformed(1, f);
        if (ex) ex.responseExtra.resultLength = len;
        return;
      }
      case B.ErrorResponse:
        this.onError(op, f);
        return;
      case B.ReadyForQuery:
        this.onReady(op, f);
        return;
    }
  }

  /** The exchange a notice or parameter change belongs to: the one being answered. */
  private current(): Exchange | null {
    return this.queue[0]?.ex ?? this.copyOut ?? null;
  }

  /** The oldest op that can take a backend message of `type`; older ops' answers were lost. */
  private take(type: number): Op | null {
    const limit = Math.min(this.queue.length, LOOKAHEAD);
    for (let i = 0; i < limit; i++) {
      if (!accepts(this.queue[i]!, type)) continue;
      for (let k = 0; k < i; k++) this.unanswered(this.queue.shift()!, 'no response seen');
      return this.queue[0]!;
    }
    return null;
  }

  /** An op that will get no answer. */
  private unanswered(op: Op, why: string): void {
    if (op.type === F.Sync) {
      this.finishBatch(op.batch ?? [], why);
      return;
    }
    const ex = op.ex;
    if (!ex || ex.done) return;
    if (op.type === F.Execute || op.type === F.Query || op.type === F.FunctionCall || op.type === LOST) {
      if (op.type !== LOST || ex.respTs !== null) {
        note(ex, why);
        this.finish(ex);
      } else ex.done = true;
    } else {
      const name = messageName(0, op.type) ?? '';
      note(ex, `${why} to ${name}`);
    }
  }

  private onError(op: Op, f: Frame): void {
    const fields = decode.errorFields(f.body);
    if (!fields) this.malformed(1, f);
    const ex = op.ex;
    const error = fields ?? { message: 'malformed ErrorResponse' };
    if (ex) {
      ex.error = error;
      if (ex.copy) this.endCopy(ex);
    } else if (fields?.code && this.info.errors.length < 16) this.info.errors.push(fields.code);
    // Simple Query and FunctionCall end at their ReadyForQuery; a Sync's error precedes its own.
    if (op.type === F.Query || op.type === F.FunctionCall || op.type === F.Sync || op.type === LOST) return;
    // §55.2.3: an error in an extended-protocol message makes the server discard up to Sync.
    this.queue.shift();
    if (ex) {
      ex.kind = ex.kind === 'prepare' && !ex.parsed ? 'execute' : ex.kind;
      this.finish(ex);
    }
    while (this.queue.length > 0 && this.queue[0]!.type !== F.Sync && this.queue[0]!.type !== LOST) {
      const skipped = this.queue.shift()!;
      if (skipped.ex !== ex) this.skip(skipped);
    }
    if (this.queue.length === 0) this.discarding = true;
  }

  /**
   * A message the server ignores while it skips to Sync (§55.2.3; postgres.c ignores every message
   * but Sync then, Query included). An extended-protocol exchange reports that at the Sync's
   * ReadyForQuery; a Query or FunctionCall is not part of the batch and reports it now.
   */
  private skip(op: Op): void {
    if (!op.ex || op.ex.done) return;
    op.ex.skipped = true;
    if (op.type === F.Query || op.type === F.FunctionCall) {
      note(op.ex, NOT_EXECUTED);
      this.finish(op.ex);
    }
  }

  private onReady(op: Op, f: Frame): void {
    this.queue.shift();
    const status = TRANSACTION_STATUS[f.body[0] ?? 0] ?? null;
    const ex = op.ex;
    if (op.type === F.Sync) {
      const last = (op.batch ?? []).filter((b) => !b.done).pop();
      if (last) {
        answered(last, f);
        last.transactionStatus = status;
      }
      this.finishBatch(op.batch ?? [], null);
      return;
    }
    if (!ex) return;
    ex.transactionStatus = status;
    if (ex.copy) this.endCopy(ex);
    this.finish(ex);
  }

  /** At a Sync's ReadyForQuery: what the batch left unreported. */
  private finishBatch(batch: Exchange[], why: string | null): void {
    for (const ex of batch) {
      if (ex.done) continue;
      if (ex.skipped) {
        note(ex, NOT_EXECUTED);
        this.finish(ex);
      } else if (ex.kind === 'execute' || ex.parsed || ex.error) {
        if (why && ex.kind === 'execute') note(ex, why);
        this.finish(ex);
      } else ex.done = true; // Bind/Describe without Execute: nothing to report
    }
  }

  /**
   * A text COPY may end with the line `\.` (§55.2.6, kept for compatibility): it is in the bytes
   * but not a row.
   */
  private endOfData(copy: CopyState, dir: Direction): void {
    const t = this.copyTail[dir];
    if (copy.format === 'text' && (t & 0xffffff) === 0x5c2e0a && (t >>> 24 === 0x0a || copy.bytes === 3))
      copy.lines--;
  }

  private endCopy(ex: Exchange): void {
    if (this.copyIn === ex) this.copyIn = null;
    if (this.copyOut === ex) this.copyOut = null;
  }

  private onNotification(f: Frame): void {
    const n = decode.notification(f.body);
    if (!n) {
      this.malformed(1, f);
      return;
    }
    this.info.notifications++;
    // A message from the server to the listening client: an entry of its own, without response.
    this.ctx.emit({
      protocol: 'postgres',
      timestamp: f.ts,
      elapsedMs: null,
      requestSize: f.wire,
      responseSize: 0,
      error: null,
      method: 'NOTIFICATION',
      path: n.channel,
      status: null,
      request: {
        type: 'notification',
        pid: n.pid,
        channel: n.channel,
        payload: n.payload.text,
        payloadLength: n.payload.length,
      },
      response: null,
      src: this.ctx.server,
      dst: this.ctx.client,
    });
  }

  /** 'S' (TLS follows), 'N' (carry on in the clear), 'G' (GSSAPI encryption follows). */
  private onEncryptionAnswer(f: Frame): void {
    const ex = this.negotiation;
    // §55.2.10 (SSL), §55.2.11 (GSSAPI).
    const answer = String.fromCharCode(f.type);
    if (!ex) {
      this.info.unmatched++;
      return;
    }
    answered(ex, f);
    ex.responseExtra.answer = answer;
    this.negotiated.push({ request: ex.kind === 'sslRequest' ? 'SSL' : 'GSS', answer });
    if (answer === 'N') {
      // Kept until the StartupMessage (or the close): the refusal is part of the startup.
      this.framers[0].untypedAllowed = true;
      return;
    }
    this.negotiation = null;
    this.finish(ex);
    this.info.encryption = answer === 'S' ? 'ssl' : 'gss';
    this.flushAll('no response before the switch to encryption');
    this.ctx.annotate('postgres', this.info);
    this.handedOver = answer === 'S' ? 'tls' : 'gss';
  }

  private onStartupAnswer(ex: Exchange, f: Frame): void {
    answered(ex, f);
    ex.responseExtra.authentication ??= [];
    const steps = ex.responseExtra.authentication as string[];
    switch (f.type) {
      case B.Authentication: {
        const a = decode.authentication(f.body);
        if (!a) {
          this.malformed(1, f);
          return;
        }
        this.authCode = a.code;
        if (steps.length < 16) steps.push(AUTH_NAMES[a.code] ?? `code ${a.code}`);
        if (a.mechanisms) ex.responseExtra.saslMechanisms = a.mechanisms;
        if (ex.responseExtra.authMethod === undefined)
          ex.responseExtra.authMethod = a.code === 0 ? 'trust' : (AUTH_METHOD[a.code] ?? `code ${a.code}`);
        return;
      }
      case B.ParameterStatus: {
        const p = decode.parameterStatus(f.body);
        if (!p) {
          this.malformed(1, f);
          return;
        }
        ex.responseExtra.parameters ??= {};
        const params = ex.responseExtra.parameters as Record<string, string>;
        if (Object.keys(params).length < PARAMETER_CAP) params[p.name] = p.value;
        if (p.name === 'server_version') this.info.serverVersion = p.value;
        return;
      }
      case B.BackendKeyData: {
        const pid = decode.backendPid(f.body);
        if (pid === null) {
          this.malformed(1, f);
          return;
        }
        ex.responseExtra.backendPid = pid;
        this.info.backendPid = pid;
        return;
      }
      case B.NegotiateProtocolVersion: {
        const v = decode.negotiateProtocolVersion(f.body);
        if (!v) {
          this.malformed(1, f);
          return;
        }
        ex.responseExtra.negotiatedMinorVersion = v.minor;
        ex.responseExtra.unsupportedOptions = v.unsupported;
        return;
      }
      case B.NoticeResponse: {
        const n = decode.errorFields(f.body);
        if (!n) {
          this.malformed(1, f);
          return;
        }
        addNotice(ex, n);
        return;
      }
      case B.ErrorResponse: {
        ex.error = decode.errorFields(f.body) ?? { message: 'malformed ErrorResponse' };
        this.endStartup(ex);
        return;
      }
      case B.ReadyForQuery:
        ex.transactionStatus = TRANSACTION_STATUS[f.body[0] ?? 0] ?? null;
        this.endStartup(ex);
        return;
      default:
        // Anything else before ReadyForQuery: the startup is over (or was never seen whole).
        this.endStartup(ex);
        this.onServer(f);
    }
  }

  private endStartup(ex: Exchange): void {
    if (this.info.authMethod === undefined) {
      const m = ex.responseExtra.authMethod as string | undefined;
      const sasl = ex.responseExtra.saslMechanism as string | undefined;
      if (m) this.info.authMethod = m === 'sasl' && sasl ? sasl : m;
    }
    if (ex.responseExtra.authMethod === 'sasl' && ex.responseExtra.saslMechanism)
      ex.responseExtra.authMethod = ex.responseExtra.saslMechanism;
    this.finish(ex);
  }

  private finish(ex: Exchange): void {
    if (ex.done) return;
    ex.done = true;
    if (ex.kind === 'lost' && ex.respTs === null) return;
    this.ctx.emit(buildEntry(ex));
  }

  /** Everything still waiting becomes an entry, with `why` for what got no answer. */
  private flushAll(why: string): void {
    if (this.startup && !this.startup.done) {
      note(this.startup, this.startup.respTs === null ? why : 'startup incomplete');
      this.endStartup(this.startup);
    }
    if (this.negotiation) {
      const ex = this.negotiation;
      this.negotiation = null;
      if (ex.respTs === null) note(ex, why);
      this.finish(ex);
    }
    for (const op of this.queue.splice(0)) {
      if (op.type === F.Sync) this.finishBatch(op.batch ?? [], why);
      else if (op.ex && !op.ex.done) {
        if (
          op.ex.respTs === null ||
          op.type === F.Execute ||
          op.type === F.Query ||
          op.type === F.FunctionCall
        )
          note(op.ex, op.ex.respTs === null ? why : 'response incomplete');
        this.finish(op.ex);
      }
    }
    for (const ex of this.batch) {
      if (ex.done) continue;
      if (ex.kind === 'execute' || ex.parsed || ex.error) {
        if (ex.skipped) note(ex, NOT_EXECUTED);
        else if (ex.respTs === null) note(ex, why);
        this.finish(ex);
      }
    }
    this.batch = [];
    this.open = null;
  }
}

function startupName(body: Uint8Array): string {
  const code = body.length >= 4 ? new Reader(body).u32() : 0;
  if (code === SSL_REQUEST_CODE) return 'SSLRequest';
  if (code === GSSENC_REQUEST_CODE) return 'GSSENCRequest';
  if (code === CANCEL_REQUEST_CODE) return 'CancelRequest';
  return 'StartupMessage';
}

/** CopyData payload bytes and newlines (the rows of a text or CSV COPY). */
function countCopy(copy: CopyState, chunk: Uint8Array): void {
  copy.bytes += chunk.length;
  let i = chunk.indexOf(0x0a);
  while (i >= 0) {
    copy.lines++;
    i = chunk.indexOf(0x0a, i + 1);
  }
}
