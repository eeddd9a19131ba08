/**
 * The hub's Prometheus metrics (prom-client): k8spacket's and kube-netc's series under their own
 * names and labels (CONTRACTS.md), so their dashboards work unchanged, plus podwire's request
 * count / errors / latency per source and destination workload and protocol. docs/metrics.md lists
 * every series, its unit and how it is counted.
 *
 * Fed by the hub with connection records (closed, or snapshots of open ones) and entries; `tick()`
 * every few seconds recomputes kube-netc's per-second rates and deletes stale series. Memory is
 * bounded: at most `maxSeries` label sets per group of families (more fold into `other`), series
 * expire after `seriesTtlMs`, and the per-connection ledger is capped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Entry } from '../dissect/entry.js';
import { isErrorEntry } from '../dissect/outcome.js';
import type { ConnectionRecord } from '../flows/connection.js';
import { ConnectionLedger, connectionKey } from './connection-ledger.js';
import {
  K8S_TCP_LABELS,
  K8S_TLS_CERT_LABELS,
  K8S_TLS_RECORD_LABELS,
  KUBE_NETC_LABELS,
  k8sTcpValues,
  kubeNetcValues,
  REQUEST_LABELS,
  requestValues,
  tlsCertValues,
  tlsRecordValues,
} from './labels.js';
import { type GuardCounters, type Removable, SeriesGuard } from './series-guard.js';
import { type GaugeSample, StateGauge } from './state-gauge.js';
import { registerStoreMetrics, type StoreFigures } from './store.js';
import { SumCountSummary } from './sum-count-summary.js';
import { connectionCert, entryCertExpiry } from './tls.js';

export { isErrorEntry } from '../dissect/outcome.js';

export interface MetricsOptions {
  /** Where to register (Prometheus text format 0.0.4 only); a new Registry by default. */
  registry?: Registry;
  /** k8spacket's hideSourcePort: `src_port` is `dynamic`. Default true. */
  hideSourcePort?: boolean;
  /** A connection is `persistent` once it has lasted longer than this (k8spacket: 10 s). Default 10000. */
  persistentAfterMs?: number;
  /** How often (capture time) an open persistent connection is observed in the summaries. Default persistentAfterMs. */
  openReportIntervalMs?: number;
  /** Label sets per group of families; beyond it they fold into `other`. Default 10000. */
  maxSeries?: number;
  /** Series not updated for this long are deleted. Default 1 hour. */
  seriesTtlMs?: number;
  /** Open connections whose counted bytes are remembered (least recently updated evicted). Default 100000. */
  maxConnections?: number;
  /** The clock (ms) stamped on updates; `tick(nowMs)` must use the same. Default Date.now. */
  clock?: () => number;
}

/** Latency buckets (seconds): 0.5 ms (loopback, Redis) to a minute (long polls, slow queries). */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

interface NetcState {
  sent: number;
  received: number;
  /** Totals at the previous tick, for the per-second rates. */
  sentAtTick: number;
  receivedAtTick: number;
  /** The rates computed at the last tick (bytes/s). */
  sentRate: number;
  receivedRate: number;
}

const noState = (): null => null;

export class HubMetrics {
  readonly registry: Registry;
  private readonly hideSourcePort: boolean;
  private readonly persistentAfterMs: number;
  private readonly openReportIntervalMs: number;
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private lastTickMs: number;

  private readonly folded: Counter<'metric'>;
  private readonly expired: Counter<'metric'>;
  private readonly duplicates: Counter;
  private readonly invalid: Counter<'type'>;
  private readonly evictions: Counter;

  private readonly bytesSentSummary: SumCountSummary;
  private readonly bytesReceivedSummary: SumCountSummary;
  private readonly durationSummary: SumCountSummary;
  private readonly tlsRecord: Counter;
  private readonly certExpiry: Gauge;
  private readonly certExpiryCount: Counter;
  private readonly activeConnections: Gauge;
  private readonly requests: Counter;
  private readonly requestErrors: Counter;
  private readonly requestDuration: Histogram;

  private readonly tcpGuard: SeriesGuard<null>;
  private readonly tlsRecordGuard: SeriesGuard<null>;
  private readonly certGuard: SeriesGuard<null>;
  private readonly netcGuard: SeriesGuard<NetcState>;
  private readonly requestGuard: SeriesGuard<null>;
  private readonly guards: SeriesGuard<unknown>[];
  private readonly ledger: ConnectionLedger;

