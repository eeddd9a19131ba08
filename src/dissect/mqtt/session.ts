/**
 * One MQTT connection: a framer per direction, the connection's version (from its CONNECT), Topic
 * Aliases per direction, and the pairing of requests with their acknowledgements:
 * CONNECT ↔ CONNACK, PUBLISH QoS 1 ↔ PUBACK, PUBLISH QoS 2 ↔ PUBREC ↔ PUBREL ↔ PUBCOMP (one
 * exchange per flow, 5.0 §4.3.3), SUBSCRIBE ↔ SUBACK, UNSUBSCRIBE ↔ UNSUBACK, PINGREQ ↔ PINGRESP.
 * A QoS 0 PUBLISH, DISCONNECT and AUTH are entries alone. Either side may publish: a broker's
 * PUBLISH to a subscriber is an entry from the broker.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import type { EntryEndpoint } from '../entry.js';
import { findRun, readsFromStart, run, syncPoint } from './detect.js';
import { Framer, type FrameSink, readHeader } from './framer.js';
import { flowKey, PendingTable } from './matcher.js';
import { type MqttVersion, PacketType } from './messages.js';
import { parsePacket } from './parser.js';
import { buildEntry, type Exchange, type Seen } from './summary.js';

/** Bytes passed over while looking for where packets start again, before that is a parse error. */
export const SCAN_BUFFER = 8192;
/** Bytes held while looking: the end of what was looked at, where a packet may begin. */
export const SCAN_TAIL = 64;
/** Outstanding PINGREQs per direction (a client sends one per keep-alive period). */
const MAX_PINGS = 64;
/** Topic Aliases remembered per direction (5.0 §3.2.2.3.8 allows up to 65,535; the oldest go). */
const MAX_ALIASES = 256;

/** What an exchange waits for; `alone` waits for nothing (a QoS 0 PUBLISH, DISCONNECT, AUTH, an orphan answer). */
type Kind = 'connect' | 'publish1' | 'publish2' | 'pubrel' | 'subscribe' | 'unsubscribe' | 'ping' | 'alone';

interface Pending extends Exchange {
  kind: Kind;
}

type State = 'start' | 'synced' | 'lost';

export class MqttSession implements TcpSession {
  private readonly framers = [new Framer(), new Framer()] as const;
  private readonly state: [State, State] = ['start', 'start'];
  /** While lost: the bytes held to look for a packet start in (a copy, at most SCAN_TAIL). */
  private readonly scan: [Uint8Array | null, Uint8Array | null] = [null, null];
  /** Bytes passed over since the direction was lost. */
  private readonly skipped: [number, number] = [0, 0];
  private readonly scanReported = [false, false];
  private readonly flows = new PendingTable<Pending>();
  private readonly pings: [Pending[], Pending[]] = [[], []];
  private readonly connects: [Pending | null, Pending | null] = [null, null];
  private readonly aliases = [new Map<number, string>(), new Map<number, string>()] as const;
  /** Capture time of the last gap per direction: an answer may have been lost in it. */
  private readonly gapTs = [-1, -1];
  private version: MqttVersion | null = null;
  private readonly ends: readonly [EntryEndpoint, EntryEndpoint];
  private readonly sinks: readonly [FrameSink, FrameSink];

  constructor(private readonly ctx: SessionContext) {
    this.ends = [ctx.client, ctx.server];
    const sink = (dir: Direction): FrameSink => ({
      frame: (byte0, body, length, size, ts) => this.onPacket(dir, byte0, body, length, size, ts),
    });
    this.sinks = [sink(0), sink(1)];
  }

  /** Bytes held across calls (framers and resync buffers), for tests. */
  get buffered(): number {
    return (
      this.framers[0].buffered +
      this.framers[1].buffered +
      (this.scan[0]?.length ?? 0) +
      (this.scan[1]?.length ?? 0)
    );
  }

  get pendingCount(): number {
    return this.flows.size + this.pings[0].length + this.pings[1].length;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    try {
      this.feed(dir, data, ts);
    } catch (err) {
      // A bug must not take the pipeline down: count it, and read this direction afresh.
      this.ctx.parseError(`mqtt: internal error: ${(err as Error).message}`);
      this.framers[dir].reset();
      this.state[dir] = 'lost';
    }
  }

  onGap(dir: Direction, _bytes: number, ts: number): void {
    if (this.framers[dir].partial) this.ctx.parseError('mqtt: packet cut by a gap in the stream');
    this.framers[dir].reset();
    this.lose(dir);
    this.gapTs[dir] = ts;
  }

