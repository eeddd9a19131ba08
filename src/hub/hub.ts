/**
 * The hub: where entries and connection records from one or many agents are redacted, named,
 * stored, counted into metrics and streamed live, and from where they are searched and graphed.
 *
 *   agents --(src/transport)--> intake: redact -> name -> store (durable, then ack) -> live feed, metrics
 *   embedded agent (podwire start) ------^  (batched the same way, without a socket)
 *   fastify: /api/* (src/hub/api), /nodegraph/*, /tlsparser/* (k8spacket's), /metrics, /healthz
 */

import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Entry } from '../dissect/entry.js';
import type { Enricher } from '../enrich/enricher.js';
import type { ConnectionRecord } from '../flows/connection.js';
import { HubMetrics, type MetricsOptions } from '../metrics/index.js';
import { compileSql, parseQuery, registerSqlFunctions } from '../query/index.js';
import { DEFAULT_RULES, type RedactionRules, redactEntry } from '../redact/index.js';
import { type IngestBatch, Store, type StoreOptions } from '../store/index.js';
import { registerAgentStream } from '../transport/index.js';
import { registerApiRoutes } from './api/index.js';
import { checkExposure, requireToken } from './auth.js';
import { LiveFeed } from './live.js';
import { registerNodeGraphRoutes } from './nodegraph/routes.js';
import { CertificateDialer, type DialerOptions } from './tlsparser/dialer.js';
import { registerTlsParserRoutes } from './tlsparser/routes.js';
import { certificates, clientHello } from './tlsparser/tls.js';

const TLS_ONLY = parseQuery('tls');
/** What the store's reader thread registers on its connection: the query compiler's SQL functions. */
const SQL_SETUP = {
  module: new URL('../query/sql.js', import.meta.url).href,
  export: 'registerSqlFunctions',
};
/** The embedded agent's batches the hub has asked the store to write and not yet heard back of. */
const MAX_FLUSHES_IN_FLIGHT = 16;
/** The embedded agent's records waiting for the store past which new ones are dropped (counted). */
const MAX_PENDING_RECORDS = 200_000;

export interface HubOptions {
  store: StoreOptions;
  host: string;
  /** 0: any free port. */
  port: number;
  /** Required unless `host` is loopback (src/hub/auth.ts). */
  token?: string;
  /** Default: DEFAULT_RULES; null: nothing redacted (`--no-redact`). */
  redaction?: RedactionRules | null;
  /** Names the endpoints of arriving records (Kubernetes identity, outside names); none: left as sent. */
  enricher?: Enricher | null;
  metrics?: MetricsOptions;
  /** The node this hub runs on, for k8spacket's node-only routes (`podwire start`: this host). */
  localNode?: string;
  /** Records of the embedded agent are stored in batches of this many, or after this long. */
  batchRecords?: number;
  batchMs?: number;
  /**
   * kube-netc's `active_connections`: an embedded agent knows its open connections exactly; without
   * one, the connections agents last reported open (long-lived ones, every --open-report).
   */
  activeConnections?: () => number;
  /** How often retention runs (ms). */
  retentionEveryMs?: number;
  /**
   * Dial servers whose TLS handshake showed no certificate (TLS 1.3, resumed sessions) to read it,
   * as k8spacket does (src/hub/tlsparser/dialer.ts); options, or true for the defaults. Off unless set.
   */
  tlsDial?: Partial<DialerOptions> | boolean;
  log?: (message: string) => void;
}

/** Counters of what the hub took in, for its status and logs. */
export interface IntakeStats {
  entries: number;
  connections: number;
  batches: number;
  replays: number;
  /**
   * Records of the embedded agent not stored (logged): the store failed (the disk), or was so far
   * behind that MAX_PENDING_RECORDS were waiting.
   */
  lost: number;
}

