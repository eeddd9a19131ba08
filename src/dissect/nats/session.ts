/**
 * One NATS connection (docs.nats.io "Client Protocol"). Every protocol message is an entry except
 * the answers, which complete the entry they answer:
 * - in verbose mode (CONNECT {"verbose":true}) the server acknowledges each CONNECT, PUB, HPUB, SUB
 *   and UNSUB with +OK or -ERR, in order: they pair through a FIFO;
 * - an operation the server does not know is answered -ERR 'Unknown Protocol Operation' whatever
 *   the mode; a CONNECT without verbose is answered only if it fails (-ERR 'Authorization
 *   Violation'), so it waits for the server's next message to know;
 * - PING, from either side, pairs with the other side's PONG.
 * MSG and HMSG are entries from the server to the client; INFO is one too.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { CLIENT_VERBS, type NatsMessage, NatsReader, SERVER_VERBS } from './parser.js';
import { cut, entry, MAX_SID, MAX_SUBJECT, type Op, prepare } from './summary.js';

/** Operations waiting for +OK/-ERR on one connection, and the bytes their kept fields may weigh. */
export const MAX_PENDING = 1024;
export const MAX_PENDING_BYTES = 1 << 20;
/** PINGs waiting for a PONG, per side. */
const MAX_PINGS = 64;
/** Subscriptions remembered (sid -> subject), to name UNSUB's subject. */
const MAX_SIDS = 4096;

/** Errors the server sends on its own, not in answer to an operation (nats-server's client.go). */
const ASYNC_ERRORS =
  /^'?(?:Stale Connection|Slow Consumer|Maximum Connections Exceeded|Authentication Timeout|Authentication Expired|Account Authentication Expired|User Authentication Revoked)/i;

export class NatsSession implements TcpSession {
  private readonly readers: readonly [NatsReader, NatsReader];
  /** From CONNECT: null until seen (a stream picked up late). */
  private verbose: boolean | null = null;
  private readonly acks: Op[] = [];
  /** Estimated bytes kept by `acks` and `held`. */
  private pendingBytes = 0;
  /** Acknowledgements still to come for operations already reported (pushed out of a full FIFO). */
  private owed = 0;
  /** A non-verbose CONNECT: answered by -ERR only if it failed. */
  private connect: Op | null = null;
  /** Operations sent after that CONNECT, reported after it (entries in the order they were sent). */
  private readonly held: Op[] = [];
  private readonly pings: [Op[], Op[]] = [[], []];
  private readonly sids = new Map<string, string>();

  constructor(private readonly ctx: SessionContext) {
    this.readers = [
      new NatsReader(CLIENT_VERBS, {
        onMessage: (m) => this.onClient(m),
        onError: (d) => this.onMalformed(0, d),
      }),
      new NatsReader(SERVER_VERBS, {
        onMessage: (m) => this.onServer(m),
        onError: (d) => this.onMalformed(1, d),
      }),
    ];
  }

  get footprint(): { retained: number; pending: number } {
    return {
      retained: this.readers[0].retained + this.readers[1].retained,
      pending: this.acks.length + this.pings[0].length + this.pings[1].length,
    };
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    try {
      this.readers[dir].feed(data, ts);
    } catch (err) {
      this.readers[dir].lose();
      this.ctx.parseError(`nats: internal error: ${(err as Error).message}`);
    }
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    const r = this.readers[dir];
    if (r.partial) this.ctx.parseError(`nats: message cut by a gap of ${bytes} bytes`);
    r.lose();
    if (dir === 1) {
      // Which answers the gap swallowed cannot be known.
      this.flushAcks(`response lost in a gap of ${bytes} bytes`);
      this.flushPings(0, `PONG lost in a gap of ${bytes} bytes`);
    }
  }

  onEnd(_dir: Direction, _ts: number): void {}

  onClose(_ts: number): void {
    this.flushConnect();
    this.flushAcks('no response');
    this.flushPings(0, 'no PONG');
    this.flushPings(1, 'no PONG');
  }

  private onMalformed(dir: Direction, detail: string): void {
    this.ctx.parseError(`nats ${dir === 0 ? 'client' : 'server'}: ${detail}`);
  }

  /** The message as an entry-to-be, sent by the client or the server. */
  private op(msg: NatsMessage, fromClient: boolean): Op {
    const { client, server } = this.ctx;
    const seen = fromClient ? { msg, src: client, dst: server } : { msg, src: server, dst: client };
    return prepare(seen, (sid) => this.sids.get(sid));
  }

  private emit(op: Op, reply: NatsMessage | null, error: string | null): void {
    this.ctx.emit(entry(op, reply, error));
  }

  /** What an operation keeps, roughly: its fields are capped and at most a few times its size. */
  private static cost(op: Op): number {
    return 256 + Math.min(op.size, 16 * 1024);
  }

  private flushAcks(why: string): void {
    for (const op of this.acks.splice(0)) {
      this.pendingBytes -= NatsSession.cost(op);
      this.emit(op, null, why);
    }
    this.owed = 0;
  }

