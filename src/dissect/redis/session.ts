/**
 * One Redis connection: a RESP reader per direction and the commands waiting for their replies.
 * Redis answers commands in the order it got them (spec, "Pipelining"), so replies pair with a FIFO
 * of pending commands — except what the server sends on its own: pub/sub messages (RESP2 arrays
 * while the connection is subscribed, RESP3 push values) and, after MONITOR, the command feed. The
 * confirmations of (P|S)(UN)SUBSCRIBE pair with their command, one per channel.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { channelCount, describe, isSubscribeKind, type SubscribeKind } from './commands.js';
import { plausibleStart } from './detect.js';
import { type RespMessage, RespReader, type RespReaderOptions, type RespValue } from './resp.js';
import {
  addReply,
  commandEntry,
  orphanEntry,
  type PendingCommand,
  pushEntry,
  type RedisEntry,
  renderValue,
} from './summary.js';

/** Commands waiting at once on a connection (redis-benchmark -P 16 keeps 16; --pipe, thousands). */
export const MAX_PENDING = 1024;
/** And what their kept arguments may weigh together (a command keeps at most 32 × 256 bytes). */
export const MAX_PENDING_BYTES = 1 << 20;
/** Channels and patterns remembered per kind (to know how many confirmations UNSUBSCRIBE gets). */
const MAX_TRACKED_CHANNELS = 256;

const CLIENT_OPTIONS: RespReaderOptions = {
  client: true,
  keepBytes: 256,
  keepErrorBytes: 256,
  keepItems: 32,
  keepDepth: 2,
};
const SERVER_OPTIONS: RespReaderOptions = {
  client: false,
  keepBytes: 256,
  keepErrorBytes: 1024,
  keepItems: 32,
  keepDepth: 4,
};

type ChannelSet = 'channels' | 'patterns' | 'shards';

const SET_OF: Record<SubscribeKind, ChannelSet> = {
  subscribe: 'channels',
  unsubscribe: 'channels',
  psubscribe: 'patterns',
  punsubscribe: 'patterns',
  ssubscribe: 'shards',
  sunsubscribe: 'shards',
};

export class RedisSession implements TcpSession {
  private readonly readers: readonly [RespReader, RespReader];
  private readonly pending: PendingCommand[] = [];
  /** Estimated bytes the pending commands keep. */
  private pendingBytes = 0;
  /** Replies still to come for commands already reported (pushed out of a full FIFO): skipped. */
  private owed = 0;
  private readonly subscribed: Record<ChannelSet, Set<string>> = {
    channels: new Set(),
    patterns: new Set(),
    shards: new Set(),
  };
  /** The server's own count of this connection's subscriptions, from the last confirmation. */
  private subscriptions = 0;
  private shardSubscriptions = 0;
  private monitoring = false;

  /** Per direction: no byte seen yet. */
  private readonly fresh = [true, true];

  constructor(private readonly ctx: SessionContext) {
    this.readers = [
      new RespReader(CLIENT_OPTIONS, {
        onMessage: (m) => this.onCommand(m),
        onError: (d) => this.onMalformed(0, d),
      }),
      new RespReader(SERVER_OPTIONS, {
        onMessage: (m) => this.onReply(m),
        onError: (d) => this.onMalformed(1, d),
      }),
    ];
    // A capture may start inside a message: each direction begins where a message plausibly does.
    for (const r of this.readers) r.lose();
  }

  /** Bytes the readers hold across calls (fixed buffers), and the commands waiting. */
  get footprint(): { retained: number; pending: number } {
    return { retained: this.readers[0].retained + this.readers[1].retained, pending: this.pending.length };
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    try {
      const first = this.fresh[dir]!;
      this.fresh[dir] = false;
      this.readers[dir].feed(data, ts, (b) => plausibleStart(dir, b, first));
    } catch (err) {
      // Nothing may escape a session; a bug here costs this direction's sync, not the capture.
      this.readers[dir].lose();
      this.ctx.parseError(`redis: internal error: ${(err as Error).message}`);
    }
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    const r = this.readers[dir];
    if (r.partial)
      this.ctx.parseError(`redis: ${dir === 0 ? 'command' : 'reply'} cut by a gap of ${bytes} bytes`);
    r.lose();
    // Which replies the gap swallowed cannot be known: the commands waiting get none.
    if (dir === 1) this.flushPending(`response lost in a gap of ${bytes} bytes`);
  }

  onEnd(_dir: Direction, _ts: number): void {}

  onClose(_ts: number): void {
    const cut = this.readers[1].partial;
    const head = this.take();
    if (head)
      this.emit(commandEntry(head, cut ? 'response cut off at the end of the stream' : 'no response'));
    this.flushPending('no response');
  }

  private flushPending(why: string): void {
    for (const p of this.pending.splice(0)) this.emit(commandEntry(p, why));
    this.pendingBytes = 0;
    this.owed = 0;
  }

  private onMalformed(dir: Direction, detail: string): void {
    this.ctx.parseError(`redis ${dir === 0 ? 'command' : 'reply'}: ${detail}`);
    if (dir === 1) this.flushPending('reply unreadable (malformed)');
  }

  private emit(e: RedisEntry): void {
    this.ctx.emit(e);
  }

  // Client side

