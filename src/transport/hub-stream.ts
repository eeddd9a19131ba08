/**
 * The hub's side of the agent stream (protocol.ts, docs/transport.md): a WebSocket route on a
 * fastify app (@fastify/websocket registered before). Each connection is one agent session; its
 * messages are handled one after the other, and a batch is acknowledged only once the target has
 * stored it (IngestTarget.ingest returned), so an ack is a promise the records survive a kill.
 *
 * Many agents at once; one session per agent id: a newer connection with the same id wins (an
 * agent restarted before its old socket was seen dead), the older is closed, and the newer is
 * welcomed only after the older's last batch is stored, so its watermark is current.
 *
 * Storing is synchronous (better-sqlite3) and a 1 MiB batch takes milliseconds to parse and store,
 * so messages are not handled as they arrive: each session queues its raw messages, and one
 * scheduler (Turns) handles them round robin, one message per session at a time, giving the event
 * loop back between turns. Agents share the hub evenly whatever the size of their batches, and
 * sockets, pings and API requests are served in between.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';
import {
  AGENT_STREAM_PATH,
  type BatchMessage,
  CLOSE,
  closeReason,
  type HelloMessage,
  PROTOCOL_VERSION,
  parseAgentMessage,
  utf8Text,
} from './protocol.js';
import { type CheckedRecords, checkRecords } from './records.js';
import { Turns } from './turns.js';

/** Where the hub's agent stream stores what arrives (the hub's Store, src/store). */
export interface IngestTarget {
  /**
   * Durably stores the batch (entries and connections) and the agent's watermark = seq in one
   * transaction; returns false for a replay already stored (seq ≤ the stored watermark).
   * A throw (or a rejected promise) means nothing was stored: the batch is not acknowledged and
   * the agent sends it again after reconnecting.
   */
  ingest(
    source: { agent: string; seq: number },
    entries: readonly Entry[],
    connections: readonly ConnectionRecord[],
  ): boolean | Promise<boolean>;
  /** The last seq stored for the agent; 0 when none. */
  watermark(agent: string): number;
}

export interface AgentStreamOptions {
  target: IngestTarget;
  /** When set, each agent must present it (hello's token, or the upgrade's Authorization: Bearer). */
  token?: string;
  /** Called after a batch was stored (not for replays): live feed, metrics. */
  onBatch?(agent: string, entries: readonly Entry[], connections: readonly ConnectionRecord[]): void;
  log?(message: string): void;
  /** A ping to every agent this often; no pong by the next and the connection is dropped (default 10 s). */
  heartbeatMs?: number;
  /** Time an agent has to say hello (default 10 s). */
  helloTimeoutMs?: number;
  /**
   * Batches received and not yet handled, per agent, past which the socket stops being read (TCP
   * backpressure), until they are down to a quarter. An agent keeps its window below it
   * (HubClient's default window is 8). Default 32.
   */
  maxQueuedBatches?: number;
  /** The same in bytes of messages waiting (default 32 MiB: a window of 8 batches of 1 MiB is 8 MiB). */
  maxQueuedBytes?: number;
  /**
   * How long one turn of the scheduler may go on handling messages before it gives the event loop
   * back (default 10 ms). A turn handles at least one message, so a large batch is one turn.
   */
  turnMs?: number;
}

export interface AgentConnectionStatus {
  agent: string;
  node: string;
  /** The agent's address as the hub sees it. */
  remote: string;
  /** Epoch milliseconds. */
  connectedAt: number;
  /** The last seq stored for this agent. */
  watermark: number;
  batches: number;
  entries: number;
  connections: number;
  /** Batches sent again that the store already had. */
  replays: number;
  /** Records that were not an entry or a connection record (records.ts), not stored. */
  rejected: number;
  lastProblem: string | null;
  /** Epoch milliseconds of the last batch, or null. */
  lastBatchAt: number | null;
}

