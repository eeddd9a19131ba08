/**
 * One MySQL connection: the connection phase (greeting, HandshakeResponse or SSLRequest, the
 * authentication exchange), then the command phase, where each command waits in a queue for its
 * answer (commands are answered in order; a client may pipeline). The compression protocol wraps
 * both directions once the login negotiated it; an SSLRequest hands the rest of the connection to
 * the TLS dissector.
 *
 * Picked up mid-stream, the session holds the first segments until one shows which side is the
 * client (the flow tracker can only guess it from the ports): a greeting, a login or a command. It
 * then learns what the login would have told — compression from the framing, CLIENT_DEPRECATE_EOF
 * from the first result set. Server bytes that answer no command seen (the rest of a response in
 * flight when the capture began) are counted once as a parse error and skipped until the next
 * command: podwire does not emit answers whose request it did not see.
 * After a gap, a direction is picked up again at a segment that starts a message: a command from
 * the client; from the server, the first segment after the next command whose sequence id answers it.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { LAST_PREPARED, parseCommand } from './commands.js';
import {
  isHandshakeResponsePayload,
  plausibleCommandPacket,
  plausibleCompressedCommand,
  plausibleCompressedResponseStart,
  plausibleResponseStart,
  sideOf,
} from './detect.js';
import { CompressedFramer, type Message, PacketFramer } from './framer.js';
import { parseAuthSwitch, parseErr, parseGreeting, parseHandshakeResponse } from './packets.js';
import {
  AUTH_MORE_DATA,
  CLIENT,
  COM,
  EOF_HEADER,
  ERR_HEADER,
  MARIADB_CLIENT,
  OK_HEADER,
} from './protocol.js';
import { type ConnectionView, ResponseReader } from './response.js';
import { type Statement, StatementMap } from './statements.js';
import { commandEntry, type EntryFields, type Login, loginEntry, newLogin, type Pending } from './summary.js';

/** Commands waiting for their answers; a client pipelines a few at most. */
export const MAX_PENDING = 64;
/** Prepared statements remembered per connection. */
export const MAX_STATEMENTS = 256;
/** Bytes held per direction before the sides are known. */
export const MAX_EARLY = 64 * 1024;

type Phase = 'start' | 'login' | 'command' | 'off';

/** One direction's framing: plain packets, and the compression layer around them once on. */
class DirectionReader {
  readonly packets = new PacketFramer();
  readonly zip = new CompressedFramer();
  compressed = false;
  /** The compressed framing lost its place (a gap). */
  lostOuter = false;
  /** The packet framing lost its place (a gap, a skipped compressed packet, stray data). */
  lostInner = false;

  get partial(): boolean {
    return this.packets.partial || (this.compressed && this.zip.partial);
  }

  get buffered(): number {
    return this.packets.buffered + this.zip.buffered;
  }

  reset(): void {
    this.packets.reset();
    this.zip.reset();
  }
}

export class MysqlSession implements TcpSession {
  private phase: Phase = 'start';
  private readonly dirs = [new DirectionReader(), new DirectionReader()] as const;
  private readonly conn: ConnectionView = { caps: null, deprecateEof: null, extendedMetadata: false };
  private login: Login | null = null;
  private readonly queue: Pending[] = [];
  private readonly statements = new StatementMap(MAX_STATEMENTS);
  /** The statement prepared last (MariaDB's statement id -1), possibly still waiting for its id. */
  private lastPrepared: Statement | null = null;
  /** Server: a command was seen since the direction lost its place, and the sequence id answering it. */
  private answerSeq: number | null = null;
  /** Server data answering no command was reported; quiet until the next command. */
  private strayReported = false;
  private compressedConn = false;
  /** Which direction the client is: the tracker's guess, checked against the first messages. */
  private roleKnown = false;
  private swapped = false;
  /** Segments held until the first bytes of a direction show which side it is (copies, bounded). */
  private early: { dir: Direction; data: Uint8Array; ts: number }[] = [];
  private readonly earlyBytes = [0, 0];
  /** Per direction: bytes were dropped before the sides were known. */
  private readonly droppedEarly = [false, false];

  constructor(private readonly ctx: SessionContext) {}