  private onCommand(m: RespMessage): void {
    const v = m.value;
    const items = v.items ?? [];
    const count = v.count ?? items.length;
    // Redis ignores an empty array (spec: "*0" sends no command).
    if (v.type !== 'array' || count === 0) return;
    const args = items.map(argText);
    const truncated = v.truncated === true || count > items.length;
    const command = describe(args, count, truncated, m.inline);
    let expect = 1;
    if (command.subscribe) {
      const n = channelCount(command);
      // Without channels, UNSUBSCRIBE confirms each current subscription (or one null if none).
      const all = command.subscribe.includes('unsub');
      expect = n > 0 ? n : all ? Math.max(1, this.subscribed[SET_OF[command.subscribe]].size) : 1;
    }
    const cost = 64 + args.reduce((n, a) => n + a.length, 0);
    this.pending.push({
      command,
      ts: m.ts,
      size: m.size,
      expect,
      replies: [],
      received: 0,
      replyBytes: 0,
      cost,
    });
    this.pendingBytes += cost;
    while (this.pending.length > MAX_PENDING || this.pendingBytes > MAX_PENDING_BYTES) {
      const old = this.take()!;
      this.owed += old.expect;
      this.emit(commandEntry(old, 'no reply tracked (too many commands waiting)'));
    }
  }

  /** The oldest pending command, out of the FIFO. */
  private take(): PendingCommand | undefined {
    const p = this.pending.shift();
    if (p) this.pendingBytes -= p.cost;
    return p;
  }

  // Server side

  private onReply(m: RespMessage): void {
    const v = m.value;
    const kind = this.outOfBand(v);
    if (kind !== null && !isSubscribeKind(kind)) {
      this.emit(pushEntry(m, kind, this.ctx.server, this.ctx.client));
      return;
    }
    if (this.owed > 0) {
      this.owed--;
      return;
    }
    if (kind !== null) {
      this.onConfirmation(m, kind as SubscribeKind);
      return;
    }
    if (this.monitoring && v.type === 'simple' && this.pending.length === 0) {
      // After MONITOR (redis.io "MONITOR"), every command the server runs is a status line.
      this.emit(pushEntry(m, 'monitor', this.ctx.server, this.ctx.client));
      return;
    }
    let head = this.pending[0];
    // A subscribe-kind command still owed confirmations that will not come (our count was off).
    while (head?.command.subscribe && head.replies.length > 0 && head.replies[0]!.value.type !== 'error') {
      this.take();
      this.emit(commandEntry(head, `${head.expect} confirmations missing`));
      head = this.pending[0];
    }
    // A reply that starts before the oldest waiting command was sent answers a command not seen.
    if (!head || head.ts > m.ts) {
      this.emit(orphanEntry(m, 'command not captured'));
      return;
    }
    addReply(head, m);
    if (head.command.subscribe) head.expect = 0; // an error answers the whole command
    if (head.expect > 0) return;
    this.take();
    this.afterReply(head, v);
    this.emit(commandEntry(head, null));
  }

  private afterReply(p: PendingCommand, v: RespValue): void {
    const name = p.command.name;
    if (name === 'MONITOR' && v.type === 'simple') this.monitoring = true;
    if (name === 'RESET') {
      // RESET leaves pub/sub and MONITOR modes (redis.io "RESET").
      this.monitoring = false;
      this.subscriptions = 0;
      this.shardSubscriptions = 0;
      for (const s of Object.values(this.subscribed)) s.clear();
    }
  }

  /**
   * The kind of a value the server sent outside the command/reply order, or null for a reply. RESP3
   * push values always are; in RESP2, arrays shaped as pub/sub messages are while the connection is
   * subscribed (then only pub/sub commands and PING are allowed) or when no command waits.
   */
  private outOfBand(v: RespValue): string | null {
    const items = v.items;
    if (!items || items.length === 0) return null;
    const kind = typeof renderValue(items[0]!) === 'string' ? (items[0]!.text ?? '').toLowerCase() : '';
    if (v.type === 'push') return kind || 'push';
    if (v.type !== 'array') return null;
    if (
      !(
        this.subscriptions + this.shardSubscriptions > 0 ||
        this.pendingSubscribe() ||
        this.pending.length === 0
      )
    ) {
      return null;
    }
    const n = v.count ?? items.length;
    if ((kind === 'message' || kind === 'smessage') && n === 3) return kind;
    if (kind === 'pmessage' && n === 4) return kind;
    if (isSubscribeKind(kind) && n === 3 && (items[2]?.type === 'integer' || items[2] === undefined))
      return kind;
    return null;
  }

  private pendingSubscribe(): boolean {
    return this.pending.some((p) => p.command.subscribe !== null && !p.command.subscribe.includes('unsub'));
  }

  /** A (P|S)(UN)SUBSCRIBE confirmation: [kind, channel, count]. */
  private onConfirmation(m: RespMessage, kind: SubscribeKind): void {
    const items = m.value.items ?? [];
    const channel = items[1]?.type === 'null' ? null : (items[1]?.text ?? null);
    const count = items[2]?.int;
    const set = this.subscribed[SET_OF[kind]];
    if (channel !== null) {
      if (kind.includes('unsub')) set.delete(channel);
      else if (set.size < MAX_TRACKED_CHANNELS) set.add(channel);
    }
    if (count !== undefined) {
      if (SET_OF[kind] === 'shards') this.shardSubscriptions = count;
      else this.subscriptions = count;
    }
    const head = this.pending[0];
    if (head && head.command.subscribe === kind && head.ts <= m.ts) {
      addReply(head, m);
      // UNSUBSCRIBE without channels ends when nothing is left subscribed.
      if (head.command.argCount === 1 && count === 0) head.expect = 0;
      if (head.expect <= 0) {
        this.take();
        this.emit(commandEntry(head, null));
      }
      return;
    }
    // Sent on the server's own (a shard channel moved: sunsubscribe) or for a command not seen.
    this.emit(pushEntry(m, kind, this.ctx.server, this.ctx.client));
  }
}

/** An argument as text: bulk and simple strings as they are, numbers in decimal. */
function argText(v: RespValue): string {
  const r = renderValue(v);
  if (typeof r === 'string') return r;
  if (typeof r === 'number') return String(r);
  return JSON.stringify(r);
}
