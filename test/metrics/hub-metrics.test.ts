/**
 * HubMetrics' exposition against sums computed here, independently, from real captures' records
 * (test/metrics/records.ts), with the label names and semantics CONTRACTS.md gives for k8spacket's
 * and kube-netc's series. The expected values are recomputed from the records' own fields; nothing
 * is compared with HubMetrics' earlier output.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type OpenMetricsContentType, openMetricsContentType, Registry } from 'prom-client';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { HubMetrics, LATENCY_BUCKETS } from '../../src/metrics/index.js';
import { parseExposition, type Sample, select, total } from './exposition.js';
import { load, loadAll, MIXED } from './records.js';

const PERSISTENT_MS = 10_000;

async function scrape(m: HubMetrics): Promise<Sample[]> {
  return parseExposition(await m.metrics());
}

function feed(m: HubMetrics, conns: ConnectionRecord[], entries: Entry[]): void {
  for (const c of conns) m.observeConnection(c);
  for (const e of entries) m.observeEntry(e);
}

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)), `${what}: ${a} != ${b}`);
}

/** A copy of `rec` as an open snapshot taken at `fraction` of its life (bytes grow linearly). */
function snapshot(rec: ConnectionRecord, fraction: number): ConnectionRecord {
  const c = structuredClone(rec);
  c.closeReason = 'open';
  c.closedBy = null;
  c.end = rec.start + Math.round((rec.end - rec.start) * fraction);
  c.durationMs = (c.end - c.start) / 1000;
  c.sent.bytes = Math.floor(rec.sent.bytes * fraction);
  c.received.bytes = Math.floor(rec.received.bytes * fraction);
  return c;
}

