/**
 * Protocol detection and routing: the StreamConsumer that reassembly feeds for each connection. It
 * holds the first bytes of each direction (bounded) until a dissector's `detect` claims the stream,
 * then replays them, in arrival order, into that dissector's session and streams the rest straight
 * through. Ports only order the candidates (STYLE.md: no trial parses); decode-as rules force a
 * protocol on a port without detection, as tshark's `-d` does.
 */
import type { Connection } from '../flows/connection.js';
import type { Direction, StreamConsumer, StreamConsumerFactory } from '../flows/stream.js';
import type { EntryFields, SessionContext, TcpDissector, TcpSession } from './dissector.js';
import type { Entry, EntryEndpoint, Protocol } from './entry.js';

/** Bytes held per direction while detecting; past this the stream is left undissected. */
export const MAX_DETECT_BYTES = 8192;

export interface L7Summary {
  protocol: Protocol | null;
  entries: number;
  parseErrors: number;
  /** The first few parse errors, for the record. */
  errorSamples: string[];
  [annotation: string]: unknown;
}

export interface RouterOptions {
  dissectors: readonly TcpDissector[];
  /** Port -> dissector name forced on connections to (or from) that port. */
  decodeAs?: ReadonlyMap<number, string>;
  /** False: no one reads the entries' request and response (SessionContext.detail). Default true. */
  detail?: boolean;
  onEntry(entry: Entry): void;
  /** Called for each parse error, so the pipeline can count them by protocol. */
  onParseError?(protocol: Protocol, detail: string): void;
  /**
   * Called when a session throws. The throw is a bug, never the input's fault, but one connection's
   * bytes must not stop the capture: the connection is no longer dissected and the run goes on.
   */
  onException?(protocol: Protocol, error: unknown): void;
}

/**
 * A latency below zero is no latency: the response's first byte was delivered before its request's
 * (a request whose start was lost, a capture whose two directions disagree on time). The entry
 * keeps its data, loses the number, and says why, rather than show a negative duration.
 */
export function checkedTiming<T extends { elapsedMs: number | null; error: string | null }>(e: T): T {
  if (e.elapsedMs === null || e.elapsedMs >= 0) return e;
  return { ...e, elapsedMs: null, error: negativeLatencyError(e.error) };
}

function negativeLatencyError(error: string | null): string {
  const note = 'response seen before its request: no latency';
  return error ? `${error}; ${note}` : note;
}

export class DissectorRouter implements StreamConsumerFactory {
  constructor(readonly options: RouterOptions) {}

  create(conn: Connection): StreamConsumer {
    return new ConnectionDissection(conn, this.options);
  }
}

interface Held {
  dir: Direction;
  data: Uint8Array;
  ts: number;
}

class ConnectionDissection implements StreamConsumer, SessionContext {
  readonly connectionId: number;
  readonly client: EntryEndpoint;
  readonly server: EntryEndpoint;
  readonly summary: L7Summary = { protocol: null, entries: 0, parseErrors: 0, errorSamples: [] };
  readonly detail: boolean;
  private session: TcpSession | null = null;
  private dissector: TcpDissector | null = null;
  /** Candidates still in the running, best first; null once decided. */
  private candidates: TcpDissector[] | null;
  private held: Held[] = [];
  private heldBytes: [number, number] = [0, 0];
  /** Bytes that arrived past MAX_DETECT_BYTES while detecting: a gap for the session that wins. */
  private dropped: [number, number] = [0, 0];
  private entrySeq = 0;
  /** `<connectionId>-`, the start of every entry id of this connection. */
  private readonly idPrefix: string;

  constructor(
    conn: Connection,
    private readonly options: RouterOptions,
  ) {
    this.connectionId = conn.id;
    this.idPrefix = `${conn.id}-`;
    this.detail = options.detail !== false;
    this.client = { ip: conn.srcIp(), port: conn.srcPort };
    this.server = { ip: conn.dstIp(), port: conn.dstPort };
    const forced = options.decodeAs?.get(conn.dstPort) ?? options.decodeAs?.get(conn.srcPort);
    const byPort = (d: TcpDissector) => d.ports.includes(conn.dstPort) || d.ports.includes(conn.srcPort);
    if (forced) {
      const d = options.dissectors.find((x) => x.name === forced);
      this.candidates = null;
      if (d) this.start(d);
    } else {
      this.candidates = [
        ...options.dissectors.filter(byPort),
        ...options.dissectors.filter((d) => !byPort(d)),
      ];
    }
  }

  // SessionContext