  constructor(opts: MetricsOptions = {}) {
    const registry = opts.registry ?? new Registry();
    if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
      // OpenMetrics appends `_total` to counters, renaming k8s_packet_tls_record and breaking the contract.
      throw new Error('HubMetrics needs a Prometheus text-format registry (OpenMetrics renames counters)');
    }
    this.registry = registry;
    this.hideSourcePort = opts.hideSourcePort ?? true;
    this.persistentAfterMs = opts.persistentAfterMs ?? 10_000;
    this.openReportIntervalMs = opts.openReportIntervalMs ?? this.persistentAfterMs;
    this.ttlMs = opts.seriesTtlMs ?? 3_600_000;
    this.clock = opts.clock ?? Date.now;
    this.lastTickMs = this.clock();
    const maxSeries = opts.maxSeries ?? 10_000;
    // Remembering folded label sets costs a key each; at least 10,000 so a small cap still counts well.
    const maxFoldedKeys = Math.max(maxSeries, 10_000);
    const registers = [registry];

    this.folded = new Counter({
      name: 'podwire_metrics_folded_series_total',
      help: 'Label sets folded into the `other` label set because the family reached its cap',
      labelNames: ['metric'],
      registers,
    });
    this.expired = new Counter({
      name: 'podwire_metrics_expired_series_total',
      help: 'Label sets deleted because they were not updated for the series TTL',
      labelNames: ['metric'],
      registers,
    });
    this.duplicates = new Counter({
      name: 'podwire_metrics_duplicate_connection_records_total',
      help: 'Connection records ignored because their connection had already closed (a repeated close)',
      registers,
    });
    this.invalid = new Counter({
      name: 'podwire_metrics_invalid_records_total',
      help: 'Connection records and entries refused because a field the metrics read was missing or not a number',
      labelNames: ['type'],
      registers,
    });
    this.invalid.inc({ type: 'connection' }, 0);
    this.invalid.inc({ type: 'entry' }, 0);
    this.evictions = new Counter({
      name: 'podwire_metrics_connection_states_evicted_total',
      help: 'Open connections forgotten because the connection ledger was full',
      registers,
    });
    const counters: GuardCounters = {
      folded: (metric) => this.folded.inc({ metric }),
      expired: (metric) => this.expired.inc({ metric }),
    };

    // k8spacket (CONTRACTS.md "k8spacket Prometheus series").
    const tcpLabels = [...K8S_TCP_LABELS];
    this.bytesSentSummary = new SumCountSummary(
      'k8s_packet_bytes_sent',
      'Kubernetes packet bytes sent (TCP payload, client to server), per connection report',
      tcpLabels,
      registry,
    );
    this.bytesReceivedSummary = new SumCountSummary(
      'k8s_packet_bytes_received',
      'Kubernetes packet bytes received (TCP payload, server to client), per connection report',
      tcpLabels,
      registry,
    );
    this.durationSummary = new SumCountSummary(
      'k8s_packet_duration_seconds',
      'Kubernetes packet connection duration in seconds (k8spacket observes milliseconds)',
      tcpLabels,
      registry,
    );
    this.tlsRecord = new Counter({
      name: 'k8s_packet_tls_record',
      help: 'Kubernetes packet TLS Record: TLS handshakes seen',
      labelNames: [...K8S_TLS_RECORD_LABELS],
      registers,
    });
    this.certExpiry = new Gauge({
      name: 'k8s_packet_tls_cert_expiry',
      help: 'Kubernetes packet TLS certificate expiration: the server certificate notAfter, epoch milliseconds',
      labelNames: [...K8S_TLS_CERT_LABELS],
      registers,
    });
    this.certExpiryCount = new Counter({
      name: 'k8s_packet_tls_cert_expiry_count',
      help: 'Kubernetes packet TLS certificate expiration counter: TLS handshakes seen per server',
      labelNames: [...K8S_TLS_CERT_LABELS],
      registers,
    });