  onEnd(dir: Direction, _ts: number): void {
    if (this.framers[dir].partial) this.ctx.parseError('mqtt: stream ended inside a packet');
    this.framers[dir].reset();
    const left = this.skipped[dir] + (this.scan[dir]?.length ?? 0);
    if (this.state[dir] === 'lost' && left > 0 && !this.scanReported[dir])
      this.ctx.parseError(`mqtt: stream ended with ${left} bytes where no packet starts`);
    this.scan[dir] = null;
    this.skipped[dir] = 0;
  }

  onClose(ts: number): void {
    for (const dir of [0, 1] as const) this.onEnd(dir, ts);
    const left: Pending[] = [
      ...this.flows.drain(),
      ...this.pings[0].splice(0),
      ...this.pings[1].splice(0),
      ...(this.connects.filter((c) => c !== null) as Pending[]),
    ];
    this.connects[0] = this.connects[1] = null;
    left.sort((a, b) => (a.request?.ts ?? 0) - (b.request?.ts ?? 0));
    for (const p of left) this.emit(p, this.missing(p));
  }

  private lose(dir: Direction): void {
    this.state[dir] = 'lost';
    this.scan[dir] = null;
    this.skipped[dir] = 0;
    this.scanReported[dir] = false;
  }

  private feed(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.state[dir] === 'start') this.state[dir] = startsInStep(data) ? 'synced' : 'lost';
    let rest: Uint8Array | null = data;
    // A loop, not recursion: hostile bytes may lose and find the packet boundary many times.
    while (rest && rest.length > 0) {
      if (this.state[dir] === 'lost') {
        rest = this.resync(dir, rest);
        continue;
      }
      const lost = this.framers[dir].push(rest, ts, this.sinks[dir]);
      if (!lost) return;
      this.ctx.parseError(`mqtt: ${lost.error}`);
      this.lose(dir);
      rest = rest.subarray(lost.lostAt + 1);
    }
  }

  /**
   * While lost: holds bytes until a packet start shows (detect.ts's syncPoint) and returns the bytes
   * from there, or null while none has shown. At most SCAN_BUFFER bytes are held (a copy).
   */
  private resync(dir: Direction, data: Uint8Array): Uint8Array | null {
    const held = this.scan[dir];
    // A segment usually starts with a packet (senders write whole packets): try it first.
    if (held && readsFromStart(data)) return this.synced(dir, data, held.length);
    let buf = data;
    if (held) {
      buf = new Uint8Array(held.length + data.length);
      buf.set(held);
      buf.set(data, held.length);
    }
    const at = syncPoint(buf);
    if (at >= 0) return this.synced(dir, buf.subarray(at), at);
    // Only the last few bytes are kept, where a packet may start whose rest is still to come: so
    // each byte is looked at a bounded number of times however the stream is cut.
    const tail = buf.slice(Math.max(0, buf.length - SCAN_TAIL));
    this.skipped[dir] += buf.length - tail.length;
    this.scan[dir] = tail;
    if (this.skipped[dir] > SCAN_BUFFER && !this.scanReported[dir]) {
      this.ctx.parseError(`mqtt: no packet start found in ${this.skipped[dir]} bytes; still looking`);
      this.scanReported[dir] = true;
    }
    return null;
  }

  private synced(dir: Direction, from: Uint8Array, skipped: number): Uint8Array {
    this.skipped[dir] += skipped;
    this.scan[dir] = null;
    this.state[dir] = 'synced';
    return from;
  }

  private onPacket(
    dir: Direction,
    byte0: number,
    body: Uint8Array,
    length: number,
    size: number,
    ts: number,
  ) {
    const { packet, error, cut } = parsePacket(byte0, body, length, size, this.version);
    if (this.version === null && revealsV5(packet.type, length)) this.version = '5.0';
    const seen: Seen = { packet, dir, ts, version: this.version };
    const errors: string[] = [];
    if (error) {
      if (!cut) this.ctx.parseError(`mqtt ${packet.name}: ${error}`);
      errors.push(cut ? `not fully read: ${error}` : `malformed ${packet.name}: ${error}`);
    }
    const type = packet.type;
    if (type === PacketType.CONNECT && packet.connect) {
      if (packet.connect.version) {
        this.version = packet.connect.version;
        seen.version = this.version;
      }
      // 5.0 §3.3.2.3.4: Topic Alias mappings last one network connection; a new session starts afresh.
      this.aliases[0].clear();
      this.aliases[1].clear();
      this.ctx.annotate('mqtt', { version: packet.connect.version, clientId: packet.connect.clientId });
    }
    const other: Direction = dir === 0 ? 1 : 0;
    switch (type) {
      case PacketType.CONNECT: {
        const ex: Pending = { kind: 'connect', request: seen, replies: [], errors };
        const before = this.connects[dir];
        if (before) this.emit(before, 'no CONNACK (CONNECT sent again)');
        this.connects[dir] = ex;
        return;
      }
      case PacketType.CONNACK: {
        const ex = this.connects[other];
        this.connects[other] = null;
        this.answer(ex, seen, errors, 'CONNECT');
        return;
      }
      case PacketType.PUBLISH:
        this.publish(seen, errors);
        return;
      case PacketType.PUBACK:
        this.answer(this.claim(other, packet.packetId, 'publish1'), seen, errors, 'PUBLISH');
        return;
      case PacketType.PUBREC: {
        const key = flowKey(other, packet.packetId ?? 0);
        const ex = this.flows.peek(key);
        if (ex?.kind !== 'publish2' || ex.replies.length > 0) {
          this.answer(null, seen, errors, 'PUBLISH');
          return;
        }
        ex.replies.push(seen);
        ex.errors.push(...errors);
        this.flows.grow(key, packet.size);
        // 5.0 §4.3.3: a PUBREC with a failure code ends the flow.
        if ((packet.code ?? 0) >= 0x80) this.emit(this.flows.take(key)!, null);
        return;
      }
      case PacketType.PUBREL: {
        const key = flowKey(dir, packet.packetId ?? 0);
        const ex = this.flows.peek(key);
        if (ex?.kind === 'publish2' && lastType(ex) !== PacketType.PUBREL) {
          // Without a PUBREC the publisher would not release: it was lost (a gap) or never captured.
          if (ex.replies.length === 0) ex.errors.push('PUBREC not seen');
          ex.replies.push(seen);
          ex.errors.push(...errors);
          this.flows.grow(key, packet.size);
          return;
        }
        // The PUBLISH and PUBREC were before the capture (or lost): the flow's tail is an exchange.
        this.track({ kind: 'pubrel', request: seen, replies: [], errors }, dir, packet.packetId);
        return;
      }
      case PacketType.PUBCOMP: {
        const key = flowKey(other, packet.packetId ?? 0);
        const ex = this.flows.peek(key);
        if (ex && (ex.kind === 'pubrel' || (ex.kind === 'publish2' && lastType(ex) === PacketType.PUBREL))) {
          this.flows.take(key);
          ex.replies.push(seen);
          ex.errors.push(...errors);
          this.emit(ex, null);
        } else this.answer(null, seen, errors, 'PUBREL');
        return;
      }
      case PacketType.SUBSCRIBE:
        this.track({ kind: 'subscribe', request: seen, replies: [], errors }, dir, packet.packetId);
        return;
      case PacketType.SUBACK:
        this.answer(this.claim(other, packet.packetId, 'subscribe'), seen, errors, 'SUBSCRIBE');
        return;
      case PacketType.UNSUBSCRIBE:
        this.track({ kind: 'unsubscribe', request: seen, replies: [], errors }, dir, packet.packetId);
        return;
      case PacketType.UNSUBACK:
        this.answer(this.claim(other, packet.packetId, 'unsubscribe'), seen, errors, 'UNSUBSCRIBE');
        return;
      case PacketType.PINGREQ: {
        const q = this.pings[dir];
        if (q.length >= MAX_PINGS) this.emit(q.shift()!, 'no PINGRESP (too many pending)');
        q.push({ kind: 'ping', request: seen, replies: [], errors });
        return;
      }
      case PacketType.PINGRESP:
        this.answer(this.pings[other].shift() ?? null, seen, errors, 'PINGREQ');
        return;
      default:
        // DISCONNECT, AUTH: entries alone.
        this.emit({ kind: 'alone', request: seen, replies: [], errors }, null);
    }
  }

  private publish(seen: Seen, errors: string[]): void {
    const pub = seen.packet.publish!;
    const aliases = this.aliases[seen.dir];
    let topic = pub.topic;
    const alias = pub.properties?.topicAlias;
    if (typeof alias === 'number') {
      // 5.0 §3.3.2.3.4: a topic with an alias sets it; an empty topic uses it.
      if (topic !== '') {
        aliases.delete(alias);
        aliases.set(alias, topic);
        if (aliases.size > MAX_ALIASES) aliases.delete(aliases.keys().next().value!);
      } else {
        const known = aliases.get(alias);
        if (known === undefined) errors.push(`unknown Topic Alias ${alias}`);
        else topic = known;
      }
    }
    if (pub.qos === 0 || pub.packetId === null) {
      this.emit({ kind: 'alone', request: seen, replies: [], topic, errors }, null);
      return;
    }
    const kind = pub.qos === 1 ? 'publish1' : 'publish2';
    this.track({ kind, request: seen, replies: [], topic, errors }, seen.dir, pub.packetId);
  }

  /** Holds a request until its acknowledgement. */
  private track(ex: Pending, dir: Direction, packetId: number | null): void {
    const key = flowKey(dir, packetId ?? 0);
    const { replaced, evicted } = this.flows.add(key, ex, ex.request!.packet.size);
    if (replaced) {
      const again = ex.request?.packet.publish?.dup
        ? ' (sent again with DUP)'
        : ' (packet identifier reused)';
      this.emit(replaced, `${this.missing(replaced)}${again}`);
    }
    for (const e of evicted) this.emit(e, `${this.missing(e)} (too many exchanges pending)`);
  }

  /** Takes the exchange an acknowledgement from `other`'s peer answers, if it is of `kind`. */
  private claim(requester: Direction, packetId: number | null, kind: Kind): Pending | null {
    const key = flowKey(requester, packetId ?? 0);
    const ex = this.flows.peek(key);
    if (!ex || ex.kind !== kind) return null;
    return this.flows.take(key)!;
  }

  /** Completes `ex` with `reply`, or reports `reply` alone when its request was not seen. */
  private answer(ex: Pending | null, reply: Seen, errors: string[], wanted: string): void {
    if (!ex) {
      this.emit({ kind: 'alone', request: null, replies: [reply], errors }, `no ${wanted} seen`);
      return;
    }
    ex.replies.push(reply);
    ex.errors.push(...errors);
    this.emit(ex, null);
  }

  /** What an unanswered exchange lacks. */
  private missing(ex: Pending): string {
    const want: Record<Kind, string> = {
      connect: 'no CONNACK',
      publish1: 'no PUBACK',
      publish2:
        lastType(ex) === PacketType.PUBREC
          ? 'no PUBREL'
          : lastType(ex) === PacketType.PUBREL
            ? 'no PUBCOMP'
            : 'no PUBREC',
      pubrel: 'no PUBCOMP',
      subscribe: 'no SUBACK',
      unsubscribe: 'no UNSUBACK',
      ping: 'no PINGRESP',
      alone: '',
    };
    const req = ex.request;
    // The answer comes from the other side, except a QoS 2 flow's PUBREL, from the publisher.
    const from = req ? (lastType(ex) === PacketType.PUBREC ? req.dir : 1 - req.dir) : 0;
    const gap = req && this.gapTs[from]! >= req.ts ? ' (gap in the stream)' : '';
    return want[ex.kind] + gap;
  }

  private emit(ex: Pending, missing: string | null): void {
    if (missing) ex.errors.unshift(missing);
    this.ctx.emit(buildEntry(ex, this.ends));
  }
}

