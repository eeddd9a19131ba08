/**
 * One AMQP 0-9-1 connection: a frame reader per direction and the channels between them. Each
 * channel pairs synchronous methods with their replies (§2.3.5.2: a peer sends a synchronous
 * request and waits for its reply on that channel; both peers may ask: connection.start and
 * connection.tune come from the server, closes from either side), assembles messages from their
 * method, header and body frames (§4.2.6), and, once confirm.select was seen, pairs each publish
 * with the broker's basic.ack / basic.nack by delivery tag (RabbitMQ publisher confirms).
 * Everything else is an entry of its own: publishes, deliveries, returns, consumer acks, blocked.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import type { EntryEndpoint } from '../entry.js';
import { BodyPreview, decodeContentHeader } from './content.js';
import { FrameReader } from './frames.js';
import { decodeMethod } from './methods.js';
import { FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_OVERHEAD, isReply, methodSpec } from './spec.js';
import { buildEntry, type Call } from './summary.js';

/** Synchronous requests waiting for their reply, per connection; the oldest leaves first. */
export const MAX_PENDING = 256;
/** Publishes waiting for their confirm, per connection. */
export const MAX_UNCONFIRMED = 1024;

/** A message whose header and body frames are still coming, and what to do once it is whole. */
interface Inflight {
  call: Call;
  done: () => void;
}

interface Unconfirmed {
  call: Call;
  /** The broker's ack or nack, once seen. */
  confirm: Call | null;
  contentDone: boolean;
}

interface Confirms {
  /** The publishing side (the one that sent confirm.select). */
  dir: Direction;
  /** The delivery tag the next publish gets (counted from 1 on the channel). */
  next: number;
  waiting: Map<number, Unconfirmed>;
}

class Channel {
  /** Synchronous requests by the side that sent them, oldest first. */
  readonly pending: [Call[], Call[]] = [[], []];
  readonly inflight: [Inflight | null, Inflight | null] = [null, null];
  confirms: Confirms | null = null;
}

export class AmqpSession implements TcpSession {
  private readonly readers: [FrameReader, FrameReader];
  private readonly channels = new Map<number, Channel>();
  private pendingCount = 0;
  private unconfirmedCount = 0;
  /** Protocol headers seen per direction ("0-9-1"). */
  private readonly versions: [string | null, string | null] = [null, null];
  private readonly heartbeats: [number, number] = [0, 0];
  private skippedBytes = 0;
  /**
   * Per direction, the channels that had a method frame since the stream's start or its last loss
   * of sync. Header and body frames without their message's method are malformed there; elsewhere
   * the method was simply not captured, and they are dropped silently.
   */
  private readonly synced: [Set<number>, Set<number>] = [new Set(), new Set()];
  /** Per direction, the message the current body frame belongs to (null: not ours to count). */
  private readonly bodyOf: [Inflight | null, Inflight | null] = [null, null];

  constructor(private readonly ctx: SessionContext) {
    this.readers = [new FrameReader(this.events(0)), new FrameReader(this.events(1))];
  }

  /** Bytes held across calls by the frame readers. */
  get buffered(): number {
    return this.readers[0].buffered + this.readers[1].buffered;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    this.readers[dir].push(data, ts);
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    this.readers[dir].gap(bytes);
  }

  onEnd(_dir: Direction, _ts: number): void {}

  onClose(_ts: number): void {
    // A stream that ends inside a frame was cut by the capture, not malformed: the message in
    // progress is reported with what came.
    for (const [id, ch] of this.channels) this.closeChannel(id, ch, 'connection ended');
    this.ctx.annotate('amqp', {
      version: this.versions[0] ?? this.versions[1],
      heartbeats: { sent: this.heartbeats[0], received: this.heartbeats[1] },
      skippedBytes: this.skippedBytes,
    });
  }

  private endpoint = (dir: Direction): EntryEndpoint => (dir === 0 ? this.ctx.client : this.ctx.server);

  private emit(req: Call | null, resp: Call | null, missing: string | null = null): void {
    this.ctx.emit(buildEntry(req, resp, missing, this.endpoint));
  }

  private channel(id: number): Channel {
    let ch = this.channels.get(id);
    if (!ch) {
      ch = new Channel();
      this.channels.set(id, ch);
    }
    return ch;
  }