    // kube-netc (CONTRACTS.md "kube-netc Prometheus series"): views over the guard's per-series state.
    const netcLabels = [...KUBE_NETC_LABELS];
    const view = (name: string, help: string, pick: (s: NetcState) => number) =>
      new StateGauge(name, help, registry, () => this.netcSamples(pick));
    const netcFamilies = [
      view('bytes_sent', 'Total bytes sent from source to destination (TCP payload)', (s) => s.sent),
      view('bytes_recv', 'Total bytes received by source from destination (TCP payload)', (s) => s.received),
      view('bytes_sent_per_second', 'Bytes per second sent from source to destination', (s) => s.sentRate),
      view(
        'bytes_recv_per_second',
        'Bytes per second received by source from destination',
        (s) => s.receivedRate,
      ),
    ];
    this.activeConnections = new Gauge({
      name: 'active_connections',
      help: 'Number of open TCP connections followed',
      registers,
    });

    // podwire's RED metrics.
    const reqLabels = [...REQUEST_LABELS];
    this.requests = new Counter({
      name: 'podwire_requests_total',
      help: 'Entries (requests, messages, handshakes) per protocol and source/destination workload',
      labelNames: reqLabels,
      registers,
    });
    this.requestErrors = new Counter({
      name: 'podwire_request_errors_total',
      help: 'Entries that failed, as isErrorEntry defines it per protocol (docs/metrics.md)',
      labelNames: reqLabels,
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'podwire_request_duration_seconds',
      help: 'Response latency: first byte of the request to first byte of the response, seconds',
      labelNames: reqLabels,
      buckets: LATENCY_BUCKETS,
      registers,
    });

    this.tcpGuard = new SeriesGuard({
      labelNames: tcpLabels,
      keep: ['persistent'],
      families: [this.bytesSentSummary, this.bytesReceivedSummary, this.durationSummary],
      maxSeries,
      maxFoldedKeys,
      counters,
      init: noState,
    });
    this.tlsRecordGuard = new SeriesGuard({
      labelNames: [...K8S_TLS_RECORD_LABELS],
      keep: [],
      families: [removable(this.tlsRecord, 'k8s_packet_tls_record')],
      maxSeries,
      maxFoldedKeys,
      counters,
      init: noState,
    });
    this.certGuard = new SeriesGuard({
      labelNames: [...K8S_TLS_CERT_LABELS],
      keep: [],
      families: [
        removable(this.certExpiry, 'k8s_packet_tls_cert_expiry'),
        removable(this.certExpiryCount, 'k8s_packet_tls_cert_expiry_count'),
      ],
      maxSeries,
      maxFoldedKeys,
      counters,
      init: noState,
      // The counter exists from the first sight of a server; the gauge only once a certificate is seen.
      onCreate: (labels) => this.certExpiryCount.inc(labels, 0),
    });
    this.netcGuard = new SeriesGuard<NetcState>({
      labelNames: netcLabels,
      keep: [],
      families: netcFamilies,
      maxSeries,
      maxFoldedKeys,
      counters,
      init: () => ({ sent: 0, received: 0, sentAtTick: 0, receivedAtTick: 0, sentRate: 0, receivedRate: 0 }),
    });
    this.requestGuard = new SeriesGuard({
      labelNames: reqLabels,
      keep: ['protocol'],
      families: [
        removable(this.requests, 'podwire_requests_total'),
        removable(this.requestErrors, 'podwire_request_errors_total'),
        removable(this.requestDuration, 'podwire_request_duration_seconds'),
      ],
      maxSeries,
      maxFoldedKeys,
      counters,
      init: noState,
      // Errors start at 0 beside requests, so rate(errors) / rate(requests) is 0, not empty.
      onCreate: (labels) => {
        this.requests.inc(labels, 0);
        this.requestErrors.inc(labels, 0);
      },
    });
    this.guards = [this.tcpGuard, this.tlsRecordGuard, this.certGuard, this.netcGuard, this.requestGuard];

    this.ledger = new ConnectionLedger(opts.maxConnections ?? 100_000, opts.maxConnections ?? 100_000);