describe('k8spacket TCP summaries (k8s_packet_bytes_sent, _received, _duration_seconds)', () => {
  test('sums and counts per label set equal the records: closed ones once, open ones past 10 s once', async () => {
    const { connections, entries } = await loadAll(MIXED);
    const m = new HubMetrics();
    feed(m, connections, entries);
    const s = await scrape(m);

    // CONTRACTS.md: ns = client namespace, src_port "dynamic" (hidden by default), persistent when
    // the connection lasted longer than 10 s. Observed when it closes; an open one (the capture's
    // end) only once it is older than 10 s.
    const want = new Map<string, { sent: number; recv: number; dur: number; n: number }>();
    for (const c of connections) {
      const persistent = c.durationMs > PERSISTENT_MS;
      if (c.closeReason === 'open' && !persistent) continue;
      const k = [c.src.ip, c.dst.ip, c.dst.port, persistent].join('|');
      const w = want.get(k) ?? { sent: 0, recv: 0, dur: 0, n: 0 };
      w.sent += c.sent.bytes;
      w.recv += c.received.bytes;
      w.dur += (c.end - c.start) / 1e6;
      w.n++;
      want.set(k, w);
    }
    assert.ok(want.size >= 4, 'the captures give several label sets');
    const got = select(s, 'k8s_packet_bytes_sent_count');
    assert.equal(got.length, want.size);
    for (const [k, w] of want) {
      const [src, dst, port, persistent] = k.split('|');
      const l = {
        ns: '',
        src: src!,
        src_name: '',
        src_port: 'dynamic',
        dst: dst!,
        dst_name: '',
        dst_port: port!,
        persistent: persistent!,
      };
      assert.equal(total(s, 'k8s_packet_bytes_sent_sum', l), w.sent, `sent ${k}`);
      assert.equal(total(s, 'k8s_packet_bytes_received_sum', l), w.recv, `received ${k}`);
      assert.equal(total(s, 'k8s_packet_bytes_sent_count', l), w.n, `count ${k}`);
      assert.equal(total(s, 'k8s_packet_bytes_received_count', l), w.n);
      assert.equal(total(s, 'k8s_packet_duration_seconds_count', l), w.n);
      close(total(s, 'k8s_packet_duration_seconds_sum', l), w.dur, `duration ${k}`);
    }
    // The PostgreSQL session (93 s, reset) is persistent; bro.org's 5-8 s connections are not.
    assert.ok(select(s, 'k8s_packet_bytes_sent_sum', { persistent: 'true', dst_port: '5432' }).length === 1);
    assert.ok(select(s, 'k8s_packet_bytes_sent_sum', { persistent: 'false', dst_port: '80' }).length >= 1);
    // k8spacket's summaries have no quantiles: only _sum and _count lines.
    assert.equal(s.filter((x) => x.name === 'k8s_packet_bytes_sent' || 'quantile' in x.labels).length, 0);
  });

  test('src_port is the client port when source ports are not hidden', async () => {
    const { connections } = await load('http1/zeek__bro.org.pcap');
    const m = new HubMetrics({ hideSourcePort: false });
    feed(m, connections, []);
    const s = await scrape(m);
    const closed = connections.filter((c) => c.closeReason !== 'open');
    for (const c of closed) {
      const l = { src_port: String(c.src.port), dst_port: String(c.dst.port) };
      assert.equal(total(s, 'k8s_packet_bytes_sent_sum', l), c.sent.bytes, `port ${c.src.port}`);
      assert.equal(total(s, 'k8s_packet_bytes_sent_count', l), 1);
    }
    assert.equal(select(s, 'k8s_packet_bytes_sent_count', { src_port: 'dynamic' }).length, 0);
  });

  test('a short connection seen open, closed, then closed again is observed once', async () => {
    const { connections } = await load('http1/zeek__bro.org.pcap');
    const rec = connections.find((c) => c.closeReason === 'fin')!;
    const m = new HubMetrics();
    m.observeConnection(snapshot(rec, 0.4));
    m.observeConnection(rec);
    m.observeConnection(rec); // a replayed close
    m.observeConnection(snapshot(rec, 0.7)); // a late snapshot of a closed connection
    const s = await scrape(m);
    assert.equal(total(s, 'k8s_packet_bytes_sent_count'), 1);
    assert.equal(total(s, 'k8s_packet_bytes_sent_sum'), rec.sent.bytes);
    assert.equal(total(s, 'k8s_packet_bytes_received_sum'), rec.received.bytes);
    close(total(s, 'k8s_packet_duration_seconds_sum'), rec.durationMs / 1000, 'duration');
    assert.equal(total(s, 'bytes_sent'), rec.sent.bytes);
    assert.equal(total(s, 'bytes_recv'), rec.received.bytes);
    assert.equal(total(s, 'podwire_metrics_duplicate_connection_records_total'), 2);
  });

  test('a long-lived connection is observed every 10 s while open, each byte and second once', async () => {
    const { connections } = await load('postgresql/suricata-verify__pgsql-simple-query-rollback.pcap');
    const rec = connections[0]!;
    assert.ok(rec.durationMs > 60_000, 'the session lasts over a minute');
    const at = (ms: number) => snapshot(rec, ms / rec.durationMs);
    const m = new HubMetrics();
    const l = { persistent: 'true' };
    m.observeConnection(at(5_000)); // younger than 10 s: nothing yet
    assert.equal(total(await scrape(m), 'k8s_packet_bytes_sent_count'), 0);
    m.observeConnection(at(15_000)); // persistent: first observation, 15 s of it
    let s = await scrape(m);
    assert.equal(total(s, 'k8s_packet_bytes_sent_count', l), 1);
    assert.equal(total(s, 'k8s_packet_bytes_sent_sum', l), at(15_000).sent.bytes);
    close(total(s, 'k8s_packet_duration_seconds_sum', l), 15, '15 s');
    m.observeConnection(at(20_000)); // 5 s after the last observation: not yet
    m.observeConnection(at(15_000)); // an old snapshot arriving late: adds nothing
    assert.equal(total(await scrape(m), 'k8s_packet_bytes_sent_count', l), 1);
    m.observeConnection(at(30_000)); // 15 s after: the second observation
    m.observeConnection(rec); // the close: the rest
    s = await scrape(m);
    assert.equal(total(s, 'k8s_packet_bytes_sent_count', l), 3);
    assert.equal(total(s, 'k8s_packet_bytes_sent_sum', l), rec.sent.bytes);
    assert.equal(total(s, 'k8s_packet_bytes_received_sum', l), rec.received.bytes);
    close(total(s, 'k8s_packet_duration_seconds_sum', l), (rec.end - rec.start) / 1e6, 'whole duration');
    assert.equal(total(s, 'bytes_sent'), rec.sent.bytes, 'kube-netc total counts each byte once');
    assert.equal(select(s, 'k8s_packet_bytes_sent_count', { persistent: 'false' }).length, 0);
  });
});