  /** Bytes held across calls (for tests: memory stays bounded). */
  get buffered(): number {
    return this.dirs[0].buffered + this.dirs[1].buffered + this.earlyBytes[0]! + this.earlyBytes[1]!;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.phase === 'off' || data.length === 0) return;
    try {
      if (this.roleKnown) this.feed(this.logical(dir), data, ts);
      else this.holdEarly(dir, data, ts);
    } catch (err) {
      // A decoder bug must not take the pipeline down: count it and stop dissecting this connection.
      this.ctx.parseError(`mysql: internal error: ${(err as Error).message}`);
      this.phase = 'off';
    }
  }

  onGap(physical: Direction, _bytes: number, _ts: number): void {
    if (this.phase === 'off') return;
    if (!this.roleKnown) {
      // What was held of this direction no longer runs on into what comes next.
      this.early = this.early.filter((h) => h.dir !== physical);
      this.earlyBytes[physical] = 0;
      this.droppedEarly[physical] = true;
      return;
    }
    const dir = this.logical(physical);
    const d = this.dirs[dir];
    if (d.partial) this.ctx.parseError('mysql: message cut by a gap in the stream');
    d.reset();
    d.lostInner = true;
    if (d.compressed) d.lostOuter = true;
    if (dir === 1) {
      // Where the answers in flight end is lost with the bytes: they end here, and the server is
      // picked up again at the answer of the next command.
      this.answerSeq = null;
      for (const p of this.queue) {
        if (!p.reader || p.reader.done) continue;
        p.errors.push(p.reader.firstTs === null ? 'response lost in a gap' : 'response cut by a gap');
        p.reader.finish(false);
      }
      this.flush();
    }
    if (this.phase === 'login' && this.login) {
      // The login's outcome may be lost: report it as far as it was seen, then follow commands.
      this.login.errors.push('login cut by a gap');
      this.emitLogin();
      this.phase = 'command';
    }
  }

  onEnd(physical: Direction, _ts: number): void {
    if (this.phase === 'off') return;
    const d = this.dirs[this.logical(physical)];
    if (d.partial && !d.lostInner && !d.lostOuter)
      this.ctx.parseError('mysql: stream ended inside a message');
    d.reset();
  }

  onClose(ts: number): void {
    if (!this.roleKnown && this.early.length > 0) this.ctx.parseError('mysql: no message recognised');
    this.early = [];
    for (const dir of [0, 1] as const) this.onEnd(dir, ts);
    if (this.login && this.phase !== 'off') {
      this.login.errors.push('connection closed during login');
      this.emitLogin();
    }
    for (const p of this.queue.splice(0)) {
      if (p.reader && !p.reader.done) p.reader.finish(false);
      this.emit(p);
    }
    this.phase = 'off';
  }

  // ---------------------------------------------------------------- sides

  private logical(dir: Direction): Direction {
    return this.swapped ? ((1 - dir) as Direction) : dir;
  }

  /**
   * Until a greeting, a login or a command shows which side is the client, segments are held; bytes
   * that start no message (the rest of a response in flight when the capture began) are dropped and
   * reported once. Then what was held is read in arrival order.
   */
  private holdEarly(dir: Direction, data: Uint8Array, ts: number): void {
    this.early.push({ dir, data: data.slice(), ts });
    this.earlyBytes[dir]! += data.length;
    const mine = this.early.filter((h) => h.dir === dir);
    const side = sideOf(mine.length === 1 ? mine[0]!.data : Buffer.concat(mine.map((h) => h.data)));
    if (side === 'more' && this.earlyBytes[dir]! < MAX_EARLY) return;
    if (side === 'more' || side === 'no') {
      if (!this.droppedEarly[0] && !this.droppedEarly[1])
        this.ctx.parseError('mysql: response without a request');
      this.droppedEarly[dir] = true;
      this.early = this.early.filter((h) => h.dir !== dir);
      this.earlyBytes[dir] = 0;
      return;
    }
    this.roleKnown = true;
    this.swapped = (side === 'server') === (dir === 0);
    if (side === 'compressed-client') this.setCompressed();
    // What the server side dropped was (part of) a response: it is picked up at the next answer.
    if (this.droppedEarly[this.swapped ? 0 : 1]) this.dirs[1].lostInner = true;
    const held = this.early;
    this.early = [];
    this.earlyBytes[0] = 0;
    this.earlyBytes[1] = 0;
    for (const h of held) if (this.phase !== 'off') this.feed(this.logical(h.dir), h.data, h.ts);
  }

  // ---------------------------------------------------------------- framing

  private feed(dir: Direction, data: Uint8Array, ts: number): void {
    const d = this.dirs[dir];
    if (d.compressed) {
      if (d.lostOuter) {
        if (!this.resyncCompressed(dir, data)) return;
        d.lostOuter = false;
        d.reset();
      }
      d.zip.push(data, ts, {
        onPayload: (bytes, t) => this.feedPackets(dir, bytes, t),
        onLost: (detail) => {
          this.ctx.parseError(`mysql: ${detail}`);
          d.packets.reset();
          d.lostInner = true;
        },
      });
      return;
    }
    this.feedPackets(dir, data, ts);
  }

  /** Plain packets: a chunk of the stream, or the payload of a compressed packet. */
  private feedPackets(dir: Direction, data: Uint8Array, ts: number): void {
    const d = this.dirs[dir];
    if (d.lostInner) {
      if (!this.resyncPlain(dir, data)) return;
      d.lostInner = false;
      d.packets.reset();
    }
    const wasCompressed = d.compressed;
    let stop: 'tls' | 'lost' | 'compressed' | null = null;
    const pos = d.packets.push(data, ts, (m) => {
      if (this.onMessage(dir, m) === false) stop = 'tls';
      else if (d.lostInner || this.phase === 'off') stop = 'lost';
      else if (d.compressed !== wasCompressed) stop = 'compressed';
      return stop === null;
    });
    switch (stop as 'tls' | 'lost' | 'compressed' | null) {
      case 'tls':
        this.handOverToTls(dir, data.subarray(pos), ts);
        return;
      case 'lost':
        d.packets.reset();
        return;
      case 'compressed':
        // The login ended with compression on: what follows its OK is compressed.
        if (pos < data.length) this.feed(dir, data.subarray(pos), ts);
        return;
      default:
        return;
    }
  }

  private resyncPlain(dir: Direction, data: Uint8Array): boolean {
    if (dir === 0) return plausibleCommandPacket(data) === 'yes';
    return this.answerSeq !== null && plausibleResponseStart(data, this.answerSeq);
  }

  private resyncCompressed(dir: Direction, data: Uint8Array): boolean {
    if (dir === 0) return plausibleCompressedCommand(data) === 'yes';
    return this.answerSeq !== null && plausibleCompressedResponseStart(data, this.answerSeq);
  }

  private setCompressed(): void {
    this.compressedConn = true;
    this.dirs[0].compressed = true;
    this.dirs[1].compressed = true;
  }

  private handOverToTls(dir: Direction, rest: Uint8Array, ts: number): void {
    this.phase = 'off';
    const tls = this.ctx.switchTo('tls');
    // The TLS session gets the router's directions: the swap is its own inverse.
    if (tls && rest.length > 0) tls.onData(this.logical(dir), rest, ts);
  }

  // ---------------------------------------------------------------- messages

  /** Returns false when the bytes after this message are not MySQL's (an SSLRequest). */
  private onMessage(dir: Direction, m: Message): boolean {
    const p = m.payload;
    switch (this.phase) {
      case 'start':
        if (dir === 1) {
          if (m.seq === 0 && (p[0] === 10 || p[0] === 9) && parseGreeting(p)) {
            this.phase = 'login';
            this.login = newLogin();
            return this.loginServer(m);
          }
          if (m.seq === 0 && p[0] === ERR_HEADER) {
            // Refused before the greeting (too many connections, host not allowed).
            this.phase = 'login';
            this.login = newLogin();
            return this.loginServer(m);
          }
          this.stray(m);
          return true;
        }
        if (m.seq === 1 && isHandshakeResponsePayload(p, m.length)) {
          // The greeting was not captured; the login is.
          this.phase = 'login';
          this.login = newLogin();
          return this.loginClient(m);
        }
        this.phase = 'command';
        return this.commandPhase(dir, m);
      case 'login':
        return dir === 0 ? this.loginClient(m) : this.loginServer(m);
      case 'command':
        return this.commandPhase(dir, m);
      default:
        return true;
    }
  }

  // ---------------------------------------------------------------- connection phase

  private loginServer(m: Message): boolean {
    const l = this.login!;
    const p = m.payload;
    l.responseSize += m.wire;
    if (l.greetingTs === null && l.response === null) l.greetingTs = m.ts;
    if (l.greeting === null && l.response === null && p[0] !== ERR_HEADER) {
      l.greeting = parseGreeting(p);
      if (!l.greeting) this.ctx.parseError('mysql: malformed initial handshake');
      return true;
    }
    if (l.answerTs === null && l.response !== null) l.answerTs = m.ts;
    switch (p[0]) {
      case OK_HEADER:
        l.result = { ok: true };
        this.endLogin(true);
        return true;
      case ERR_HEADER: {
        const err = parseErr(p);
        l.result = { ok: false, ...err };
        this.endLogin(false);
        return true;
      }
      case EOF_HEADER:
        l.authSwitch = parseAuthSwitch(p);
        return true;
      case AUTH_MORE_DATA:
        // caching_sha2_password: 0x03 fast authentication succeeded, 0x04 full authentication needed.
        if (m.length === 2 && p[1] === 3) l.authPath = 'fast';
        else if (m.length === 2 && p[1] === 4) l.authPath = 'full';
        return true;
      default:
        return true; // auth plugin data
    }
  }

  private loginClient(m: Message): boolean {
    const l = this.login!;
    l.requestSize += m.wire;
    if (l.response !== null) return true; // auth data: counted, never kept
    const serverCaps = l.greeting?.capabilities ?? null;
    const hr = parseHandshakeResponse(m.payload, m.length, serverCaps);
    l.response = hr;
    l.responseTs = m.ts;
    if (hr.short) this.ctx.parseError('mysql: HandshakeResponse cut short');
    this.conn.caps = serverCaps === null ? hr.capabilities : (hr.capabilities & serverCaps) >>> 0;
    this.conn.deprecateEof = (this.conn.caps & CLIENT.DEPRECATE_EOF) !== 0;
    const ext = (l.greeting?.mariadbCapabilities ?? hr.mariadbCapabilities) & hr.mariadbCapabilities;
    this.conn.extendedMetadata = (ext & MARIADB_CLIENT.EXTENDED_METADATA) !== 0;
    if (hr.sslRequest) {
      // MySQL protocol: SSL Handshake — TLS starts right after the SSLRequest.
      this.emitLogin();
      return false;
    }
    return true;
  }

  private endLogin(ok: boolean): void {
    const caps = this.conn.caps ?? 0;
    const compress = ok && (caps & CLIENT.COMPRESS) !== 0;
    const zstd = ok && !compress && (caps & CLIENT.ZSTD_COMPRESSION_ALGORITHM) !== 0;
    this.emitLogin(compress);
    this.phase = 'command';
    // MySQL protocol: Compression — it starts with the packets after the login's OK.
    if (compress) this.setCompressed();
    if (zstd) {
      this.ctx.parseError('mysql: zstd compression is not supported; the rest of the connection is skipped');
      this.phase = 'off';
    }
  }

  /** Emits the LOGIN entry, and puts what it learnt on the connection record. */
  private emitLogin(compressed = false): void {
    const l = this.login;
    if (!l) return;
    this.login = null;
    const g = l.greeting;
    const hr = l.response;
    this.ctx.annotate('mysql', {
      serverVersion: g?.serverVersion ?? null,
      flavor: g?.flavor ?? null,
      user: hr?.user ?? null,
      schema: hr?.schema ?? null,
      tls: hr?.sslRequest ?? false,
      compressed,
    });
    this.ctx.emit(this.sided(loginEntry(l, this.conn.caps, compressed)));
  }

  // ---------------------------------------------------------------- command phase

  private commandPhase(dir: Direction, m: Message): boolean {
    if (dir === 0) {
      if (m.seq === 0) this.onCommand(m);
      else this.onClientContinuation(m);
      this.flush();
    } else if (this.onServerPacket(m)) {
      this.flush();
    }
    return true;
  }

  private onCommand(m: Message): void {
    this.strayReported = false;
    const server = this.dirs[1];
    // The server lost its place: this command's answer is where it is picked up again.
    if (server.lostInner || server.lostOuter) this.answerSeq = (m.lastSeq + 1) & 0xff;
    if (this.conn.deprecateEof === null) {
      for (const p of this.queue) {
        // An answer that may have ended (an EOF that an unknown CLIENT_DEPRECATE_EOF left out):
        // the client would not send its next command before the answer was whole.
        if (p.reader?.canEnd) {
          this.conn.deprecateEof = true;
          p.reader.finish();
          this.answered(p);
        }
      }
    }
    const cmd = parseCommand(m.payload, m.length, this.conn.caps, this.statements, this.lastPrepared);
    if (cmd.problem) this.ctx.parseError(`mysql: ${cmd.problem}`);
    if (cmd.name.startsWith('COM_0x')) this.ctx.parseError(`mysql: unknown command ${cmd.name}`);
    const stmt = cmd.statement;
    if (cmd.code === COM.STMT_PREPARE && cmd.prepareText) {
      this.lastPrepared = {
        id: LAST_PREPARED,
        text: cmd.prepareText.text,
        textLength: cmd.prepareText.length,
        params: 0,
        columns: 0,
        paramTypes: null,
        columnTypes: [],
      };
    }
    if (stmt && cmd.boundTypes) stmt.paramTypes = cmd.boundTypes;
    if (cmd.code === COM.STMT_CLOSE && typeof cmd.request.statementId === 'number')
      this.statements.delete(cmd.request.statementId);
    const binary =
      cmd.code === COM.STMT_EXECUTE || cmd.code === COM.STMT_FETCH || cmd.code === COM.STMT_BULK_EXECUTE;
    const reader =
      cmd.kind === 'none' ? null : new ResponseReader(cmd.kind, this.conn, binary, stmt?.columnTypes ?? []);
    this.queue.push({ cmd, ts: m.ts, size: m.wire, lastSeq: m.lastSeq, reader, errors: [] });
    if (this.queue.length > MAX_PENDING) {
      const oldest = this.queue.shift()!;
      oldest.reader?.finish(false);
      oldest.errors.push('no response (too many commands pending)');
      this.emit(oldest);
    }
  }

  /** Client packets inside a command: a LOCAL INFILE upload, or COM_CHANGE_USER's auth data. */
  private onClientContinuation(m: Message): void {
    const p = this.current();
    if (p?.reader?.awaitingUpload) {
      p.size += m.wire;
      p.cmd.request.uploadBytes = ((p.cmd.request.uploadBytes as number | undefined) ?? 0) + m.length;
      if (m.length === 0) p.reader.uploadDone(); // an empty packet ends the file
      return;
    }
    if (p?.cmd.kind === 'auth') {
      p.size += m.wire;
      return;
    }
    this.ctx.parseError(`mysql: client packet with sequence id ${m.seq} outside a command`);
  }

  /** Returns whether an answer ended. */
  private onServerPacket(m: Message): boolean {
    let p = this.current();
    let ended = false;
    while (p) {
      const r = p.reader!;
      if (r.feed(m.payload, m.length, m.wire, m.ts)) {
        if (!r.done) return ended;
        this.answered(p);
        return true;
      }
      // Not this answer's (it ended without an EOF it may omit): the next command's.
      this.answered(p);
      ended = true;
      p = this.current();
    }
    this.stray(m);
    return ended;
  }

  /** The oldest command still waiting for (the rest of) its answer. */
  private current(): Pending | null {
    for (const p of this.queue) if (p.reader && !p.reader.done) return p;
    return null;
  }

  private stray(m: Message): void {
    if (!this.strayReported) {
      this.strayReported = true;
      const first = m.payload[0];
      if (first === ERR_HEADER) {
        const err = parseErr(m.payload);
        this.ctx.parseError(
          `mysql: server error ${err.errorCode} without a request: ${err.message.slice(0, 80)}`,
        );
      } else {
        this.ctx.parseError('mysql: response without a request');
      }
    }
    // Where this response ends is unknown: skip server bytes until the next command's answer.
    const server = this.dirs[1];
    server.packets.reset();
    server.lostInner = true;
    this.answerSeq = null;
  }

  /** Bookkeeping once an answer is complete: prepared statements, session resets. */
  private answered(p: Pending): void {
    const r = p.reader;
    if (!r?.complete) return;
    if (p.cmd.code === COM.STMT_PREPARE && r.prepared && p.cmd.prepareText) {
      // The statement MariaDB's id -1 stands for may already be named by a pipelined execute.
      const s = this.lastPrepared?.text === p.cmd.prepareText.text ? this.lastPrepared : null;
      const stmt: Statement = s ?? {
        id: 0,
        text: p.cmd.prepareText.text,
        textLength: p.cmd.prepareText.length,
        params: 0,
        columns: 0,
        paramTypes: null,
        columnTypes: [],
      };
      stmt.id = r.prepared.statementId;
      stmt.params = r.prepared.params;
      stmt.columns = r.prepared.columns;
      stmt.columnTypes = r.preparedColumnTypes;
      this.statements.add(stmt);
    }
    if ((p.cmd.code === COM.CHANGE_USER || p.cmd.code === COM.RESET_CONNECTION) && r.status === 'OK') {
      // Both end the session's prepared statements.
      this.statements.clear();
    }
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.reader && !head.reader.done) return;
      this.queue.shift();
      this.emit(head);
    }
  }

  private emit(p: Pending): void {
    if (p.reader?.problem) this.ctx.parseError(`mysql: ${p.cmd.name}: ${p.reader.problem}`);
    this.ctx.emit(this.sided(commandEntry(p, this.compressedConn)));
  }

  /** Entries read client -> server, whichever side the tracker took for the opener. */
  private sided(e: EntryFields): EntryFields {
    return this.swapped ? { ...e, src: this.ctx.server, dst: this.ctx.client } : e;
  }
}
