/**
 * The done-when of issue 7's metrics: a real Prometheus (Debian's /usr/bin/prometheus) scrapes a
 * port-0 HTTP server that serves HubMetrics' exposition, and PromQL queries shaped like k8spacket's
 * and kube-netc's Grafana dashboards return the expected series and values.
 *
 * The query shapes are the dashboards' own: k8spacket's dashboards/k8s-packet-metrics.yaml
 * (`sum(increase(k8s_packet_bytes_sent_sum{ns=~"$ns", src_name=~"$workload"}[1m])) by (src_name) /
 * sum(increase(k8s_packet_bytes_sent_count{...}[1m])) by (src_name)`, `label_values(..., ns)`),
 * k8s-packet-tls-metrics.yaml (`sum(k8s_packet_tls_record{domain=~"$domain", ...}) by (domain,
 * dst_name, tls_version, cipher_suite)`), k8s-packet-tls-cert-expiry.yaml (`min(
 * k8s_packet_tls_cert_expiry{domain!=""} and rate(k8s_packet_tls_cert_expiry_count{domain!=""}
 * [$past_interval]) > 0) by (domain) or ... by (dst)`), and kube-netc's grafana_kube_netc_demo.json
 * (`bytes_sent`, `bytes_recv`, `bytes_sent_per_second`, `active_connections`).
 *
 * Records come from real captures, named here as enrichment would name them. Data arrives in two
 * phases with scrapes between, so rate() and increase() have something to measure.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord, Endpoint } from '../../src/flows/connection.js';
import { HubMetrics } from '../../src/metrics/index.js';
import { type Prometheus, prometheusMissing, startPrometheus } from '../support/prometheus.js';
import { load } from './records.js';

/** Kubernetes identities for the captures' addresses, as src/enrich would set them. */
const IDENTITIES: Record<string, Partial<Endpoint> & { labels?: Record<string, string> }> = {
  '10.0.2.15': {
    name: 'browser-6c9f-q2x7z',
    namespace: 'shop',
    kind: 'pod',
    workload: 'browser',
    node: 'node-a',
  },
  '192.150.187.43': { name: 'bro-org', namespace: 'edge', kind: 'service', workload: 'bro-web' },
  '192.168.1.168': {
    name: 'laptop-0',
    namespace: 'office',
    kind: 'pod',
    workload: 'laptop',
    node: 'node-b',
    // Not carried by today's endpoints (docs/metrics.md); set here to show kube-netc's object labels
    // and the `instance` label Prometheus renames.
    labels: { 'app.kubernetes.io/name': 'laptop', 'app.kubernetes.io/instance': 'office-prod' },
  },
};

function named<T extends { src: Endpoint; dst: Endpoint }>(r: T): T {
  const c = structuredClone(r);
  Object.assign(c.src, IDENTITIES[c.src.ip] ?? { kind: 'external' });
  Object.assign(c.dst, IDENTITIES[c.dst.ip] ?? { kind: 'external' });
  return c;
}