  private flushPings(dir: Direction, why: string): void {
    for (const p of this.pings[dir].splice(0)) this.emit(p, null, why);
  }

  /** Reports the waiting CONNECT (with `answer` when the server refused it) and what it held back. */
  private flushConnect(answer: NatsMessage | null = null): void {
    if (this.connect) this.emit(this.connect, answer, null);
    this.connect = null;
    for (const op of this.held.splice(0)) {
      this.pendingBytes -= NatsSession.cost(op);
      this.emit(op, null, null);
    }
  }

  // Client side

  private onClient(msg: NatsMessage): void {
    const op = this.op(msg, true);
    if (!msg.known) {
      // docs: the server answers an unknown operation with -ERR and closes the connection.
      this.ctx.parseError(`nats client: unknown operation ${JSON.stringify(msg.verb)}`);
      this.wait(op);
      return;
    }
    switch (msg.verb) {
      case 'CONNECT': {
        const verbose = /"verbose"\s*:\s*true/.test(msg.rest);
        this.verbose = verbose;
        if (verbose) this.wait(op);
        else {
          this.flushConnect();
          this.connect = op;
        }
        return;
      }
      case 'PING':
        this.ping(0, op);
        return;
      case 'PONG':
        this.pong(1, msg, op);
        return;
      case 'SUB':
        if (this.sids.size < MAX_SIDS) {
          this.sids.set(cut(msg.args[msg.args.length - 1]!, MAX_SID), cut(msg.args[0]!, MAX_SUBJECT));
        }
        break;
    }
    if (this.verbose) this.wait(op);
    else if (this.connect && this.held.length < MAX_PENDING && this.pendingBytes < MAX_PENDING_BYTES) {
      this.held.push(op);
      this.pendingBytes += NatsSession.cost(op);
    } else this.emit(op, null, null);
  }

  private wait(op: Op): void {
    this.acks.push(op);
    this.pendingBytes += NatsSession.cost(op);
    while (
      this.acks.length > MAX_PENDING ||
      (this.pendingBytes > MAX_PENDING_BYTES && this.acks.length > 0)
    ) {
      this.owed++;
      this.emit(this.takeAck()!, null, 'no acknowledgement tracked (too many operations waiting)');
    }
  }

  private takeAck(): Op | undefined {
    const op = this.acks.shift();
    if (op) this.pendingBytes -= NatsSession.cost(op);
    return op;
  }

  private ping(dir: Direction, op: Op): void {
    const q = this.pings[dir];
    q.push(op);
    if (q.length > MAX_PINGS)
      this.emit(q.shift()!, null, `no PONG tracked (more than ${MAX_PINGS} PINGs waiting)`);
  }

  /** A PONG from the side opposite `pingDir`. */
  private pong(pingDir: Direction, msg: NatsMessage, op: Op): void {
    const ping = this.pings[pingDir][0];
    if (ping && ping.ts <= msg.ts) {
      this.pings[pingDir].shift();
      this.emit(ping, msg, null);
    } else {
      this.emit(op, null, 'no PING seen');
    }
  }

  // Server side

  private onServer(msg: NatsMessage): void {
    const op = this.op(msg, false);
    if (this.connect) {
      // A non-verbose CONNECT is answered only when it fails (the server then reads nothing more,
      // so an 'Unknown Protocol Operation' for an operation sent after it means it succeeded).
      const refused =
        msg.verb === '-ERR' &&
        !ASYNC_ERRORS.test(msg.rest) &&
        !(this.acks.length > 0 && /Unknown Protocol Operation/i.test(msg.rest));
      this.flushConnect(refused ? msg : null);
      if (refused) return;
    }
    switch (msg.verb) {
      case '+OK':
      case '-ERR':
        this.acknowledge(msg, op);
        return;
      case 'PING':
        this.ping(1, op);
        return;
      case 'PONG':
        this.pong(0, msg, op);
        return;
      case 'INFO':
      case 'MSG':
      case 'HMSG':
        this.emit(op, null, null);
        return;
      default:
        // An operation a server does not send.
        this.ctx.parseError(`nats server: unexpected ${JSON.stringify(msg.verb)}`);
    }
  }

  private acknowledge(msg: NatsMessage, op: Op): void {
    if (msg.verb === '-ERR' && ASYNC_ERRORS.test(msg.rest)) {
      this.emit(op, null, null);
      return;
    }
    if (this.owed > 0) {
      this.owed--;
      return;
    }
    const head = this.acks[0];
    if (head && head.ts <= msg.ts) {
      this.takeAck();
      this.emit(head, msg, null);
      return;
    }
    // Verbose mode the capture did not see being set, or the operation was not captured.
    if (msg.verb === '+OK' && this.verbose === null) this.verbose = true;
    this.emit(op, null, msg.verb === '+OK' ? 'no operation seen' : null);
  }
}