describe('k8spacket TLS series', () => {
  test('tls_record and cert_expiry_count count handshakes; cert_expiry is the leaf notAfter in epoch ms', async () => {
    const { connections, entries } = await load('tls/ja4__tls-handshake.pcapng');
    const m = new HubMetrics();
    feed(m, connections, entries);
    const s = await scrape(m);
    const tls = entries.filter((e) => e.protocol === 'tls');
    assert.ok(tls.length > 50);

    const records = new Map<string, number>();
    const servers = new Map<string, number>();
    for (const e of tls) {
      const r = e.response as { version?: string; cipherSuite?: string } | null;
      const k = [e.src.ip, e.dst.ip, e.dst.port, e.path, r?.version ?? '', r?.cipherSuite ?? ''].join('|');
      records.set(k, (records.get(k) ?? 0) + 1);
      const sk = [e.dst.ip, e.dst.port, e.path].join('|');
      servers.set(sk, (servers.get(sk) ?? 0) + 1);
    }
    assert.equal(select(s, 'k8s_packet_tls_record').length, records.size);
    for (const [k, n] of records) {
      const [src, dst, port, domain, version, cipher] = k.split('|');
      const l = {
        ns: '',
        src: src!,
        src_name: '',
        dst: dst!,
        dst_name: '',
        dst_port: port!,
        domain: domain!,
        tls_version: version!,
        cipher_suite: cipher!,
      };
      assert.equal(total(s, 'k8s_packet_tls_record', l), n, k);
    }
    assert.ok(select(s, 'k8s_packet_tls_record', { tls_version: 'TLS 1.2' }).length > 0);
    assert.ok(select(s, 'k8s_packet_tls_record', { tls_version: 'TLS 1.3' }).length > 0);
    assert.equal(select(s, 'k8s_packet_tls_cert_expiry_count').length, servers.size);
    for (const [k, n] of servers) {
      const [dst, port, domain] = k.split('|');
      assert.equal(
        total(s, 'k8s_packet_tls_cert_expiry_count', { dst: dst!, dst_port: port!, domain: domain! }),
        n,
      );
    }

    // Certificates travel in clear up to TLS 1.2 only; each connection's summary names its leaf.
    const certs = connections.filter(
      (c) => (c.l7?.tls as { certificate?: unknown } | undefined)?.certificate,
    );
    assert.equal(certs.length, 6);
    assert.equal(select(s, 'k8s_packet_tls_cert_expiry').length, 6);
    for (const c of certs) {
      const t = c.l7!.tls as { domain: string; certificate: { notAfter: string } };
      const l = { dst: c.dst.ip, dst_port: String(c.dst.port), domain: t.domain };
      assert.equal(total(s, 'k8s_packet_tls_cert_expiry', l), new Date(t.certificate.notAfter).getTime());
    }
    // One case checked by hand against the certificate: *.lastpass.com, notAfter 2023-12-18T15:53:57Z.
    assert.equal(
      total(s, 'k8s_packet_tls_cert_expiry', { domain: 'lp-push-server-452.lastpass.com' }),
      Date.UTC(2023, 11, 18, 15, 53, 57),
    );
  });
});