export interface AgentStream {
  /** The agents connected now. */
  agents(): AgentConnectionStatus[];
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length === y.length) return timingSafeEqual(x, y);
  // timingSafeEqual needs equal lengths; comparing y with itself keeps the time independent of a.
  timingSafeEqual(y, y);
  return false;
}

function bearer(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] ?? null) : null;
}

interface Shared {
  options: AgentStreamOptions;
  /** Sessions past hello, by agent id. */
  byAgent: Map<string, AgentSession>;
  turns: Turns<AgentSession>;
  log: (message: string) => void;
}

const EMPTY = Buffer.alloc(0);

class AgentSession {
  state: 'hello' | 'ready' | 'closed' = 'hello';
  alive = true;
  readonly status: AgentConnectionStatus;
  /** Messages received and not yet handled, oldest first (from `head`), and their bytes. */
  private readonly inbox: Buffer[] = [];
  private head = 0;
  private inboxBytes = 0;
  /** In the scheduler's queue. */
  private waiting = false;
  /** A message being handled that awaits the target (an asynchronous ingest); null when none. */
  current: Promise<void> | null = null;
  /** The socket is not read (too many batches waiting): pongs wait too, so no heartbeat verdict. */
  paused = false;
  private lastSeq = 0;
  private readonly helloTimer: NodeJS.Timeout;
  private readonly maxQueued: number;
  private readonly maxQueuedBytes: number;