  private events(dir: Direction) {
    return {
      protocolHeader: (h: Uint8Array, ts: number) => this.onProtocolHeader(dir, h, ts),
      frame: (type: number, channel: number, payload: Uint8Array, ts: number) => {
        if (type === FRAME_METHOD) this.onMethod(dir, channel, payload, ts);
        else if (type === FRAME_HEADER) this.onHeader(dir, channel, payload);
        else if (type === FRAME_HEARTBEAT) this.heartbeats[dir]++;
      },
      bodyStart: (channel: number, size: number) => {
        const f = this.content(dir, channel, 'body');
        if (f) f.call.size += size + FRAME_OVERHEAD;
        this.bodyOf[dir] = f;
      },
      body: (_channel: number, chunk: Uint8Array) => {
        const f = this.bodyOf[dir];
        if (f) f.call.content!.preview.add(chunk);
      },
      bodyGap: (_channel: number, bytes: number) => {
        const f = this.bodyOf[dir];
        if (!f) return;
        f.call.content!.preview.gap(bytes);
        f.call.errors.push(`${bytes} body bytes lost in a capture gap`);
      },
      bodyEnd: (channel: number) => {
        const f = this.bodyOf[dir];
        this.bodyOf[dir] = null;
        const c = f?.call.content;
        if (!f || !c || c.bodySize === null || c.preview.received < c.bodySize) return;
        if (c.preview.received > c.bodySize) {
          this.ctx.parseError(
            `amqp: ${f.call.name} body of ${c.preview.received} bytes, its header said ${c.bodySize}`,
          );
        }
        this.finish(dir, channel, f);
      },
      frameLost: (type: number, channel: number, why: string) => {
        if (!why.startsWith('cut by')) this.ctx.parseError(`amqp: channel ${channel}: ${why}`);
        this.cutInflight(dir, channel, `a type-${type} frame of the message was lost (${why})`);
        this.synced[dir].delete(channel);
      },
      syncLost: (detail: string | null) => {
        if (detail) this.ctx.parseError(`amqp: ${detail}`);
        for (const [id, ch] of this.channels) {
          if (ch.inflight[dir])
            this.cutInflight(dir, id, detail ? 'frame sync lost' : 'cut by a capture gap');
        }
        this.bodyOf[dir] = null;
        this.synced[dir].clear();
      },
      resynced: (skipped: number) => {
        this.skippedBytes += skipped;
      },
    };
  }

  private onProtocolHeader(dir: Direction, h: Uint8Array, ts: number): void {
    const version = protocolVersion(h);
    this.versions[dir] = version;
    const other = this.versions[1 - dir];
    // §4.2.2: a server that does not speak the client's version answers with the header it speaks
    // and closes the connection.
    if (other === null || other === undefined) return;
    const req = this.headerCall((1 - dir) as Direction, other, ts);
    const resp = this.headerCall(dir, version, ts);
    this.emit(req, resp, `protocol version refused: the server offers AMQP ${version}`);
  }

  private headerCall(dir: Direction, version: string, ts: number): Call {
    return {
      dir,
      channel: 0,
      name: 'protocol-header',
      classId: 0,
      methodId: 0,
      args: { version },
      ts,
      size: 8,
      content: null,
      errors: [],
    };
  }

  private onMethod(dir: Direction, channel: number, payload: Uint8Array, ts: number): void {
    const m = decodeMethod(payload);
    if (m.error) this.ctx.parseError(`amqp: ${m.name} on channel ${channel}: ${m.error}`);
    const spec = m.spec;
    if (!spec) return;
    this.synced[dir].add(channel);
    const ch = this.channel(channel);
    if (ch.inflight[dir]) {
      this.ctx.parseError(`amqp: ${spec.name} on channel ${channel} before the previous message was whole`);
      this.cutInflight(dir, channel, `content incomplete: ${spec.name} came first`);
    }
    const call: Call = {
      dir,
      channel,
      name: spec.name,
      classId: m.classId,
      methodId: m.methodId,
      args: m.args,
      ts,
      size: payload.length + FRAME_OVERHEAD,
      content: null,
      errors: m.error ? [`malformed: ${m.error}`] : [],
    };
    if (spec.content) {
      this.startContent(dir, ch, call);
      return;
    }
    if (isReply(spec.name)) {
      this.onReply(dir, channel, ch, call);
      return;
    }
    switch (spec.name) {
      case 'channel.open':
        // A new life of the channel number: nothing of the previous one can complete any more.
        if (ch.pending[0].length + ch.pending[1].length > 0 || ch.confirms || ch.inflight[1 - dir]) {
          this.closeChannel(channel, ch, 'channel opened again');
          this.addPending(this.channel(channel), call);
          return;
        }
        break;
      case 'channel.close':
      case 'connection.close':
        this.failRequest(dir, spec.name === 'channel.close' ? channel : null, call);
        break;
      case 'confirm.select':
        // Publishes are numbered from here on (RabbitMQ: delivery tags start at 1 per channel).
        ch.confirms ??= { dir, next: 1, waiting: new Map() };
        break;
      case 'basic.ack':
      case 'basic.nack':
        if (ch.confirms && ch.confirms.dir !== dir) {
          this.onConfirm(ch, call);
          return;
        }
        break;
    }
    if (spec.replies.length > 0 && !(spec.nowait && call.args.nowait === true)) {
      this.addPending(ch, call);
      return;
    }
    this.emit(call, null);
  }