function lastType(ex: Exchange): number | undefined {
  return ex.replies[ex.replies.length - 1]?.packet.type;
}

/**
 * Whether a direction's first bytes are read from their start: yes when its first packet reads well;
 * no when they do not but a run of packets shows further in (a capture begun mid-stream); and yes
 * again when nothing reads well anywhere but the first bytes are a possible fixed header (a
 * malformed first packet is then reported as such, not skipped in silence).
 */
function startsInStep(data: Uint8Array): boolean {
  const first = run(data, 0);
  if (!first.bad || first.complete > 0) return true;
  if (findRun(data, 1, 2, data.length) >= 0) return false;
  const h = readHeader(data, 0);
  return typeof h === 'object' || h === 'more';
}

/** Shapes only 5.0 has (see parser.ts), which tell the version when the CONNECT was not seen. */
function revealsV5(type: number, length: number): boolean {
  switch (type) {
    case PacketType.CONNACK:
    case PacketType.PUBACK:
    case PacketType.PUBREC:
    case PacketType.PUBREL:
    case PacketType.PUBCOMP:
    case PacketType.UNSUBACK:
      return length > 2;
    case PacketType.DISCONNECT:
      return length > 0;
    case PacketType.AUTH:
      return true;
    default:
      return false;
  }
}
