/**
 * The dissector contract (STYLE.md): static info, a cheap stateless `detect` on the first bytes of a
 * direction, and a per-connection session that gets each direction's bytes in order and emits
 * entries. Ports are hints that order detection; a user can force a protocol on a port (decode-as).
 */
import type { Direction } from '../flows/stream.js';
import type { Entry, EntryEndpoint, Protocol } from './entry.js';

export type Detection = 'yes' | 'no' | 'more';

/** `request` and `response` of an entry made without detail (SessionContext.detail): frozen, shared. */
export const NO_DETAIL: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** What a session emits: the entry without what the router fills in (id, connection, endpoints). */
export type EntryFields = Omit<Entry, 'type' | 'id' | 'src' | 'dst' | 'connectionId'> &
  Partial<Pick<Entry, 'src' | 'dst'>>;

/** What a session knows of its connection and how it reports. */
export interface SessionContext {
  readonly connectionId: number;
  /** The connection's opener (client) and server. */
  readonly client: EntryEndpoint;
  readonly server: EntryEndpoint;
  /**
   * False when nothing will read the entries' `request` and `response` (a run that prints totals or
   * the summary columns only): the busiest sessions then leave them as NO_DETAIL (an empty object,
   * null without a response) and skip the work they cost, while every other field is the same.
   * Absent means true.
   */
  readonly detail?: boolean;
  /**
   * Reports an entry: its fields, which the router copies into an Entry with the id, the
   * connection and the endpoints; or, from the busiest sessions, a whole Entry (`type: 'entry'`,
   * its own `src` and `dst`, keys in the order they are to be written), which the router takes as
   * it is, setting `id` and `connectionId` in place: the copy costs more than the rest of a small
   * message's dissection.
   */
  emit(entry: EntryFields | Entry): void;
  /** Counts a parse error on this connection (shown on the connection record and the summary). */
  parseError(detail: string): void;
  /** Attaches a summary to the connection record (e.g. `tls`). */
  annotate(key: string, value: unknown): void;
  /**
   * Hands the rest of the connection to another dissector (HTTP/1.1 Upgrade to WebSocket or h2c,
   * PostgreSQL's SSLRequest answered 'S' then TLS). Returns the new session, to which the caller
   * passes any bytes it already holds past the switch; null when no dissector has that name.
   */
  switchTo(name: string): TcpSession | null;
}

export interface TcpSession {
  /** Bytes of `dir` in order; `data` is valid only during the call. */
  onData(dir: Direction, data: Uint8Array, ts: number): void;
  /** `bytes` of `dir` were lost; the next onData continues after them. */
  onGap(dir: Direction, bytes: number, ts: number): void;
  onEnd(dir: Direction, ts: number): void;
  /** Last call: flush whatever is pending (a request never answered becomes an entry without response). */
  onClose(ts: number): void;
}

export interface TcpDissector {
  /** Unique name, used by decode-as rules: `http1`, `http2`, `tls`, `redis`... */
  readonly name: string;
  /** The protocol of the entries it emits (`http` for both HTTP/1.x and HTTP/2). */
  readonly protocol: Protocol;
  /** Where the protocol is usually served; detection tries a dissector first on its ports. */
  readonly ports: readonly number[];
  /** The specification followed. */
  readonly spec: string;
  /**
   * Looks at the first bytes seen in direction `dir` (0: client to server). Stateless and cheap:
   * 'yes' claims the stream, 'no' rules it out, 'more' asks for more bytes.
   */
  detect(dir: Direction, data: Uint8Array): Detection;
  createSession(ctx: SessionContext): TcpSession;
}

/** What a UDP handler knows and how it reports (one handler per dissector for all datagrams). */
export interface UdpContext {
  emit(entry: Omit<Entry, 'type' | 'id' | 'connectionId'>): void;
  parseError(detail: string): void;
}

export interface UdpHandler {
  /** One datagram; `data` is valid only during the call. */
  onDatagram(src: EntryEndpoint, dst: EntryEndpoint, data: Uint8Array, ts: number): void;
  /** Time passed (capture time): expire what waits too long (a query never answered). */
  tick(ts: number): void;
  /** The source ended: flush everything pending. */
  close(ts: number): void;
}

export interface UdpDissector {
  readonly name: string;
  readonly protocol: Protocol;
  readonly ports: readonly number[];
  readonly spec: string;
  /** Stateless look at one datagram's payload. */
  detect(data: Uint8Array): Detection;
  createHandler(ctx: UdpContext): UdpHandler;
}