describe('a real Prometheus scrapes HubMetrics', { skip: prometheusMissing(), timeout: 60_000 }, () => {
  let server: Server;
  let prom: Prometheus;
  let target = '';
  let now = 1_000_000;
  const registry = new Registry();
  const metrics = new HubMetrics({ registry, clock: () => now });
  const phase = new Gauge({ name: 'podwire_test_phase', help: 'test phase', registers: [registry] });

  // What was fed, to compute the expected answers.
  let http1: ConnectionRecord[] = [];
  let http2: ConnectionRecord[] = [];
  let httpEntries: Entry[] = [];
  let httpEntries2: Entry[] = [];
  let tlsConns: ConnectionRecord[] = [];
  let tlsEntries: Entry[] = [];

  const query = (q: string) => prom.query(q);

  async function scalar(q: string): Promise<number> {
    const r = await query(q);
    return r.length === 0 ? Number.NaN : Number(r[0]!.value[1]);
  }

  before(async () => {
    const bro = await load('http1/zeek__bro.org.pcap');
    const tls = await load('tls/ja4__tls-handshake.pcapng');
    const closed = bro.connections.filter((c) => c.closeReason !== 'open').map(named);
    closed.sort((a, b) => a.end - b.end);
    http1 = closed.slice(0, 6);
    http2 = closed.slice(6);
    const entries = bro.entries.map(named);
    httpEntries = entries.slice(0, 10);
    httpEntries2 = entries.slice(10);
    tlsConns = tls.connections.map(named);
    tlsEntries = tls.entries.map(named);

    // Phase 1: half the HTTP connections and requests; the TLS connections (certificates).
    for (const c of [...http1, ...tlsConns]) metrics.observeConnection(c);
    for (const e of httpEntries) metrics.observeEntry(e);
    metrics.setActiveConnections(5);
    now += 2_000;
    metrics.tick(now);
    phase.set(1);

    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    target = `127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

    prom = await startPrometheus([
      '  - job_name: podwire',
      '    static_configs:',
      `      - targets: ['${target}']`,
    ]);
    await prom.until('the target to be up', async () => (await prom.targets())[0]?.health === 'up');
    await prom.until(
      'two scrapes of phase 1',
      async () => (await scalar('count_over_time(podwire_test_phase[1m])')) >= 2,
    );

    // Phase 2: the rest of the HTTP connections and requests, every TLS handshake.
    for (const c of http2) metrics.observeConnection(c);
    for (const e of [...httpEntries2, ...tlsEntries]) metrics.observeEntry(e);
    now += 4_000;
    metrics.tick(now);
    phase.set(2);
    // Phase-2 samples: sum_over_time counts them twice, count_over_time once.
    await prom.until(
      'two scrapes of phase 2',
      async () =>
        (await scalar('sum_over_time(podwire_test_phase[1m]) - count_over_time(podwire_test_phase[1m])')) >=
        2,
    );
  });

  after(async () => {
    await prom?.stop();
    await new Promise((r) => server?.close(r));
  });

  test('the target is up and every family is ingested', async () => {
    assert.equal(await scalar('up{job="podwire"}'), 1);
    for (const name of [
      'k8s_packet_bytes_sent_sum',
      'k8s_packet_bytes_received_count',
      'k8s_packet_duration_seconds_sum',
      'k8s_packet_tls_record',
      'k8s_packet_tls_cert_expiry',
      'k8s_packet_tls_cert_expiry_count',
      'bytes_sent',
      'bytes_recv',
      'bytes_sent_per_second',
      'bytes_recv_per_second',
      'active_connections',
      'podwire_requests_total',
      'podwire_request_errors_total',
      'podwire_request_duration_seconds_bucket',
    ])
      assert.ok((await query(name)).length > 0, name);
  });

  test('k8spacket metrics dashboard: increase(sum)/increase(count) by src_name, label_values(ns)', async () => {
    const r = await query(
      'sum(increase(k8s_packet_bytes_sent_sum{ns=~"shop", src_name=~"browser-.*"}[1m])) by (src_name)' +
        '/sum(increase(k8s_packet_bytes_sent_count{ns=~"shop", src_name=~"browser-.*"}[1m])) by (src_name)',
    );
    assert.equal(r.length, 1);
    assert.deepEqual(r[0]!.metric, { src_name: 'browser-6c9f-q2x7z' });
    // increase() extrapolates each series to the window's edges, by factors that differ a little
    // between _sum and _count; the phase-2 mean bytes per connection, within that slack.
    const mean = http2.reduce((a, c) => a + c.sent.bytes, 0) / http2.length;
    const got = Number(r[0]!.value[1]);
    assert.ok(Math.abs(got - mean) / mean < 0.1, `${got} vs ${mean}`);

    // Grafana's label_values(k8s_packet_bytes_sent_sum, ns): namespaces of the clients.
    const res = await fetch(`${prom.url}/api/v1/label/ns/values?match[]=k8s_packet_bytes_sent_sum`);
    const ns = ((await res.json()) as { data: string[] }).data;
    assert.deepEqual(ns, ['shop']);

    // The brief's shape: byte rate between workloads.
    const rate = await query('sum(rate(k8s_packet_bytes_sent_sum[1m])) by (src_name, dst_name)');
    assert.equal(rate.length, 1);
    assert.deepEqual(rate[0]!.metric, { src_name: 'browser-6c9f-q2x7z', dst_name: 'bro-org' });
    assert.ok(Number(rate[0]!.value[1]) > 0);

    // Exact, without extrapolation: the totals of every closed connection.
    const all = [...http1, ...http2];
    const l = '{ns="shop", dst_name="bro-org", src_port="dynamic", dst_port="80", persistent="false"}';
    assert.equal(
      await scalar(`sum(k8s_packet_bytes_sent_sum${l})`),
      all.reduce((a, c) => a + c.sent.bytes, 0),
    );
    assert.equal(
      await scalar(`sum(k8s_packet_bytes_received_sum${l})`),
      all.reduce((a, c) => a + c.received.bytes, 0),
    );
    assert.equal(await scalar(`sum(k8s_packet_bytes_sent_count${l})`), all.length);
    const seconds = all.reduce((a, c) => a + (c.end - c.start) / 1e6, 0);
    assert.ok(Math.abs((await scalar(`sum(k8s_packet_duration_seconds_sum${l})`)) - seconds) < 1e-6);
  });

  test('k8spacket TLS metrics dashboard: handshakes by domain, dst_name, version and cipher', async () => {
    const r = await query(
      'sum(k8s_packet_tls_record{domain=~".*", tls_version=~"TLS 1.2|TLS 1.3", cipher_suite=~".*"}) by (domain, dst_name, tls_version, cipher_suite)',
    );
    const want = new Map<string, number>();
    for (const e of tlsEntries) {
      const resp = e.response as { version?: string; cipherSuite?: string } | null;
      if (resp?.version !== 'TLS 1.2' && resp?.version !== 'TLS 1.3') continue;
      const k = [e.path, resp.version, resp.cipherSuite].join('|');
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    assert.equal(r.length, want.size);
    for (const s of r) {
      const k = [s.metric.domain, s.metric.tls_version, s.metric.cipher_suite].join('|');
      assert.equal(Number(s.value[1]), want.get(k), k);
      // dst_name is "" for outside servers: Prometheus drops empty labels.
      assert.equal(s.metric.dst_name, undefined);
    }
  });

  test('k8spacket certificate expiry dashboard: min(expiry and rate(count) > 0) by (domain)', async () => {
    const r = await query(
      'sort(min(k8s_packet_tls_cert_expiry{domain!=""} and rate(k8s_packet_tls_cert_expiry_count{domain!=""}[1m]) > 0) by (domain)\n' +
        '    or\n' +
        '    min(k8s_packet_tls_cert_expiry{domain=""} and rate(k8s_packet_tls_cert_expiry_count{domain=""}[1m]) > 0) by (dst)\n)',
    );
    const want = new Map<string, number>();
    for (const c of tlsConns) {
      const t = c.l7?.tls as { domain?: string; certificate?: { notAfter: string } } | undefined;
      if (t?.certificate) want.set(t.domain ?? '', Date.parse(t.certificate.notAfter));
    }
    assert.equal(want.size, 6);
    // sort() orders by value; certificates expiring at the same second may come in either order.
    const byValue = (a: [string, number], b: [string, number]) => a[1] - b[1] || a[0].localeCompare(b[0]);
    const got = r.map((s): [string, number] => [s.metric.domain ?? '', Number(s.value[1])]);
    for (let i = 1; i < got.length; i++) assert.ok(got[i - 1]![1] <= got[i]![1], 'sorted by expiry');
    assert.deepEqual(got.sort(byValue), [...want].sort(byValue));
  });

  test('kube-netc dashboard: bytes_sent, per-second rates, active_connections, object labels', async () => {
    const r = await query('bytes_sent{source_namespace="office"}');
    const want = new Map<string, number>();
    for (const c of tlsConns) {
      const k = `${c.dst.ip}:${c.dst.port}`;
      want.set(k, (want.get(k) ?? 0) + c.sent.bytes);
    }
    assert.equal(r.length, want.size);
    for (const s of r) {
      assert.equal(Number(s.value[1]), want.get(s.metric.destination_address!), s.metric.destination_address);
      assert.equal(s.metric.source_name, 'laptop-0');
      assert.equal(s.metric.source_kind, 'pod');
      assert.equal(s.metric.source_node, 'node-b');
      assert.equal(s.metric.destination_kind, 'external');
      assert.equal(s.metric.name, 'laptop');
      // kube-netc's `instance` meets the target label: Prometheus keeps the target's and renames ours.
      assert.equal(s.metric.instance, target);
      assert.equal(s.metric.exported_instance, 'office-prod');
    }
    const recv = await scalar('sum(bytes_recv{source_namespace="shop", destination_name="bro-org"})');
    assert.equal(
      recv,
      [...http1, ...http2].reduce((a, c) => a + c.received.bytes, 0),
    );
    // Phase 2 added http2's bytes over the 4 s (on HubMetrics' clock) between the two ticks.
    const perSecond = await scalar('sum(bytes_sent_per_second{source_namespace="shop"})');
    assert.ok(Math.abs(perSecond - http2.reduce((a, c) => a + c.sent.bytes, 0) / 4) < 1e-9);
    assert.equal(await scalar('sum(bytes_sent_per_second{source_namespace="office"})'), 0);
    assert.equal(await scalar('active_connections'), 5);
  });

  test('podwire request metrics: rate by workload, error ratio, latency quantile', async () => {
    const r = await query('sum(rate(podwire_requests_total[1m])) by (protocol, src_workload, dst_workload)');
    const http = r.find((s) => s.metric.protocol === 'http');
    assert.deepEqual(http?.metric, { protocol: 'http', src_workload: 'browser', dst_workload: 'bro-web' });
    assert.ok(Number(http!.value[1]) > 0);
    assert.equal(
      await scalar(
        'sum(podwire_requests_total{protocol="http", src_namespace="shop", dst_namespace="edge"})',
      ),
      httpEntries.length + httpEntries2.length,
    );
    assert.equal(await scalar('sum(rate(podwire_request_errors_total{protocol="http"}[1m]))'), 0);
    const q = await scalar(
      'histogram_quantile(0.5, sum(rate(podwire_request_duration_seconds_bucket{protocol="http"}[1m])) by (le))',
    );
    assert.ok(Number.isFinite(q) && q > 0 && q <= 60, `median latency ${q}`);
  });
});