describe('kube-netc series', () => {
  test('bytes_sent / bytes_recv are the payload bytes per source and destination:port', async () => {
    const { connections } = await loadAll(MIXED);
    const m = new HubMetrics();
    feed(m, connections, []);
    m.setActiveConnections(7);
    const s = await scrape(m);
    const want = new Map<string, { sent: number; recv: number }>();
    for (const c of connections) {
      // kube-netc's destination_address is IP:port; podwire brackets IPv6 addresses (RFC 3986).
      const dst = c.dst.ip.includes(':') ? `[${c.dst.ip}]` : c.dst.ip;
      const k = `${c.src.ip}|${dst}:${c.dst.port}`;
      const w = want.get(k) ?? { sent: 0, recv: 0 };
      w.sent += c.sent.bytes;
      w.recv += c.received.bytes;
      want.set(k, w);
    }
    assert.equal(select(s, 'bytes_sent').length, want.size);
    for (const [k, w] of want) {
      const [source_address, destination_address] = k.split('|');
      const l = { source_address: source_address!, destination_address: destination_address! };
      assert.equal(total(s, 'bytes_sent', l), w.sent, k);
      assert.equal(total(s, 'bytes_recv', l), w.recv, k);
    }
    const labels = Object.keys(select(s, 'bytes_sent')[0]!.labels).sort();
    assert.deepEqual(labels, [
      'component',
      'destination_address',
      'destination_kind',
      'destination_name',
      'destination_namespace',
      'destination_node',
      'instance',
      'managed_by',
      'name',
      'part_of',
      'source_address',
      'source_kind',
      'source_name',
      'source_namespace',
      'source_node',
      'version',
    ]);
    assert.equal(total(s, 'active_connections'), 7);
  });

  test('per-second gauges are the bytes added between ticks over the time between them', async () => {
    const { connections } = await load('http1/zeek__bro.org.pcap');
    const [a, b] = connections.filter((c) => c.closeReason === 'fin');
    let now = 1_000_000;
    const m = new HubMetrics({ clock: () => now });
    m.observeConnection(a!);
    now += 2_000;
    m.tick(now);
    let s = await scrape(m);
    close(total(s, 'bytes_sent_per_second'), a!.sent.bytes / 2, 'first tick');
    close(total(s, 'bytes_recv_per_second'), a!.received.bytes / 2, 'first tick recv');
    m.observeConnection(b!);
    now += 4_000;
    m.tick(now);
    s = await scrape(m);
    close(total(s, 'bytes_sent_per_second'), b!.sent.bytes / 4, 'second tick');
    now += 1_000;
    m.tick(now);
    s = await scrape(m);
    assert.equal(total(s, 'bytes_sent_per_second'), 0);
    assert.equal(total(s, 'bytes_sent'), a!.sent.bytes + b!.sent.bytes);
  });

  test('Kubernetes identities fill the labels; IPv6 destinations are bracketed', () => {
    const m = new HubMetrics();
    const rec: ConnectionRecord = {
      type: 'connection',
      id: 1,
      ipVersion: 6,
      start: 1,
      end: 2,
      durationMs: 0.001,
      src: {
        ip: 'fd00::1',
        port: 40000,
        name: 'web-7d9f-x2k4p',
        namespace: 'shop',
        kind: 'pod',
        workload: 'web',
        node: 'n1',
      },
      dst: { ip: 'fd00::2', port: 5432, name: 'db', namespace: 'data', kind: 'service' },
      closeReason: 'fin',
      closedBy: 'src',
      midstream: false,
      handshake: null,
      sent: { packets: 1, bytes: 10, wireBytes: 80, retransmissions: 0, outOfOrder: 0, gaps: 0, gapBytes: 0 },
      received: {
        packets: 1,
        bytes: 20,
        wireBytes: 90,
        retransmissions: 0,
        outOfOrder: 0,
        gaps: 0,
        gapBytes: 0,
      },
    };
    m.observeConnection(rec);
    return scrape(m).then((s) => {
      const [x] = select(s, 'bytes_sent');
      assert.deepEqual(x!.labels, {
        source_address: 'fd00::1',
        destination_address: '[fd00::2]:5432',
        source_name: 'web-7d9f-x2k4p',
        source_kind: 'pod',
        source_namespace: 'shop',
        source_node: 'n1',
        destination_name: 'db',
        destination_kind: 'service',
        destination_namespace: 'data',
        destination_node: '',
        name: '',
        component: '',
        instance: '',
        version: '',
        part_of: '',
        managed_by: '',
      });
      assert.equal(x!.value, 10);
      const [k] = select(s, 'k8s_packet_bytes_received_sum');
      assert.deepEqual(k!.labels, {
        ns: 'shop',
        src: 'fd00::1',
        src_name: 'web-7d9f-x2k4p',
        src_port: 'dynamic',
        dst: 'fd00::2',
        dst_name: 'db',
        dst_port: '5432',
        persistent: 'false',
      });
      assert.equal(k!.value, 20);
    });
  });
});