export class Hub {
  readonly intake: IntakeStats = { entries: 0, connections: 0, batches: 0, replays: 0, lost: 0 };
  /** The embedded agent's batches being stored, in order (flush()). */
  private flushing: Promise<void> = Promise.resolve();
  private flushesInFlight = 0;
  private lostLoggedAt = 0;
  private pendingEntries: Entry[] = [];
  private pendingConnections: ConnectionRecord[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private agentStatuses: (() => unknown[]) | null = null;
  private closed = false;
  /** `tlsDial`: the certificates of servers the wire did not show. */
  readonly dialer: CertificateDialer | null;

  private constructor(
    readonly options: HubOptions,
    readonly store: Store,
    readonly live: LiveFeed,
    readonly metrics: HubMetrics,
    readonly app: FastifyInstance,
  ) {
    const dial = options.tlsDial;
    this.dialer = dial
      ? new CertificateDialer(dial === true ? {} : dial, (target, cert) => {
          const notAfter = Date.parse(cert.chain[0]?.notAfter ?? '');
          if (!Number.isNaN(notAfter)) metrics.observeDialedCertificate(target, target.domain, notAfter);
        })
      : null;
    const dialer = this.dialer;
    if (dialer) metrics.watchTlsDials(() => dialer.stats());
    this.storeWrites = metrics.watchStore(() => {
      if (this.closed) return null;
      const st = store.stats();
      return {
        entries: st.entries,
        connections: st.connections,
        fileBytes: st.fileBytes,
        dataBytes: st.dataBytes,
        writeFailed: store.writeFailure !== null,
        transactions: st.transactions,
        checkpoints: st.checkpoints,
        intake: this.intake,
      };
    });
  }

  /** Observes each batch's time from store.write() to its commit (podwire_store_write_seconds). */
  private readonly storeWrites: { observeWrite(seconds: number): void };

  /** store.write() of one batch, timed. */
  private async storeBatch(batch: IngestBatch): Promise<boolean | undefined> {
    const t0 = performance.now();
    const [stored] = await this.store.write([batch]);
    this.storeWrites.observeWrite((performance.now() - t0) / 1000);
    return stored;
  }

  /** Opens the store and listens. Throws HubConfigError (bad exposure) or the store's open error. */
  static async start(options: HubOptions): Promise<Hub> {
    checkExposure(options.host, options.token);
    // A file store writes on its own thread: SQLite's half of each ingest runs beside the intake
    // (decoding, redaction, naming, metrics) instead of in turn with it (docs/store.md, "Writer thread").
    const file = options.store.path !== ':memory:';
    const store = Store.open({
      ...options.store,
      writer: options.store.writer ?? (file ? 'thread' : 'inline'),
      // The API's filtered reads on a thread of their own, abandoned past a deadline (src/store/reader.ts).
      ...(file ? { reader: { setup: SQL_SETUP, ...options.store.reader } } : {}),
    });
    registerSqlFunctions(store.db);
    const live = new LiveFeed();
    const metrics = new HubMetrics(options.metrics);
    const app = Fastify({ logger: false, bodyLimit: 1 << 20 });
    const hub = new Hub(options, store, live, metrics, app);
    try {
      await hub.mount();
      await app.listen({ host: options.host, port: options.port });
    } catch (err) {
      await app.close().catch(() => {});
      await store.close();
      throw err;
    }
    hub.every(options.batchMs ?? 200, () => hub.flush());
    let writeFailureLogged = false;
    hub.every(5000, () => {
      const failure = store.writeFailure;
      if (failure && !writeFailureLogged) {
        writeFailureLogged = true;
        hub.log(
          `${failure.message}: nothing more is stored or acknowledged (/readyz says so); restart the hub`,
        );
      }
      metrics.setActiveConnections(options.activeConnections?.() ?? metrics.openConnections);
      metrics.tick(Date.now());
    });
    hub.every(options.retentionEveryMs ?? 60_000, async () => {
      const gone = await store.maintain();
      if (gone.entries || gone.connections)
        hub.log(`retention: removed ${gone.entries} entries and ${gone.connections} connections`);
    });
    if (hub.dialer) {
      let failures = 0;
      hub.every(60_000, () => {
        const d = hub.dialer!.stats();
        if (d.failures === failures) return;
        failures = d.failures;
        hub.log(
          `tls-dial: ${d.dials} dials, ${d.failures} failed (last: ${d.lastError}), ${d.dropped} not made (queue full)`,
        );
      });
    }
    return hub;
  }

  private async mount(): Promise<void> {
    const { app, store, live, metrics, options } = this;
    await app.register(fastifyWebsocket, { options: { maxPayload: 64 << 20 } });
    requireToken(app, options.token);
    app.get('/healthz', async () => 'ok\n');
    app.get('/readyz', async (_req, reply) => {
      if (this.closed) return reply.code(503).send('stopping\n');
      // A store that cannot write acknowledges nothing: agents keep their batches, and an
      // orchestrator should restart the hub.
      const failure = store.writeFailure;
      if (failure) return reply.code(503).send(`the store cannot write: ${failure.message}\n`);
      return 'ready\n';
    });
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', metrics.contentType);
      return metrics.metrics();
    });
    registerApiRoutes(app, { store, live, log: (m) => this.log(m) });
    const source = {
      connections: (fromUs: number, toUs: number) => store.connectionsSeen(fromUs, toUs),
      tlsEntries: (fromUs: number, toUs: number) => this.tlsEntries(fromUs, toUs),
      dialedCertificate: (ip: string, port: number, domain: string) =>
        this.dialer?.get(ip, port, domain) ?? null,
      ...(options.localNode !== undefined ? { localNode: options.localNode } : {}),
    };
    registerNodeGraphRoutes(app, source);
    registerTlsParserRoutes(app, source);
    const stream = registerAgentStream(app, {
      target: {
        // Redacted and named before the store sees them; streamed and counted only once stored
        // (a replay the store already has returns false and is not counted twice).
        ingest: async (src, rawEntries, rawConnections) => {
          const entries = this.prepareEntries(rawEntries);
          const connections = this.prepareConnections(rawConnections);
          const ids: (string | null)[] = [];
          const stored = await this.storeBatch({ source: src, entries, connections, ids });
          if (stored) {
            this.intake.batches++;
            this.publish(entries, ids, connections);
          } else this.intake.replays++;
          return stored === true;
        },
        watermark: (agent) => store.watermark(agent),
      },
      ...(options.token !== undefined ? { token: options.token } : {}),
      log: (m) => this.log(m),
    });
    this.agentStatuses = () => stream.agents();
  }

  /** The address clients reach the hub at, e.g. `http://127.0.0.1:8080`. */
  url(): string {
    const a = this.app.server.address();
    if (a === null || typeof a === 'string') return String(a);
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  agents(): unknown[] {
    return this.agentStatuses?.() ?? [];
  }

  // --- the embedded agent (podwire start) ----------------------------------------------------------

  /**
   * An entry from an agent in this process: redacted and named now, stored with the next batch
   * (at most batchMs later), then streamed.
   */
  entry(e: Entry): void {
    const [ready] = this.prepareEntries([e]);
    if (!ready || this.overflowing()) return;
    this.pendingEntries.push(ready);
    if (this.pendingEntries.length + this.pendingConnections.length >= (this.options.batchRecords ?? 1000))
      this.flush();
  }

  connection(c: ConnectionRecord): void {
    const [ready] = this.prepareConnections([c]);
    if (!ready || this.overflowing()) return;
    this.pendingConnections.push(ready);
    if (this.pendingEntries.length + this.pendingConnections.length >= (this.options.batchRecords ?? 1000))
      this.flush();
  }

  /**
   * Stores what the embedded agent handed over since the last batch, then streams it; the promise
   * says when it is stored. Batches are stored and streamed in the order they were flushed.
   */
  flush(): Promise<void> {
    if (!this.pendingEntries.length && !this.pendingConnections.length) return this.flushing;
    // The store is behind: the records wait here (up to MAX_PENDING_RECORDS) rather than as queued writes.
    if (this.flushesInFlight >= MAX_FLUSHES_IN_FLIGHT && !this.closed) return this.flushing;
    this.flushesInFlight++;
    const entries = this.pendingEntries;
    const connections = this.pendingConnections;
    this.pendingEntries = [];
    this.pendingConnections = [];
    const ids: (string | null)[] = [];
    const stored = this.storeBatch({ source: null, entries, connections, ids });
    this.flushing = this.flushing
      .then(() => stored)
      .then(
        () => {
          this.intake.batches++;
          this.publish(entries, ids, connections);
        },
        (err: Error) => {
          this.intake.lost += entries.length + connections.length;
          this.log(
            `store: ${entries.length} entries and ${connections.length} connections lost: ${err.message}`,
          );
        },
      )
      .finally(() => {
        this.flushesInFlight--;
      });
    return this.flushing;
  }

  /**
   * Whether the embedded agent's records are past what the hub holds for a store that is behind:
   * the record is dropped and counted (`intake.lost`, logged once a minute at most).
   */
  private overflowing(): boolean {
    if (this.pendingEntries.length + this.pendingConnections.length < MAX_PENDING_RECORDS) return false;
    this.intake.lost++;
    const now = Date.now();
    if (now - this.lostLoggedAt >= 60_000) {
      this.lostLoggedAt = now;
      this.log(`store behind: ${this.intake.lost} records of the embedded agent dropped so far`);
    }
    return true;
  }

  // --- intake ------------------------------------------------------------------------------------

  /** Redaction before anything is stored or streamed, then names (DESIGN.md, Safety). */
  private prepareEntries(entries: readonly Entry[]): Entry[] {
    const rules = this.options.redaction === undefined ? DEFAULT_RULES : this.options.redaction;
    const enricher = this.options.enricher;
    const out: Entry[] = [];
    for (const raw of entries) {
      const e = rules ? redactEntry(raw, rules) : raw;
      enricher?.entry(e);
      out.push(e);
    }
    return out;
  }

  private prepareConnections(connections: readonly ConnectionRecord[]): ConnectionRecord[] {
    const enricher = this.options.enricher;
    if (enricher) for (const c of connections) enricher.connection(c);
    return connections as ConnectionRecord[];
  }

  /**
   * After the store has them: the live feed (under the store's ids, so a client can ask for the
   * entry in full; the agent's id stays as localId) and the metrics.
   */
  private publish(
    entries: readonly Entry[],
    ids: readonly (string | null)[],
    connections: readonly ConnectionRecord[],
  ): void {
    this.intake.entries += entries.length;
    this.intake.connections += connections.length;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      const id = ids[i];
      if (id === null || id === undefined) continue;
      this.live.publish(this.live.listening ? ({ ...e, id, localId: e.id } as Entry) : e);
      this.metrics.observeEntry(e);
      if (this.dialer && e.protocol === 'tls') {
        const sni = clientHello(e).sni;
        const domain = typeof sni === 'string' ? sni : '';
        this.dialer.observe({ ip: e.dst.ip, port: e.dst.port, domain }, certificates(e).length > 0);
      }
    }
    for (const c of connections) this.metrics.observeConnection(c);
  }

  private tlsEntries(fromUs: number, toUs: number): Entry[] {
    const out: Entry[] = [];
    let cursor: string | undefined;
    const where = compileSql(TLS_ONLY, this.store.sqlTarget);
    // Bounded: k8spacket's TLS list is per (client, server, SNI); 10k handshakes in a window is plenty.
    while (out.length < 10_000) {
      const page = this.store.entries({
        where,
        from: fromUs,
        to: toUs,
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const s of page.entries) {
        const full = this.store.entry(s.id);
        if (full) out.push(full);
      }
      if (!page.cursor) break;
      cursor = page.cursor;
    }
    return out;
  }

  // --- lifecycle ---------------------------------------------------------------------------------

  private every(ms: number, f: () => void | Promise<void>): void {
    const t = setInterval(() => {
      try {
        f()?.catch((err: Error) => this.log(err.message));
      } catch (err) {
        this.log(`${(err as Error).message}`);
      }
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  log(message: string): void {
    this.options.log?.(message);
  }

  /** Stores what is pending, stops listening (agents reconnect elsewhere or later) and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.dialer?.close();
    await this.flush();
    await this.app.close();
    await this.store.close();
  }
}
