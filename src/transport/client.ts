/**
 * The agent's side of the stream to the hub (protocol.ts, docs/transport.md): records are
 * serialised as they are handed over, gathered into batches (batchRecords records, maxBatchBytes
 * bytes or batchMs, whichever comes first), queued in the outbox (memory, then the disk spool) and
 * sent over one WebSocket with at most `window` batches waiting for their ack. A lost connection
 * is retried with exponential backoff and jitter; on each welcome the hub says what it already
 * has, and everything after that is sent again.
 *
 * sendEntry and sendConnection never block and never throw: a record that cannot be serialised,
 * or finds no room, is counted as dropped.
 */
import { hostname } from 'node:os';
import { WebSocket } from 'ws';
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';
import { Backoff } from './backoff.js';
import { BatchBuilder } from './batch.js';
import { TransportConfigError } from './errors.js';
import { Outbox } from './outbox.js';
import {
  AGENT_STREAM_PATH,
  CLOSE,
  type HelloMessage,
  isValidAgentId,
  messageText,
  PROTOCOL_VERSION,
  parseHubMessage,
} from './protocol.js';
import { Spool } from './spool.js';

export interface HubClientOptions {
  /** The hub: `http://hub:6676` (the stream's path is added), or a full `ws://.../api/agents/stream`. */
  url: string;
  /** This agent's identity at the hub, stable across restarts (default: the node name). */
  agent?: string;
  node: string;
  token?: string;
  /** Where unacknowledged batches wait (a subdirectory per agent id); none: memory only. */
  spoolDir?: string;
  /** Batches held in memory, in body bytes (default 32 MiB). */
  maxMemoryBytes?: number;
  /** The spool's cap (default 512 MiB); past it the oldest segment is dropped and counted. */
  maxSpoolBytes?: number;
  /** A spool segment file is closed at this size (default 8 MiB, at most an eighth of the cap). */
  segmentBytes?: number;
  /** A batch is sent at this many records (default 1000)... */
  batchRecords?: number;
  /** ...or this many bytes of JSON (default 1 MiB)... */
  maxBatchBytes?: number;
  /** ...or this long after its first record (default 200 ms). */
  batchMs?: number;
  /** Batches sent and not yet acknowledged, at most (default 8). */
  window?: number;
  /** A ping this often; no answer by the next one and the connection is given up (default 10 s). */
  heartbeatMs?: number;
  /** No welcome this long after connecting: give up and retry (default 10 s). */
  connectTimeoutMs?: number;
  /** Reconnect delays: from minBackoffMs doubling up to maxBackoffMs, with jitter (defaults 250 ms, 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Mask frames with a random key (default false: a zero key, which leaves the bytes as they are).
   * See zeroMask below for why that is safe here, and what it saves.
   */
  maskFrames?: boolean;
  log?(message: string): void;
}

export interface HubClientStatus {
  /** Welcomed by the hub and streaming. */
  connected: boolean;
  /** Records handed over and not yet acknowledged (being batched, in memory, spooled, in flight). */
  queuedRecords: number;
  spooledBytes: number;
  /** Batches sent and waiting for their ack. */
  inFlight: number;
  /** Records the hub acknowledged (stored). */
  acked: number;
  /** Records given up: no room in memory or the spool, not serialisable, handed over after close. */
  dropped: number;
  /** Connection attempts after the first. */
  reconnects: number;
  lastError: string | null;
  /** The seq the next batch gets, and the hub's watermark at the last welcome. */
  nextSeq: number;
  watermark: number | null;
  memoryBytes: number;
  /** Why the last record was dropped. */
  lastDrop: string | null;
}

const MiB = 1 << 20;

/**
 * The masking key of every frame the agent sends: all zeros, so that masking (an XOR of every
 * byte, which ws does in JavaScript, byte by byte, without the optional bufferutil addon) costs
 * nothing on either side: 15-20 µs per 5.7 kB entry on the agent and again on the hub, more than
 * the JSON. RFC 6455 §5.3 wants an unpredictable key; the key exists to stop a hostile script in a
 * browser from shaping bytes that a proxy between it and the server takes for HTTP (§10.3). Here
 * the sender is the agent, not a script, and what it sends is ASCII JSON (batch.ts), which cannot
 * hold a CR or LF byte, so no line of it can pass for an HTTP request line or header. Over wss://
 * no intermediary sees the bytes at all. `maskFrames: true` gives random keys back.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** ws:// URL of the stream from what the user gave (--hub). */