test("kube-netc's object labels are the source's recommended labels; the destination's are not used", async () => {
  const m = new HubMetrics();
  const half = {
    packets: 1,
    bytes: 10,
    wireBytes: 80,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
  };
  m.observeConnection({
    type: 'connection',
    id: 7,
    ipVersion: 4,
    start: 1,
    end: 2,
    durationMs: 0.001,
    src: {
      ip: '10.1.0.5',
      port: 40000,
      name: 'web-7d9f-x2k4p',
      namespace: 'shop',
      kind: 'pod',
      labels: {
        'app.kubernetes.io/name': 'web',
        'app.kubernetes.io/component': 'frontend',
        'app.kubernetes.io/instance': 'web-prod',
        'app.kubernetes.io/version': '1.4.2',
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/managed-by': 'helm',
      },
    },
    dst: {
      ip: '10.1.0.9',
      port: 5432,
      name: 'db-0',
      namespace: 'data',
      kind: 'pod',
      labels: { 'app.kubernetes.io/name': 'postgres' },
    },
    closeReason: 'fin',
    closedBy: 'src',
    midstream: false,
    handshake: null,
    sent: half,
    received: { ...half, bytes: 20 },
  });
  const s = await scrape(m);
  const [x] = select(s, 'bytes_recv');
  assert.equal(x!.value, 20);
  assert.deepEqual(
    [
      x!.labels.name,
      x!.labels.component,
      x!.labels.instance,
      x!.labels.version,
      x!.labels.part_of,
      x!.labels.managed_by,
    ],
    ['web', 'frontend', 'web-prod', '1.4.2', 'shop', 'helm'],
  );
});