  /** Returns the entry's id, so a session can link later entries to it (WebSocket to its upgrade). */
  emit(e: EntryFields | Entry): string {
    this.summary.entries++;
    const id = this.idPrefix + ++this.entrySeq;
    if ((e as Partial<Entry>).type === 'entry') {
      // A whole entry (SessionContext.emit): completed in place, checkedTiming's rule included.
      const entry = e as Entry;
      entry.id = id;
      entry.connectionId = this.connectionId;
      if (entry.elapsedMs !== null && entry.elapsedMs < 0) {
        entry.elapsedMs = null;
        entry.error = negativeLatencyError(entry.error);
      }
      this.options.onEntry(entry);
      return id;
    }
    this.options.onEntry({
      type: 'entry',
      id,
      connectionId: this.connectionId,
      ...checkedTiming(e),
      src: e.src ?? this.client,
      dst: e.dst ?? this.server,
    } as Entry);
    return id;
  }

  parseError(detail: string): void {
    this.summary.parseErrors++;
    if (this.summary.errorSamples.length < 3) this.summary.errorSamples.push(detail);
    if (this.dissector) this.options.onParseError?.(this.dissector.protocol, detail);
  }

  annotate(key: string, value: unknown): void {
    this.summary[key] = value;
  }

  switchTo(name: string): TcpSession | null {
    const d = this.options.dissectors.find((x) => x.name === name);
    if (!d) return null;
    const previous = this.summary.protocol;
    this.dissector = d;
    this.session = d.createSession(this);
    if (previous && previous !== d.protocol) this.summary.upgradedTo = d.protocol;
    return this.session;
  }

  // StreamConsumer

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.session) {
      try {
        this.session.onData(dir, data, ts);
      } catch (err) {
        this.contain(err);
      }
      return;
    }
    if (!this.candidates) return; // undissectable: nothing claimed it
    const room = MAX_DETECT_BYTES - this.heldBytes[dir];
    if (room <= 0) {
      this.dropped[dir] += data.length;
      return;
    }
    // Held bytes outlive the capture buffer, so they are copied (bounded by MAX_DETECT_BYTES).
    this.held.push({ dir, data: new Uint8Array(data.subarray(0, room)), ts });
    this.heldBytes[dir] += Math.min(data.length, room);
    if (data.length > room) this.dropped[dir] += data.length - room;
    const first = this.firstBytes(dir);
    const still: TcpDissector[] = [];
    for (const d of this.candidates) {
      const verdict = d.detect(dir, first);
      if (verdict === 'yes') {
        try {
          this.start(d);
        } catch (err) {
          this.contain(err);
        }
        return;
      }
      if (verdict === 'more') still.push(d);
    }
    this.candidates = still;
    if (
      still.length === 0 ||
      (this.heldBytes[0] >= MAX_DETECT_BYTES && this.heldBytes[1] >= MAX_DETECT_BYTES)
    ) {
      this.giveUp();
    }
  }

  onGap(dir: Direction, bytes: number, ts: number): void {
    if (this.session) {
      try {
        this.session.onGap(dir, bytes, ts);
      } catch (err) {
        this.contain(err);
      }
      return;
    }
    // A gap while detecting: what was held in that direction no longer starts a message, drop it.
    this.held = this.held.filter((h) => h.dir !== dir);
    this.heldBytes[dir] = 0;
    this.dropped[dir] = 0;
  }

  onEnd(dir: Direction, ts: number): void {
    try {
      this.session?.onEnd(dir, ts);
    } catch (err) {
      this.contain(err);
    }
  }

  onClose(conn: Connection): void {
    try {
      this.session?.onClose(conn.lastTs);
    } catch (err) {
      this.contain(err);
    }
    this.held = [];
    if (this.summary.protocol || this.summary.parseErrors) conn.l7 = this.summary as Record<string, unknown>;
  }

  private firstBytes(dir: Direction): Uint8Array {
    const parts = this.held.filter((h) => h.dir === dir);
    if (parts.length === 1) return parts[0]!.data;
    return Buffer.concat(parts.map((p) => p.data));
  }

  private start(d: TcpDissector): void {
    this.dissector = d;
    this.candidates = null;
    this.summary.protocol = d.protocol;
    this.session = d.createSession(this);
    const held = this.held;
    this.held = [];
    for (const h of held) this.session.onData(h.dir, h.data, h.ts);
    const last = held[held.length - 1]?.ts ?? 0;
    for (const dir of [0, 1] as const)
      if (this.dropped[dir]) this.session.onGap(dir, this.dropped[dir], last);
  }

  /** A session threw: count it (as a parse error too, so it shows on the connection) and stop. */
  private contain(err: unknown): void {
    const protocol = this.dissector?.protocol ?? this.summary.protocol;
    const message = err instanceof Error ? err.message : String(err);
    this.parseError(`dissector exception: ${message}`);
    if (protocol) this.options.onException?.(protocol, err);
    this.session = null;
    this.giveUp();
  }

  private giveUp(): void {
    this.candidates = null;
    this.held = [];
  }
}