export function streamUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TransportConfigError(`the hub URL '${url}' is not a URL (e.g. http://hub.podwire:6676)`);
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
    throw new TransportConfigError(`the hub URL '${url}' must be http://, https://, ws:// or wss://`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = AGENT_STREAM_PATH;
  return u.toString();
}

/** The default agent id: the node name, or this host's, made fit for an id (protocol.ts). */
export function defaultAgentId(node: string = hostname()): string {
  const id = node.replace(/[^A-Za-z0-9._:@-]/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (id || 'agent').slice(0, 253);
}

/** What a close code and reason mean to the agent's operator. */
function describeClose(code: number, reason: string): string {
  const why = reason ? `: ${reason}` : '';
  switch (code) {
    case CLOSE.unauthorized:
      return `the hub refused the token${why}`;
    case CLOSE.badVersion:
      return `the hub does not speak this agent's protocol${why}`;
    case CLOSE.protocolError:
      return `the hub closed the stream for a protocol error${why}`;
    case CLOSE.replaced:
      return `another connection with this agent id took over${why}`;
    case CLOSE.goingAway:
      return `the hub is going away${why}`;
    case CLOSE.internalError:
      return `the hub could not store a batch${why}`;
    case 1006:
      return 'the connection to the hub was lost';
    default:
      return `the hub closed the stream (${code})${why}`;
  }
}

export class HubClient {
  readonly url: string;
  readonly agent: string;
  private readonly outbox: Outbox;
  private readonly backoff: Backoff;
  private readonly o: Required<Omit<HubClientOptions, 'token' | 'spoolDir' | 'log' | 'agent'>>;
  private readonly batch: BatchBuilder;
  private readonly log: (message: string) => void;

  private ws: WebSocket | null = null;
  private ready = false;
  private alive = false;
  private started = false;
  private stopping = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private helloTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private batchTimer: NodeJS.Timeout | null = null;
  private attempts = 0;
  private reconnects = 0;
  /** The current connection already reported why it failed (its close says less). */
  private erred = false;
  private watermark: number | null = null;
  private lastError: string | null = null;
  private lastLogged: string | null = null;
  private droppedLogged = 0;
  /** Records that could not be serialised or came after close (the outbox counts the rest). */
  private refused = 0;
  private drained: (() => void) | null = null;
  private closing: Promise<{ unacked: number }> | null = null;

  constructor(private readonly options: HubClientOptions) {
    this.url = streamUrl(options.url);
    this.agent = options.agent ?? defaultAgentId(options.node);
    if (!isValidAgentId(this.agent))
      throw new TransportConfigError(
        `the agent id '${this.agent}' must be 1-253 characters of A-Z a-z 0-9 . _ : @ - (starting with a letter or digit)`,
      );
    const maxSpoolBytes = options.maxSpoolBytes ?? 512 * MiB;
    this.o = {
      url: options.url,
      node: options.node,
      maxMemoryBytes: options.maxMemoryBytes ?? 32 * MiB,
      maxSpoolBytes,
      segmentBytes: Math.max(
        64 << 10,
        Math.min(options.segmentBytes ?? 8 * MiB, Math.floor(maxSpoolBytes / 8)),
      ),
      batchRecords: Math.max(1, options.batchRecords ?? 1000),
      maxBatchBytes: Math.max(1024, options.maxBatchBytes ?? MiB),
      batchMs: Math.max(1, options.batchMs ?? 200),
      window: Math.max(1, options.window ?? 8),
      heartbeatMs: options.heartbeatMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      maskFrames: options.maskFrames ?? false,
    };
    this.batch = new BatchBuilder(this.o.maxBatchBytes);
    this.log = options.log ?? (() => {});
    this.backoff = new Backoff(this.o.minBackoffMs, this.o.maxBackoffMs);
    let spool: Spool | null = null;
    if (options.spoolDir !== undefined) {
      const opened = Spool.open(options.spoolDir, this.agent, this.o.segmentBytes);
      spool = opened.spool;
      const queued = spool.segments.reduce((n, s) => n + s.records, 0);
      if (queued) this.log(`spool ${spool.dir}: ${queued} records from an earlier run wait for the hub`);
      if (opened.recovered.lostBatches)
        this.log(
          `spool ${spool.dir}: cut a torn batch (${opened.recovered.lostBytes} bytes) left by a crash`,
        );
    }
    this.outbox = new Outbox({
      maxMemoryBytes: this.o.maxMemoryBytes,
      maxSpoolBytes: this.o.maxSpoolBytes,
      spool,
      log: this.log,
      release: (room) => this.batch.recycle(room),
    });
  }

  /** Connects, and keeps reconnecting until close(). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.heartbeat = setInterval(() => this.tick(), this.o.heartbeatMs);
    this.heartbeat.unref();
    this.connect();
  }

  /**
   * Queues an entry; never blocks, never throws. Extra fields (the agent's `interface`) travel as
   * they are: the record is serialised now, so later changes to the object are not seen.
   */
  sendEntry<T extends Entry>(e: T): void {
    this.add(e, 'entry');
  }

  sendConnection<T extends ConnectionRecord>(c: T): void {
    this.add(c, 'connection');
  }

  private add(record: unknown, kind: 'entry' | 'connection'): void {
    if (this.closed) {
      this.refuse('handed over after close');
      return;
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(record);
    } catch (err) {
      this.refuse(`not serialisable: ${(err as Error).message}`);
      return;
    }
    if (typeof text !== 'string') {
      this.refuse('not serialisable');
      return;
    }
    const batch = this.batch;
    // A batch stays within maxBatchBytes (the hub's limit on a message is far above it) unless a
    // single record is larger.
    if (batch.records > 0 && batch.bytes + text.length + 1 > this.o.maxBatchBytes) this.seal();
    batch.add(kind, text);
    if (batch.records >= this.o.batchRecords || batch.bytes >= this.o.maxBatchBytes) this.seal();
    else if (!this.batchTimer) {
      this.batchTimer = setTimeout(() => {
        this.batchTimer = null;
        this.seal();
      }, this.o.batchMs);
      this.batchTimer.unref();
    }
  }

  private refuse(why: string): void {
    this.refused++;
    this.lastError = `record dropped: ${why}`;
  }

  /** Closes the open batch and queues it. */
  private seal(): void {
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = null;
    }
    const sealed = this.batch.seal();
    if (!sealed) return;
    this.outbox.push(sealed.room, sealed.records, sealed.retained);
    this.pump();
  }

  /** Sends queued batches while the window has room. */
  private pump(): void {
    const ws = this.ws;
    if (!ws || !this.ready) return;
    while (this.outbox.inFlight < this.o.window) {
      const b = this.outbox.next();
      if (!b) break;
      // A text message (RFC 6455 §5.6): the bytes are ASCII JSON.
      ws.send(b.frame, { binary: false });
    }
  }

  // --- the connection ------------------------------------------------------------------------------

  private connect(): void {
    this.reconnectTimer = null;
    if (this.stopping) return;
    if (this.attempts++ > 0) this.reconnects++;
    const ws = new WebSocket(this.url, {
      headers: this.options.token !== undefined ? { authorization: `Bearer ${this.options.token}` } : {},
      handshakeTimeout: this.o.connectTimeoutMs,
      // The hub sends only welcomes and acks.
      maxPayload: 1 << 16,
      // Compressing 1 MiB batches would cost more CPU than the loopback or LAN saves.
      perMessageDeflate: false,
      ...(this.o.maskFrames ? {} : { generateMask: zeroMask }),
    });
    this.ws = ws;
    this.alive = true;
    this.erred = false;
    ws.on('open', () => {
      const hello: HelloMessage = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        agent: this.agent,
        node: this.o.node,
        ...(this.options.token !== undefined ? { token: this.options.token } : {}),
      };
      ws.send(JSON.stringify(hello));
    });
    this.helloTimer = setTimeout(() => {
      if (this.ws === ws && !this.ready) {
        this.erred = true;
        this.fail(`no welcome from ${this.url} within ${this.o.connectTimeoutMs} ms`);
        ws.terminate();
      }
    }, this.o.connectTimeoutMs);
    this.helloTimer.unref();
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (this.ws !== ws) return;
      this.alive = true;
      const text = messageText(data);
      this.onMessage(ws, text);
    });
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('ping', () => {
      this.alive = true;
    });
    ws.on('error', (err: Error) => {
      if (this.ws !== ws) return;
      const hint = /\b401\b/.test(err.message)
        ? ' (the hub wants a valid token: --token-file or $PODWIRE_TOKEN)'
        : '';
      this.erred = true;
      this.fail(`cannot stream to ${this.url}: ${err.message}${hint}`);
    });
    ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString()));
  }

  private onMessage(ws: WebSocket, text: string): void {
    const m = parseHubMessage(text);
    if ('error' in m) {
      this.erred = true;
      this.fail(`the hub sent something this agent does not understand: ${m.error}`);
      ws.close(CLOSE.protocolError, 'unexpected message');
      return;
    }
    if (m.type === 'welcome') {
      if (this.ready) return;
      if (this.helloTimer) clearTimeout(this.helloTimer);
      this.helloTimer = null;
      const lastSeq = this.outbox.nextSeq - 1;
      const { released, rebased } = this.outbox.welcome(m.watermark);
      this.watermark = m.watermark;
      this.ready = true;
      this.backoff.reset();
      this.lastError = null;
      this.lastLogged = null;
      if (rebased)
        this.log(
          `the hub already has seqs up to ${m.watermark} for agent '${this.agent}', beyond this agent's ${lastSeq}` +
            (this.options.spoolDir === undefined
              ? ' (without a spool, seqs start again at each run)'
              : ' (its spool was lost, or another agent uses this id)') +
            ': queued batches are renumbered after it',
        );
      this.log(
        `streaming to ${this.url} as '${this.agent}': the hub has up to seq ${m.watermark}` +
          (released ? `, ${released} records it stored before were released` : '') +
          `; ${this.outbox.queuedRecords} records to send`,
      );
      this.pump();
      return;
    }
    if (!this.ready) return;
    this.outbox.ack(m.seq);
    this.pump();
    this.checkDrained();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    this.ready = false;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
    this.outbox.rewind();
    if (this.stopping) return;
    if (!this.erred) this.fail(describeClose(code, reason));
    // A wrong token or version will not fix itself in a second: wait the longest.
    const delay =
      code === CLOSE.unauthorized || code === CLOSE.badVersion || /\b401\b/.test(this.lastError ?? '')
        ? this.o.maxBackoffMs
        : this.backoff.next();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }

  private fail(message: string): void {
    this.lastError = message;
    if (message !== this.lastLogged) {
      this.lastLogged = message;
      this.log(message);
    }
  }

  /** Heartbeat, and news of drops (at most one line per heartbeat). */
  private tick(): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      if (!this.alive) {
        this.erred = true;
        this.fail(`no answer from the hub for ${this.o.heartbeatMs} ms: reconnecting`);
        ws.terminate();
      } else {
        this.alive = false;
        ws.ping();
      }
    }
    const dropped = this.outbox.dropped + this.refused;
    if (dropped > this.droppedLogged) {
      this.log(
        `dropped ${dropped - this.droppedLogged} records (${dropped} in all): ${this.outbox.lastDrop ?? this.lastError}`,
      );
      this.droppedLogged = dropped;
    }
  }

  status(): HubClientStatus {
    return {
      connected: this.ready,
      queuedRecords: this.outbox.queuedRecords + this.batch.records,
      spooledBytes: this.outbox.spooledBytes,
      inFlight: this.outbox.inFlight,
      acked: this.outbox.acked,
      dropped: this.outbox.dropped + this.refused,
      reconnects: this.reconnects,
      lastError: this.lastError,
      nextSeq: this.outbox.nextSeq,
      watermark: this.watermark,
      memoryBytes: this.outbox.memBytes + this.batch.bytes,
      lastDrop: this.outbox.lastDrop,
    };
  }

  private checkDrained(): void {
    if (this.drained && this.outbox.empty) this.drained();
  }

  /**
   * Sends what is being batched and waits up to timeoutMs for every queued batch to be
   * acknowledged; then disconnects and keeps what remains in the spool for the next start.
   */
  close(timeoutMs = 10_000): Promise<{ unacked: number }> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<{ unacked: number }> {
    this.seal();
    if (this.started && !this.outbox.empty) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
        this.checkDrained();
      });
      this.drained = null;
    }
    this.closed = true;
    this.stopping = true;
    for (const t of [this.reconnectTimer, this.helloTimer, this.batchTimer]) if (t) clearTimeout(t);
    if (this.heartbeat) clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'agent stopping');
      else ws.terminate();
    }
    const { unacked, lost } = this.outbox.persist();
    if (lost) this.log(`${lost} unacknowledged records are lost (no spool, or no room in it)`);
    return { unacked };
  }
}