    const guards = this.guards;
    const ledger = this.ledger;
    new Gauge({
      name: 'podwire_metrics_series',
      help: 'Label sets currently exported per metric family (the cap applies per family group)',
      labelNames: ['metric'],
      registers,
      collect() {
        for (const g of guards) for (const f of g.families) this.set({ metric: f.name }, g.size);
      },
    });
    new Gauge({
      name: 'podwire_metrics_connection_states',
      help: 'Open connections whose counted bytes the metrics remember',
      registers,
      collect() {
        this.set(ledger.openCount);
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * A connection record: closed, or a snapshot of an open one (closeReason `open`). The same
   * connection (node, id, start) may come many times; records are cumulative, so:
   * - kube-netc's byte totals add what grew since the connection's previous record;
   * - k8spacket's summaries get one observation when the connection closes (bytes each way and
   *   duration since its previous observation), and, once it has lasted longer than
   *   `persistentAfterMs`, one per `openReportIntervalMs` of capture time while it stays open (what
   *   grew since the previous observation). Each byte and each second is observed exactly once, so
   *   `rate(k8s_packet_bytes_sent_sum[1m])` is the real byte rate even for connections that never close.
   * - a record of a connection already closed is ignored (a replayed close).
   */
  observeConnection(rec: ConnectionRecord): void {
    if (!validConnection(rec)) {
      this.invalid.inc({ type: 'connection' });
      return;
    }
    const now = this.clock();
    const key = connectionKey(rec);
    if (this.ledger.isClosed(key)) {
      this.duplicates.inc();
      return;
    }
    const closed = rec.closeReason !== 'open';
    const evictedBefore = this.ledger.evicted;
    // A connection whose first record is its close never takes (or evicts for) a place in the ledger.
    const st = closed ? this.ledger.closing(key, rec.start, now) : this.ledger.state(key, rec.start, now);
    if (this.ledger.evicted > evictedBefore) this.evictions.inc(this.ledger.evicted - evictedBefore);

    // kube-netc: cumulative totals per label set, from deltas (an older snapshot arriving late adds 0).
    const sent = rec.sent.bytes;
    const received = rec.received.bytes;
    const netc = this.netcGuard.get(kubeNetcValues(rec), now);
    netc.state.sent += Math.max(0, sent - st.countedSent);
    netc.state.received += Math.max(0, received - st.countedReceived);
    st.countedSent = Math.max(st.countedSent, sent);
    st.countedReceived = Math.max(st.countedReceived, received);

    // k8spacket summaries.
    const persistent = rec.durationMs > this.persistentAfterMs;
    const sinceReportMs = (rec.end - st.reportedEndUs) / 1000;
    if (closed || (persistent && sinceReportMs >= this.openReportIntervalMs)) {
      const s = this.tcpGuard.get(k8sTcpValues(rec, this.hideSourcePort, persistent), now);
      this.bytesSentSummary.observe(s.labels, Math.max(0, sent - st.reportedSent));
      this.bytesReceivedSummary.observe(s.labels, Math.max(0, received - st.reportedReceived));
      this.durationSummary.observe(s.labels, Math.max(0, sinceReportMs) / 1000);
      st.reportedSent = Math.max(st.reportedSent, sent);
      st.reportedReceived = Math.max(st.reportedReceived, received);
      st.reportedEndUs = Math.max(st.reportedEndUs, rec.end);
    }
    if (closed) this.ledger.close(key, now);

    // The certificate of the connection's latest handshake (set, so repeats are harmless).
    const cert = connectionCert(rec);
    if (cert) {
      const c = this.certGuard.get(tlsCertValues(rec.dst, cert.domain), now);
      this.certExpiry.set(c.labels, cert.expiry);
    }
  }

  /**
   * A server's certificate read by dialling it (the hub's `--tls-dial`), where the wire showed none:
   * k8spacket's expiry gauge, under the same labels as a certificate seen on the wire.
   */
  observeDialedCertificate(dst: { ip: string; port: number }, domain: string, notAfterMs: number): void {
    if (!Number.isFinite(notAfterMs)) return;
    const c = this.certGuard.get(tlsCertValues(dst, domain), this.clock());
    this.certExpiry.set(c.labels, notAfterMs);
  }

  /** An entry: request count, errors and latency; a `tls` entry also feeds k8spacket's TLS series. */
  observeEntry(e: Entry): void {
    if (!validEntry(e)) {
      this.invalid.inc({ type: 'entry' });
      return;
    }
    const now = this.clock();
    const r = this.requestGuard.get(requestValues(e), now);
    this.requests.inc(r.labels);
    if (isErrorEntry(e)) this.requestErrors.inc(r.labels);
    if (e.elapsedMs !== null && Number.isFinite(e.elapsedMs) && e.elapsedMs >= 0)
      this.requestDuration.observe(r.labels, e.elapsedMs / 1000);

    if (e.protocol !== 'tls') return;
    // k8spacket counts every TLS handshake in both counters (tls-parser listener: sendPrometheusMetrics).
    const t = this.tlsRecordGuard.get(tlsRecordValues(e), now);
    this.tlsRecord.inc(t.labels);
    const c = this.certGuard.get(tlsCertValues(e.dst, e.path), now);
    this.certExpiryCount.inc(c.labels);
    const expiry = entryCertExpiry(e);
    if (expiry !== null) this.certExpiry.set(c.labels, expiry);
  }

  /**
   * The hub's `--tls-dial` (src/hub/tlsparser/dialer.ts), read at each scrape:
   * `podwire_tls_dials_total{result}`, `read` (a chain was read), `failed`, `dropped` (the queue
   * of dials was full).
   */
  watchTlsDials(stats: () => { read: number; failures: number; dropped: number }): void {
    new Counter({
      name: 'podwire_tls_dials_total',
      help: 'Servers dialled to read the certificate their handshake did not show (--tls-dial), by result',
      labelNames: ['result'],
      registers: [this.registry],
      collect() {
        const s = stats();
        this.reset();
        this.inc({ result: 'read' }, s.read);
        this.inc({ result: 'failed' }, s.failures);
        this.inc({ result: 'dropped' }, s.dropped);
      },
    });
  }

  /**
   * The hub's intake and store series (src/metrics/store.ts), read from `figures` at each scrape
   * (null: nothing to report, the store closed); returns what observes a batch's time to its commit.
   */
  watchStore(figures: () => StoreFigures | null): { observeWrite(seconds: number): void } {
    return registerStoreMetrics(this.registry, figures);
  }

  /** Connections whose latest record said open (agents report long-lived ones periodically). */
  get openConnections(): number {
    return this.ledger.openCount;
  }

  /** kube-netc's `active_connections`: the open TCP connections the hub follows. */
  setActiveConnections(n: number): void {
    if (Number.isFinite(n)) this.activeConnections.set(n);
  }

  /**
   * Recomputes kube-netc's per-second rates (bytes added since the previous tick over the time
   * between ticks) and deletes series not updated for the TTL. `nowMs` is on the options' clock.
   */
  tick(nowMs: number): void {
    const dt = (nowMs - this.lastTickMs) / 1000;
    if (dt > 0) {
      for (const s of this.netcGuard.values()) {
        const st = s.state;
        st.sentRate = (st.sent - st.sentAtTick) / dt;
        st.receivedRate = (st.received - st.receivedAtTick) / dt;
        st.sentAtTick = st.sent;
        st.receivedAtTick = st.received;
      }
      this.lastTickMs = nowMs;
    }
    for (const g of this.guards) g.expire(nowMs, this.ttlMs);
    this.ledger.expire(nowMs, this.ttlMs);
  }

  private *netcSamples(pick: (s: NetcState) => number): Iterable<GaugeSample> {
    for (const s of this.netcGuard.values()) yield { labels: s.labels, value: pick(s.state) };
  }

  /** The exposition text (Prometheus text format 0.0.4); serve it with `contentType`. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** A prom-client family as the guard sees it (its TypeScript types do not declare `name`). */
function removable(m: { remove(labels: Record<string, string>): void }, name: string): Removable {
  return { name, remove: (labels) => m.remove(labels) };
}

/** A finite, non-negative number, as every count and time in a record must be. */
function count(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/** What observeConnection reads; a record from the network that lacks it is refused, not half-counted. */
function validConnection(rec: ConnectionRecord): boolean {
  return (
    typeof rec?.src?.ip === 'string' &&
    typeof rec.dst?.ip === 'string' &&
    count(rec.src.port) &&
    count(rec.dst.port) &&
    count(rec.start) &&
    count(rec.end) &&
    count(rec.durationMs) &&
    count(rec.sent?.bytes) &&
    count(rec.received?.bytes)
  );
}

function validEntry(e: Entry): boolean {
  return (
    typeof e?.protocol === 'string' &&
    typeof e.src?.ip === 'string' &&
    typeof e.dst?.ip === 'string' &&
    count(e.dst.port) &&
    typeof e.path === 'string'
  );
}