describe('podwire request metrics', () => {
  test('requests, errors and the latency histogram per protocol and workload equal the entries', async () => {
    const { entries } = await loadAll(MIXED);
    const m = new HubMetrics();
    feed(m, [], entries);
    const s = await scrape(m);
    // Failures by each protocol's own definition (DESIGN.md's status column): HTTP 5xx, a PostgreSQL
    // SQLSTATE, an AMQP reply code of 300 or more, a DNS rcode other than NOERROR.
    const failed = (e: Entry): boolean => {
      const st = e.status;
      if (st === null) return false;
      if (e.protocol === 'http') return Number(st) >= 500;
      if (e.protocol === 'postgres') return /^[0-9A-Z]{5}$/.test(String(st));
      if (e.protocol === 'amqp') return Number(st) >= 300;
      if (e.protocol === 'dns') return st !== 'NOERROR';
      return false;
    };
    const groups = new Map<string, Entry[]>();
    for (const e of entries) {
      // No enrichment here: the workload falls back to the address.
      const k = [e.protocol, e.src.ip, e.dst.ip].join('|');
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    assert.equal(select(s, 'podwire_requests_total').length, groups.size);
    let errors = 0;
    for (const [k, es] of groups) {
      const [protocol, src, dst] = k.split('|');
      const l = {
        protocol: protocol!,
        src_namespace: '',
        src_workload: src!,
        dst_namespace: '',
        dst_workload: dst!,
      };
      assert.equal(total(s, 'podwire_requests_total', l), es.length, k);
      const nErr = es.filter(failed).length;
      errors += nErr;
      assert.equal(total(s, 'podwire_request_errors_total', l), nErr, `errors ${k}`);
      const timed = es.filter((e) => e.elapsedMs !== null).map((e) => e.elapsedMs! / 1000);
      assert.equal(total(s, 'podwire_request_duration_seconds_count', l), timed.length);
      close(
        total(s, 'podwire_request_duration_seconds_sum', l),
        timed.reduce((a, b) => a + b, 0),
        `sum ${k}`,
      );
      for (const le of [0.001, 0.01, 0.1, 1]) {
        const n = timed.filter((v) => v <= le).length;
        assert.equal(
          total(s, 'podwire_request_duration_seconds_bucket', { ...l, le: String(le) }),
          n,
          `le ${le} ${k}`,
        );
      }
      assert.equal(total(s, 'podwire_request_duration_seconds_bucket', { ...l, le: '+Inf' }), timed.length);
    }
    assert.equal(errors, 2 + 3 + 7 + 1, 'the captures hold 5 SQL errors, 7 AMQP errors, 1 SERVFAIL');
    assert.equal(
      new Set(select(s, 'podwire_request_duration_seconds_bucket').map((x) => x.labels.le)).size,
      LATENCY_BUCKETS.length + 1,
    );
  });

  test('the workload, else the name, else the address names each side', () => {
    const m = new HubMetrics();
    const base: Entry = {
      type: 'entry',
      id: 'u1',
      protocol: 'redis',
      timestamp: 0,
      elapsedMs: 0.2,
      method: 'GET',
      path: 'k',
      status: 'ERROR',
      request: {},
      response: {},
      requestSize: 1,
      responseSize: 1,
      connectionId: null,
      error: null,
      src: {
        ip: '10.0.0.1',
        port: 1234,
        name: 'api-5f6-abc',
        namespace: 'shop',
        kind: 'pod',
        workload: 'api',
      },
      dst: { ip: '10.0.0.2', port: 6379, name: 'cache', namespace: 'shop', kind: 'service' },
    };
    m.observeEntry(base);
    m.observeEntry({ ...base, status: 'OK', src: { ip: '203.0.113.9', port: 1 } });
    return scrape(m).then((s) => {
      assert.equal(
        total(s, 'podwire_requests_total', {
          src_workload: 'api',
          dst_workload: 'cache',
          src_namespace: 'shop',
        }),
        1,
      );
      assert.equal(total(s, 'podwire_request_errors_total', { src_workload: 'api' }), 1);
      assert.equal(total(s, 'podwire_requests_total', { src_workload: '203.0.113.9', src_namespace: '' }), 1);
      assert.equal(total(s, 'podwire_request_errors_total', { src_workload: '203.0.113.9' }), 0);
    });
  });
});

describe('bounded memory', () => {
  test('past the cap, label sets fold into `other`, sums stay whole, folds are counted once each', async () => {
    const { connections, entries } = await loadAll(MIXED);
    const m = new HubMetrics({ maxSeries: 5 });
    feed(m, connections, entries);
    feed(m, [], entries); // the same label sets again: no new folds
    const s = await scrape(m);
    const admitted = (name: string) => select(s, name).filter((x) => x.labels.source_address !== 'other');
    assert.equal(admitted('bytes_sent').length, 5);
    const other = select(s, 'bytes_sent', { source_address: 'other' });
    assert.equal(other.length, 1);
    assert.ok(Object.values(other[0]!.labels).every((v) => v === 'other'));
    assert.equal(
      total(s, 'bytes_sent'),
      connections.reduce((a, c) => a + c.sent.bytes, 0),
    );
    const distinct = new Set(connections.map((c) => `${c.src.ip}|${c.dst.ip}:${c.dst.port}`)).size;
    assert.equal(total(s, 'podwire_metrics_folded_series_total', { metric: 'bytes_sent' }), distinct - 5);
    assert.equal(
      total(s, 'podwire_metrics_folded_series_total', { metric: 'bytes_recv_per_second' }),
      distinct - 5,
    );

    // Requests keep their protocol in `other`; the counts over all label sets are still every entry.
    const reqs = select(s, 'podwire_requests_total');
    assert.ok(reqs.filter((x) => x.labels.src_workload !== 'other').length === 5);
    assert.ok(reqs.some((x) => x.labels.src_workload === 'other' && x.labels.protocol !== 'other'));
    assert.equal(total(s, 'podwire_requests_total'), 2 * entries.length);
    assert.equal(total(s, 'podwire_metrics_series', { metric: 'podwire_requests_total' }), reqs.length);
    // k8spacket's summaries keep `persistent`.
    const tcpOther = select(s, 'k8s_packet_bytes_sent_count', { src: 'other' });
    assert.ok(
      tcpOther.length >= 1 && tcpOther.every((x) => ['true', 'false'].includes(x.labels.persistent!)),
    );
  });

  test('series not updated for the TTL are deleted, and come back when traffic does', async () => {
    const { connections, entries } = await load('http1/zeek__bro.org.pcap');
    let now = 5_000_000;
    const m = new HubMetrics({ clock: () => now, seriesTtlMs: 60_000 });
    feed(m, connections, entries);
    now += 30_000;
    m.tick(now);
    let s = await scrape(m);
    const live = select(s, 'bytes_sent').length;
    assert.ok(live > 0 && select(s, 'podwire_requests_total').length > 0);
    now += 31_000; // 61 s after the last update
    m.tick(now);
    s = await scrape(m);
    for (const name of [
      'bytes_sent',
      'bytes_sent_per_second',
      'k8s_packet_bytes_sent_sum',
      'podwire_requests_total',
      'podwire_request_duration_seconds_bucket',
    ])
      assert.equal(select(s, name).length, 0, name);
    assert.equal(total(s, 'podwire_metrics_expired_series_total', { metric: 'bytes_sent' }), live);
    assert.equal(total(s, 'podwire_metrics_connection_states'), 0, 'the open connection state expired too');
    feed(m, [connections[0]!], []);
    s = await scrape(m);
    assert.equal(select(s, 'bytes_sent').length, 1);
  });

  test('the connection ledger is capped: the least recently updated open connection is forgotten', async () => {
    const { connections } = await load('http1/ja4__http1.pcapng');
    const open = connections.filter((c) => c.closeReason === 'open');
    const m = new HubMetrics({ maxConnections: 10 });
    feed(m, open, []);
    const s = await scrape(m);
    assert.equal(total(s, 'podwire_metrics_connection_states'), 10);
    assert.equal(total(s, 'podwire_metrics_connection_states_evicted_total'), open.length - 10);
  });

  test('the ledger forgets the least recently updated connection, and only that one', async () => {
    const { connections } = await load('http1/zeek__bro.org.pcap');
    const [a, b, c, d] = connections.filter((x) => x.closeReason === 'fin');
    const half = (r: ConnectionRecord) => snapshot(r, 0.5).sent.bytes;
    const m = new HubMetrics({ maxConnections: 3 });
    for (const r of [a!, b!, c!]) m.observeConnection(snapshot(r, 0.5));
    m.observeConnection(snapshot(a!, 0.6)); // a is now the most recently updated
    m.observeConnection(snapshot(d!, 0.5)); // full: b, the least recently updated, is forgotten
    m.observeConnection(a!);
    m.observeConnection(b!);
    const s = await scrape(m);
    assert.equal(total(s, 'podwire_metrics_connection_states_evicted_total'), 1);
    // a is counted once; b's close counts from zero again (its first half twice), as documented.
    assert.equal(total(s, 'bytes_sent'), a!.sent.bytes + half(b!) + b!.sent.bytes + half(c!) + half(d!));
    assert.equal(total(s, 'podwire_metrics_connection_states'), 2);
  });
});

test('records missing what the metrics read are refused and counted, not half-counted', async () => {
  const { connections, entries } = await load('http1/zeek__bro.org.pcap');
  const m = new HubMetrics();
  const noBytes = structuredClone(connections[0]!) as unknown as { sent: { bytes: unknown } };
  noBytes.sent.bytes = 'many';
  m.observeConnection(noBytes as unknown as ConnectionRecord);
  m.observeConnection({ ...connections[1]!, durationMs: Number.NaN });
  m.observeEntry({ ...entries[0]!, dst: undefined } as unknown as Entry);
  const s = await scrape(m);
  assert.equal(total(s, 'podwire_metrics_invalid_records_total', { type: 'connection' }), 2);
  assert.equal(total(s, 'podwire_metrics_invalid_records_total', { type: 'entry' }), 1);
  assert.equal(select(s, 'bytes_sent').length, 0);
  assert.equal(select(s, 'podwire_requests_total').length, 0);
});

test('an OpenMetrics registry is refused: it would rename k8spacket counters with _total', () => {
  assert.throws(() => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(openMetricsContentType);
    return new HubMetrics({ registry: registry as unknown as Registry });
  }, /Prometheus text-format registry/);
  const m = new HubMetrics();
  assert.equal(m.contentType, 'text/plain; version=0.0.4; charset=utf-8');
});