  constructor(
    readonly socket: WebSocket,
    remote: string,
    private readonly headerToken: string | null,
    private readonly shared: Shared,
  ) {
    this.status = {
      agent: '',
      node: '',
      remote,
      connectedAt: Date.now(),
      watermark: 0,
      batches: 0,
      entries: 0,
      connections: 0,
      replays: 0,
      rejected: 0,
      lastProblem: null,
      lastBatchAt: null,
    };
    this.maxQueued = shared.options.maxQueuedBatches ?? 32;
    this.maxQueuedBytes = shared.options.maxQueuedBytes ?? 32 << 20;
    const helloMs = shared.options.helloTimeoutMs ?? 10_000;
    this.helloTimer = setTimeout(() => {
      if (this.state === 'hello') this.close(CLOSE.helloTimeout, `no hello within ${helloMs} ms`);
    }, helloMs);
    this.helloTimer.unref();
    // Handlers are attached at once: a message arriving before them would be lost (@fastify/websocket).
    socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => this.receive(data));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', (code: number) => this.closed(code));
    socket.on('error', (err: Error) => this.shared.log(`agent stream from ${remote}: ${err.message}`));
  }

  /** Queues a message as it came (decoded and parsed only in its turn). */
  private receive(data: Buffer | ArrayBuffer | Buffer[]): void {
    this.alive = true;
    if (this.state === 'closed') return;
    const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    this.inbox.push(raw);
    this.inboxBytes += raw.length;
    if (
      !this.paused &&
      (this.inbox.length - this.head >= this.maxQueued || this.inboxBytes >= this.maxQueuedBytes)
    ) {
      this.paused = true;
      this.socket.pause();
    }
    this.ready();
  }

  /** Asks for a turn when a message waits and none is being handled. */
  private ready(): void {
    if (this.waiting || this.current || this.head >= this.inbox.length || this.state === 'closed') return;
    this.waiting = true;
    this.shared.turns.wake(this);
  }

  /** The scheduler's turn: handles the oldest queued message. */
  step(): void {
    this.waiting = false;
    if (this.state === 'closed') return;
    const raw = this.inbox[this.head];
    if (!raw) return;
    this.inbox[this.head++] = EMPTY;
    this.inboxBytes -= raw.length;
    if (this.head > 64 && this.head * 2 > this.inbox.length) {
      this.inbox.splice(0, this.head);
      this.head = 0;
    }
    let pending: void | Promise<void>;
    try {
      pending = this.handle(raw);
    } catch (err) {
      this.failed(err);
      return;
    }
    if (pending) {
      this.current = pending
        .catch((err: unknown) => this.failed(err))
        .finally(() => {
          this.current = null;
          this.done();
        });
      return;
    }
    this.done();
  }

  /** After a message: reads the socket again once the queue is down to a quarter, and asks for the next turn. */
  private done(): void {
    const queued = this.inbox.length - this.head;
    if (this.paused && queued <= this.maxQueued / 4 && this.inboxBytes <= this.maxQueuedBytes / 4) {
      this.paused = false;
      this.socket.resume();
    }
    this.ready();
  }

  /** Only the target (ingest, watermark) throws: nothing was stored, nothing is acknowledged. */
  private failed(err: unknown): void {
    const msg = (err as Error)?.message ?? String(err);
    this.shared.log(`agent ${this.status.agent}: cannot store a batch: ${msg}`);
    this.close(CLOSE.internalError, `cannot store the batch: ${msg}`);
  }

  private handle(raw: Buffer): void | Promise<void> {
    // Our agents send ASCII (batch.ts), which decodes and parses fastest; any UTF-8 is read right.
    const m = parseAgentMessage(utf8Text(raw));
    if ('error' in m) {
      this.close(CLOSE.protocolError, m.error);
      return;
    }
    if (m.type === 'hello') return this.hello(m);
    return this.batch(m);
  }

  private hello(m: HelloMessage): void | Promise<void> {
    if (this.state !== 'hello') {
      this.close(CLOSE.protocolError, 'hello sent twice');
      return;
    }
    clearTimeout(this.helloTimer);
    if (m.version !== PROTOCOL_VERSION) {
      this.close(
        CLOSE.badVersion,
        `this hub speaks protocol version ${PROTOCOL_VERSION}, the agent ${m.version}: run the same podwire release on both`,
      );
      return;
    }
    const token = this.shared.options.token;
    if (token !== undefined) {
      const presented = [m.token, this.headerToken].filter((t): t is string => typeof t === 'string');
      if (!presented.some((t) => sameSecret(t, token))) {
        this.close(
          CLOSE.unauthorized,
          presented.length
            ? 'the token is not this hub’s'
            : 'this hub needs a token (hello.token or Authorization: Bearer)',
        );
        return;
      }
    }
    this.status.agent = m.agent;
    this.status.node = m.node;
    const { byAgent, log } = this.shared;
    const older = byAgent.get(m.agent);
    byAgent.set(m.agent, this);
    if (older) {
      log(
        `agent ${m.agent}: a new connection from ${this.status.remote} replaces the one from ${older.status.remote}`,
      );
      older.close(CLOSE.replaced, `replaced by a newer connection of agent ${m.agent}`);
      // Its batch being stored, if any, finishes first: the welcome's watermark must include it.
      if (older.current) return older.current.then(() => this.welcome(m));
    }
    this.welcome(m);
  }

  private welcome(m: HelloMessage): void {
    if (this.gone) return; // closed (replaced again, or gone) while the older one finished
    this.status.watermark = this.shared.options.target.watermark(m.agent);
    this.state = 'ready';
    this.socket.send(
      JSON.stringify({ type: 'welcome', version: PROTOCOL_VERSION, watermark: this.status.watermark }),
    );
    this.shared.log(
      `agent ${m.agent} (node ${m.node}) connected from ${this.status.remote}; stored up to seq ${this.status.watermark}`,
    );
  }

  private batch(m: BatchMessage): void | Promise<void> {
    if (this.state !== 'ready') {
      this.close(CLOSE.protocolError, 'batch before hello');
      return;
    }
    if (m.seq <= this.lastSeq) {
      this.close(CLOSE.protocolError, `batch seq ${m.seq} after ${this.lastSeq}: seqs must grow`);
      return;
    }
    this.lastSeq = m.seq;
    const s = this.status;
    s.lastBatchAt = Date.now();
    if (m.seq <= s.watermark) {
      // Sent again after a lost ack: stored already.
      s.replays++;
      this.ack(m.seq);
      return;
    }
    const checked = checkRecords(m.entries, m.connections);
    if (checked.rejected) {
      s.rejected += checked.rejected;
      if (s.lastProblem === null)
        this.shared.log(
          `agent ${s.agent}: ${checked.rejected} records rejected in batch ${m.seq}: ${checked.firstProblem}`,
        );
      s.lastProblem = checked.firstProblem;
    }
    const result = this.shared.options.target.ingest(
      { agent: s.agent, seq: m.seq },
      checked.entries,
      checked.connections,
    );
    if (typeof result === 'boolean') this.stored(m.seq, checked, result);
    else return result.then((stored) => this.stored(m.seq, checked, stored));
  }

  private stored(seq: number, checked: CheckedRecords, stored: boolean): void {
    const s = this.status;
    s.watermark = seq;
    if (stored) {
      s.batches++;
      s.entries += checked.entries.length;
      s.connections += checked.connections.length;
      try {
        this.shared.options.onBatch?.(s.agent, checked.entries, checked.connections);
      } catch (err) {
        // Stored is stored: a failing live feed must not cost the agent its ack.
        this.shared.log(`agent ${s.agent}: onBatch: ${(err as Error).message}`);
      }
    } else s.replays++;
    if (this.gone) return;
    this.ack(seq);
  }

  /** A getter, so that TypeScript does not narrow `state` across an await. */
  get gone(): boolean {
    return this.state === 'closed';
  }

  private ack(seq: number): void {
    this.socket.send(`{"type":"ack","seq":${seq}}`);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    if (code !== CLOSE.replaced && code !== CLOSE.goingAway)
      this.shared.log(
        `agent ${this.status.agent || `from ${this.status.remote}`}: closing (${code}): ${reason}`,
      );
    this.state = 'closed';
    this.forget();
    this.socket.close(code, closeReason(reason));
  }

  private closed(code: number): void {
    if (this.state !== 'closed' && this.status.agent)
      this.shared.log(
        `agent ${this.status.agent} disconnected (${code}) after ${this.status.batches} batches, ${this.status.entries} entries`,
      );
    this.state = 'closed';
    this.forget();
  }

  private forget(): void {
    clearTimeout(this.helloTimer);
    // What was queued is not handled any more (step checks the state): let it go now.
    this.inbox.length = 0;
    this.head = 0;
    this.inboxBytes = 0;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    const { byAgent } = this.shared;
    if (byAgent.get(this.status.agent) === this) byAgent.delete(this.status.agent);
  }
}

