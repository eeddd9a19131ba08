/**
 * One Redis connection: a RESP reader per direction and the commands waiting for their replies.
 * Redis answers commands in the order it got them (spec, "Pipelining"), so replies pair with a FIFO
 * of pending commands — except what the server sends on its own: pub/sub messages (RESP2 arrays
 * while the connection is subscribed, RESP3 push values) and, after MONITOR, the command feed. The
 * confirmations of (P|S)(UN)SUBSCRIBE pair with their command, one per channel.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { argsNeeded, channelCount, describe, isSubscribeKind, type SubscribeKind } from './commands.js';
import { plausibleStart } from './detect.js';
import {
  argAt,
  CommandScan,
  commandName,
  FALLBACK,
  KEEP_BYTES,
  KEEP_ITEMS,
  scanCommand,
  scanReply,
} from './fast.js';
import { type RespMessage, RespReader, type RespReaderOptions, type RespValue } from './resp.js';
import {
  addReply,
  answeredEntry,
  commandEntry,
  NO_REPLIES,
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

// fast.ts reads the common messages in place within these same caps.
const CLIENT_OPTIONS: RespReaderOptions = {
  client: true,
  keepBytes: KEEP_BYTES,
  keepErrorBytes: 256,
  keepItems: KEEP_ITEMS,
  keepDepth: 2,
};
const SERVER_OPTIONS: RespReaderOptions = {
  client: false,
  keepBytes: KEEP_BYTES,
  keepErrorBytes: 1024,
  keepItems: KEEP_ITEMS,
  keepDepth: 4,
};

/** Shared by every session: the fast path's results live only until the message is handled. */
const commandScan = new CommandScan();
const replyScan: { value: RespValue | null } = { value: null };

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
  /** Entries get request and response (SessionContext.detail). */
  private readonly detail: boolean;

  /**
   * `fast`: read the common messages in place (fast.ts); false leaves every byte to the incremental
   * reader, the fast path's reference in tests.
   */
  constructor(
    private readonly ctx: SessionContext,
    private readonly fast = true,
  ) {
    this.detail = ctx.detail !== false;
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

  /**
   * Whole messages of the common shapes are read in place (fast.ts); the incremental reader takes
   * whatever else, and any message the chunk cuts, from its first byte until it completes one.
   */
  onData(dir: Direction, data: Uint8Array, ts: number): void {
    try {
      const first = this.fresh[dir]!;
      this.fresh[dir] = false;
      const r = this.readers[dir];
      const n = data.length;
      let pos = 0;
      if (r.lost) {
        if (!plausibleStart(dir, data, first)) return;
        r.resync();
      }
      if (!this.fast) {
        r.read(data, 0, ts, false);
        return;
      }
      if (!r.atBoundary) pos = r.read(data, 0, ts, true);
      if (dir === 0) {
        while (pos < n) {
          const end = scanCommand(data, pos, n, commandScan);
          if (end === FALLBACK) {
            pos = r.read(data, pos, ts, true);
            continue;
          }
          this.fastCommand(data, ts, end - pos);
          pos = end;
        }
      } else {
        while (pos < n) {
          const end = scanReply(data, pos, n, replyScan, this.detail);
          if (end === FALLBACK) {
            pos = r.read(data, pos, ts, true);
            continue;
          }
          const value = replyScan.value!;
          replyScan.value = null;
          this.fastReply(value, ts, end - pos);
          pos = end;
        }
      }
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
      this.emit(
        commandEntry(
          head,
          cut ? 'response cut off at the end of the stream' : 'no response',
          this.ctx,
          this.detail,
        ),
      );
    this.flushPending('no response');
  }

  private flushPending(why: string): void {
    for (const p of this.pending.splice(0)) this.emit(commandEntry(p, why, this.ctx, this.detail));
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
    this.command(args, count, truncated, m.inline, m.ts, m.size);
  }

  /** The command fast.ts just scanned (commandScan), `size` bytes at `ts`. */
  private fastCommand(data: Uint8Array, ts: number, size: number): void {
    const scan = commandScan;
    const count = scan.count;
    const name = commandName(data, scan);
    if (!this.detail) {
      // Only the arguments that name the command and its key are decoded (commands.ts argsNeeded);
      // the pending budget counts the kept bytes of all of them.
      const args = argList(data, scan, name, Math.min(count, argsNeeded(name)));
      let kept = 0;
      for (let i = 0; i < count; i++) kept += scan.ends[i]! - scan.starts[i]!;
      this.command(args, count, scan.truncated, false, ts, size, kept);
      return;
    }
    this.command(argList(data, scan, name, count), count, scan.truncated, false, ts, size);
  }

  /** `kept`: what the arguments weigh for the pending budget when not all are in `args`. */
  private command(
    args: string[],
    count: number,
    truncated: boolean,
    inline: boolean,
    ts: number,
    size: number,
    kept = -1,
  ): void {
    const command = describe(args, count, truncated, inline);
    let expect = 1;
    if (command.subscribe) {
      const n = channelCount(command);
      // Without channels, UNSUBSCRIBE confirms each current subscription (or one null if none).
      const all = command.subscribe.includes('unsub');
      expect = n > 0 ? n : all ? Math.max(1, this.subscribed[SET_OF[command.subscribe]].size) : 1;
    }
    let cost = 64;
    if (kept >= 0) cost += kept;
    else for (let i = 0; i < args.length; i++) cost += args[i]!.length;
    this.pending.push({
      command,
      ts,
      size,
      expect,
      replies: NO_REPLIES as RespMessage[],
      received: 0,
      replyBytes: 0,
      cost,
    });
    this.pendingBytes += cost;
    while (this.pending.length > MAX_PENDING || this.pendingBytes > MAX_PENDING_BYTES) {
      const old = this.take()!;
      this.owed += old.expect;
      this.emit(commandEntry(old, 'no reply tracked (too many commands waiting)', this.ctx, this.detail));
    }
  }

  /** The oldest pending command, out of the FIFO. */
  private take(): PendingCommand | undefined {
    const p = this.pending.shift();
    if (p) this.pendingBytes -= p.cost;
    return p;
  }

  // Server side

  /**
   * A scalar reply fast.ts read (`size` bytes at `ts`). The common case — it answers the oldest
   * command, a plain one waiting for its one reply — is what onReply would do, taken directly; the
   * rest goes through onReply.
   */
  private fastReply(v: RespValue, ts: number, size: number): void {
    const head = this.pending[0];
    if (
      head !== undefined &&
      this.owed === 0 &&
      head.command.subscribe === null &&
      head.expect === 1 &&
      head.replies.length === 0 &&
      head.ts <= ts
    ) {
      // onReply's path for it: not out of band (a scalar), nothing owed, no MONITOR feed while a
      // command waits, the head answered (addReply), taken, then reported.
      this.take();
      head.received = 1;
      head.replyBytes += size;
      head.expect = 0;
      this.afterReply(head, v);
      this.emit(answeredEntry(head, v, ts, null, this.ctx, this.detail));
      return;
    }
    this.onReply({ value: v, size, ts, inline: false });
  }

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
      this.emit(commandEntry(head, `${head.expect} confirmations missing`, this.ctx, this.detail));
      head = this.pending[0];
    }
    // A reply that starts before the oldest waiting command was sent answers a command not seen.
    if (!head || head.ts > m.ts) {
      this.emit(orphanEntry(m, 'command not captured', this.ctx, this.detail));
      return;
    }
    addReply(head, m);
    if (head.command.subscribe) head.expect = 0; // an error answers the whole command
    if (head.expect > 0) return;
    this.take();
    this.afterReply(head, v);
    this.emit(commandEntry(head, null, this.ctx, this.detail));
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
        this.emit(commandEntry(head, null, this.ctx, this.detail));
      }
      return;
    }
    // Sent on the server's own (a shard channel moved: sunsubscribe) or for a command not seen.
    this.emit(pushEntry(m, kind, this.ctx.server, this.ctx.client));
  }
}

/**
 * The first `n` arguments of the command scanned (the name already made): a packed array, built as
 * a literal for the usual few arguments (an array with holes, or one grown by push, costs more to
 * make or to write as JSON).
 */
function argList(data: Uint8Array, scan: CommandScan, name: string, n: number): string[] {
  switch (n) {
    case 1:
      return [name];
    case 2:
      return [name, argAt(data, scan, 1)];
    case 3:
      return [name, argAt(data, scan, 1), argAt(data, scan, 2)];
    case 4:
      return [name, argAt(data, scan, 1), argAt(data, scan, 2), argAt(data, scan, 3)];
  }
  const args = [name];
  for (let i = 1; i < n; i++) args.push(argAt(data, scan, i));
  return args;
}

/** An argument as text: bulk and simple strings as they are, numbers in decimal. */
function argText(v: RespValue): string {
  const r = renderValue(v);
  if (typeof r === 'string') return r;
  if (typeof r === 'number') return String(r);
  return JSON.stringify(r);
}
