/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): a session per connection. Queries may be pipelined and
 * answered out of order (RFC 7766 §6.2.1.1), so responses are paired by ID, not by position. Whether
 * a message is a query or a response is read from its QR bit, not from the direction: a capture that
 * starts mid-connection may not know which side opened it.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { detectStream } from './detect.js';
import { LengthPrefixFramer } from './framer.js';
import { DEFAULT_TIMEOUT_MICROS, PendingTable } from './matcher.js';
import { parseMessage } from './parser.js';
import { answers, buildEntry, type Seen } from './summary.js';

/** Per connection: pipelining (RFC 7766 §6.2.1.1) rarely runs deep, and there may be many connections. */
const TCP_PENDING_CAP = 1024;
const TCP_PENDING_BYTES = 1 << 20;

export class DnsTcpSession implements TcpSession {
  private readonly framers = [new LengthPrefixFramer(), new LengthPrefixFramer()] as const;
  private readonly pending = new PendingTable<number, Seen>(
    TCP_PENDING_CAP,
    DEFAULT_TIMEOUT_MICROS,
    TCP_PENDING_BYTES,
  );
  /** Per direction: a gap broke the framing, and no message start has been found since. */
  private readonly lost = [false, false];

  constructor(private readonly ctx: SessionContext) {}

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.lost[dir]) {
      // Resynchronise where a segment starts with something that reads as a length-prefixed message
      // (each message is usually written, hence sent, on its own); drop the bytes until then.
      if (detectStream(data) !== 'yes') return;
      this.lost[dir] = false;
    }
    this.framers[dir].push(data, ts, (msg, start) => this.onMessage(dir, msg, start));
  }

  onGap(dir: Direction, _bytes: number, _ts: number): void {
    if (this.framers[dir].partial) this.ctx.parseError('dns: message cut by a gap in the stream');
    this.framers[dir].reset();
    this.lost[dir] = true;
  }

  onEnd(dir: Direction, _ts: number): void {
    if (this.framers[dir].partial) this.ctx.parseError('dns: stream ended inside a message');
    this.framers[dir].reset();
  }

  onClose(ts: number): void {
    for (const dir of [0, 1] as const) this.onEnd(dir, ts);
    for (const q of this.pending.drain()) this.emit(q, null, 'no response');
  }

  private onMessage(dir: Direction, bytes: Uint8Array, ts: number): void {
    const { message, error } = parseMessage(bytes);
    if (error) this.ctx.parseError(`dns: ${error}`);
    if (!message) return;
    for (const q of this.pending.expire(ts)) this.emit(q, null, 'no response');
    const [src, dst] = dir === 0 ? [this.ctx.client, this.ctx.server] : [this.ctx.server, this.ctx.client];
    const seen: Seen = { message, parseError: error, ts, size: bytes.length + 2, src, dst };
    const id = message.header.id;
    if (!message.header.flags.qr) {
      const { replaced, evicted } = this.pending.add(id, seen, ts, seen.size);
      if (replaced) this.emit(replaced, null, 'no response (query sent again)');
      for (const q of evicted) this.emit(q, null, 'no response (too many queries pending)');
      return;
    }
    const q = this.pending.peek(id);
    if (q && answers(q, seen)) {
      this.pending.take(id);
      this.emit(q, seen, null);
    } else {
      this.emit(null, seen, 'no query seen');
    }
  }

  private emit(query: Seen | null, response: Seen | null, missing: string | null): void {
    this.ctx.emit(buildEntry(query, response, missing));
  }
}