  private addPending(ch: Channel, call: Call): void {
    ch.pending[call.dir].push(call);
    this.pendingCount++;
    if (this.pendingCount <= MAX_PENDING) return;
    // The oldest request of the connection leaves, reported without its reply.
    let oldest: { ch: Channel; call: Call } | null = null;
    for (const c of this.channels.values()) {
      for (const p of c.pending) {
        const head = p[0];
        if (head && (!oldest || head.ts < oldest.call.ts)) oldest = { ch: c, call: head };
      }
    }
    if (!oldest) return;
    oldest.ch.pending[oldest.call.dir].shift();
    this.pendingCount--;
    this.emit(oldest.call, null, 'no reply seen (too many requests waiting)');
  }

  /** Takes the oldest request sent the other way on the channel that `reply` answers. */
  private takeRequest(ch: Channel, reply: Call): Call | null {
    const list = ch.pending[1 - reply.dir]!;
    const i = list.findIndex((q) => methodSpec(q.classId, q.methodId)?.replies.includes(reply.name));
    if (i < 0) return null;
    this.pendingCount--;
    return list.splice(i, 1)[0]!;
  }

  private onReply(_dir: Direction, channel: number, ch: Channel, call: Call): void {
    const req = this.takeRequest(ch, call);
    this.emit(req, call, req ? null : 'no request seen');
    if (call.name === 'channel.close-ok') this.closeChannel(channel, ch, 'channel closed');
    else if (call.name === 'connection.close-ok') {
      for (const [id, c] of this.channels) this.closeChannel(id, c, 'connection closed');
    }
  }

  /**
   * A close names the method that caused it (class-id, method-id; §1.4.2.5 / §1.5.2.5): that
   * request, waiting on the closing channel (on any channel for connection.close) from the other
   * side, gets the close as its reply.
   */
  private failRequest(dir: Direction, channel: number | null, close: Call): void {
    const { classId, methodId } = close.args;
    if (typeof classId !== 'number' || classId === 0) return;
    let best: { ch: Channel; i: number } | null = null;
    const candidates = channel === null ? [...this.channels.values()] : [this.channel(channel)];
    for (const ch of candidates) {
      const list = ch.pending[1 - dir]!;
      const i = list.findIndex((q) => q.classId === classId && q.methodId === methodId);
      if (i >= 0 && (!best || list[i]!.ts < best.ch.pending[1 - dir]![best.i]!.ts)) best = { ch, i };
    }
    if (!best) return;
    const [req] = best.ch.pending[1 - dir]!.splice(best.i, 1);
    this.pendingCount--;
    this.emit(req!, close);
  }

  private onConfirm(ch: Channel, ack: Call): void {
    const confirms = ch.confirms!;
    const tag = ack.args.deliveryTag;
    const multiple = ack.args.multiple === true;
    const matched: [number, Unconfirmed][] = [];
    for (const [seq, u] of confirms.waiting) {
      // RabbitMQ: multiple with tag 0 confirms everything outstanding.
      if (seq === tag || (multiple && (tag === 0 || (typeof tag === 'number' && seq <= tag)) && !u.confirm)) {
        matched.push([seq, u]);
      }
    }
    if (matched.length === 0) {
      this.emit(ack, null, 'confirms no publish seen');
      return;
    }
    // The ack's bytes count once, with the publish it names.
    const owner = matched.find(([seq]) => seq === tag) ?? matched[matched.length - 1]!;
    for (const [seq, u] of matched) {
      u.confirm = u === owner[1] ? ack : { ...ack, size: 0 };
      if (u.contentDone) this.emitConfirmed(confirms, seq, u);
    }
  }

  private emitConfirmed(
    confirms: Confirms,
    seq: number,
    u: Unconfirmed,
    missing: string | null = null,
  ): void {
    confirms.waiting.delete(seq);
    this.unconfirmedCount--;
    this.emit(u.call, u.confirm, missing);
  }