/**
 * Mounts the agent stream at AGENT_STREAM_PATH on `app`, which must have @fastify/websocket
 * registered. Returns the status of the agents connected.
 */
export function registerAgentStream(app: FastifyInstance, options: AgentStreamOptions): AgentStream {
  if (!app.hasDecorator('websocketServer'))
    throw new Error('registerAgentStream needs @fastify/websocket registered on the app first');
  const log = options.log ?? (() => {});
  const shared: Shared = {
    options,
    byAgent: new Map(),
    turns: new Turns<AgentSession>(options.turnMs ?? 10),
    log,
  };
  const sessions = new Set<AgentSession>();
  app.get(AGENT_STREAM_PATH, { websocket: true }, (socket, req) => {
    const s = new AgentSession(
      socket,
      req.socket.remoteAddress ?? 'unknown',
      bearer(req.headers.authorization),
      shared,
    );
    sessions.add(s);
    socket.on('close', () => sessions.delete(s));
  });
  const heartbeat = setInterval(() => {
    for (const s of sessions) {
      if (s.paused) continue;
      if (!s.alive) {
        log(
          `agent ${s.status.agent || `from ${s.status.remote}`}: no pong within a heartbeat, dropping the connection`,
        );
        s.socket.terminate();
        continue;
      }
      s.alive = false;
      s.socket.ping();
    }
  }, options.heartbeatMs ?? 10_000);
  heartbeat.unref();
  app.addHook('onClose', async () => clearInterval(heartbeat));
  return {
    agents: () =>
      [...shared.byAgent.values()].filter((s) => s.state === 'ready').map((s) => ({ ...s.status })),
  };
}