  private startContent(dir: Direction, ch: Channel, call: Call): void {
    call.content = { properties: null, bodySize: null, preview: new BodyPreview() };
    let done: () => void;
    if (call.name === 'basic.get-ok') {
      const req = this.takeRequest(ch, call);
      done = () => this.emit(req, call, req ? null : 'no request seen');
    } else if (call.name === 'basic.publish' && ch.confirms?.dir === dir) {
      const confirms = ch.confirms;
      const seq = confirms.next++;
      // The tag the broker will confirm it with: users match it against their client's.
      call.args.publishSeq = seq;
      const u: Unconfirmed = { call, confirm: null, contentDone: false };
      confirms.waiting.set(seq, u);
      this.unconfirmedCount++;
      if (this.unconfirmedCount > MAX_UNCONFIRMED) this.dropOldestUnconfirmed();
      done = () => {
        u.contentDone = true;
        if (u.confirm) this.emitConfirmed(confirms, seq, u);
      };
    } else {
      done = () => this.emit(call, null);
    }
    ch.inflight[dir] = { call, done };
  }

  private dropOldestUnconfirmed(): void {
    let oldest: { c: Confirms; seq: number; u: Unconfirmed } | null = null;
    for (const ch of this.channels.values()) {
      const c = ch.confirms;
      const first = c?.waiting.entries().next();
      if (c && first && !first.done && (!oldest || first.value[1].call.ts < oldest.u.call.ts)) {
        oldest = { c, seq: first.value[0], u: first.value[1] };
      }
    }
    if (!oldest) return;
    // Reported now, as it stands (its body may still be coming); a later confirm finds nothing.
    this.emitConfirmed(oldest.c, oldest.seq, oldest.u, 'no confirm seen (too many publishes waiting)');
  }

  /** The message that `dir` is sending on `channel`, for a `what` frame; null (and why) when none. */
  private content(dir: Direction, channel: number, what: 'header' | 'body'): Inflight | null {
    const f = this.channels.get(channel)?.inflight[dir] ?? null;
    const c = f?.call.content;
    const ok = what === 'header' ? c && c.bodySize === null : c && c.bodySize !== null;
    if (f && ok) return f;
    // Picked up mid-message (or after lost sync): not malformed, just not ours to place.
    if (!this.synced[dir].has(channel)) return null;
    this.ctx.parseError(`amqp: content ${what} frame on channel ${channel} without a message method`);
    // Its other frames would say the same again: once per message is enough.
    this.synced[dir].delete(channel);
    return null;
  }

  private onHeader(dir: Direction, channel: number, payload: Uint8Array): void {
    const f = this.content(dir, channel, 'header');
    if (!f) return;
    const h = decodeContentHeader(payload);
    if (h.error) {
      this.ctx.parseError(`amqp: content header on channel ${channel}: ${h.error}`);
      f.call.errors.push(`malformed content header: ${h.error}`);
    }
    const c = f.call.content!;
    c.properties = h.properties;
    c.bodySize = h.bodySize;
    c.preview.expected = h.bodySize;
    f.call.size += payload.length + FRAME_OVERHEAD;
    if (h.bodySize === 0) this.finish(dir, channel, f);
  }

  /** Completes `f` if it is still the message in progress there (a closed channel ended it already). */
  private finish(dir: Direction, channel: number, f: Inflight): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.inflight[dir] !== f) return;
    ch.inflight[dir] = null;
    f.done();
  }

  /** Ends the message in progress as it stands, with `why`. */
  private cutInflight(dir: Direction, channel: number, why: string): void {
    const f = this.channels.get(channel)?.inflight[dir];
    if (!f) return;
    f.call.errors.push(why);
    this.finish(dir, channel, f);
  }

  /** The channel is gone: whatever waits on it is reported without what it waited for. */
  private closeChannel(id: number, ch: Channel, why: string): void {
    for (const dir of [0, 1] as const) this.cutInflight(dir, id, `content incomplete: ${why}`);
    for (const list of ch.pending) {
      for (const q of list.splice(0)) {
        this.pendingCount--;
        this.emit(q, null, `no reply seen: ${why}`);
      }
    }
    const c = ch.confirms;
    if (c) {
      for (const [seq, u] of [...c.waiting]) {
        if (u.contentDone) this.emitConfirmed(c, seq, u, u.confirm ? null : `no confirm seen: ${why}`);
      }
    }
    this.channels.delete(id);
  }
}

/** The version a protocol header names (§4.2.2): "0-9-1" for "AMQP" 0 0 9 1. */
export function protocolVersion(h: Uint8Array): string {
  const [id, a, b, c] = [h[4]!, h[5]!, h[6]!, h[7]!];
  if (id === 0) return `${a}-${b}-${c}`;
  // 0-8 and 0-9 wrote "AMQP" 1 1 major minor.
  if (id === 1 && a === 1) return `${b}-${c}`;
  return `${a}-${b}-${c} (protocol id ${id})`;
}
