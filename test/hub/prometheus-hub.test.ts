/**
 * Issue 7's done-when, end to end: a real Prometheus (Debian's /usr/bin/prometheus) scrapes a
 * running hub's /metrics with the bearer token the hub requires (Prometheus' `authorization`
 * setting), after the hub took in records of a real capture through its intake; a job without the
 * token is refused. PromQL of the dashboards' shape returns the sums computed here from the records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { load } from '../metrics/records.js';
import { type Prometheus, prometheusMissing, startPrometheus } from '../support/prometheus.js';

const TOKEN = 'prometheus-scrapes-with-this-token';

describe('a real Prometheus scrapes a running hub, with its token', {
  skip: prometheusMissing(),
  timeout: 60_000,
}, () => {
  let hub: Hub;
  let prom: Prometheus;
  let sentBytes = 0;
  let httpEntries = 0;
  let allEntries = 0;

  before(async () => {
    hub = await Hub.start({ store: { path: ':memory:' }, host: '127.0.0.1', port: 0, token: TOKEN });
    const { connections, entries } = await load('http1/zeek__bro.org.pcap');
    for (const e of entries) hub.entry(e);
    for (const c of connections) hub.connection(c);
    hub.flush();
    // k8spacket's summaries are observed when a connection closes.
    sentBytes = connections.filter((c) => c.closeReason !== 'open').reduce((n, c) => n + c.sent.bytes, 0);
    httpEntries = entries.filter((e) => e.protocol === 'http').length;
    allEntries = entries.length;
    assert.ok(sentBytes > 0 && httpEntries > 0);

    const target = new URL(hub.url()).host;
    prom = await startPrometheus([
      '  - job_name: podwire',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${TOKEN}`,
      '    static_configs:',
      `      - targets: ['${target}']`,
      '  - job_name: no-token',
      '    static_configs:',
      `      - targets: ['${target}']`,
    ]);
    await prom.until(
      'the hub scraped with the token, and refused without',
      async () => {
        const t = await prom.targets();
        const ok = t.find((x) => x.labels.job === 'podwire')?.health === 'up';
        const refused = t.find((x) => x.labels.job === 'no-token')?.health === 'down';
        return (
          ok &&
          refused &&
          (await prom.query('k8s_packet_bytes_sent_sum')).length > 0 &&
          (await prom.query('podwire_store_entries')).length > 0
        );
      },
      30_000,
    );
  });

  after(async () => {
    await prom?.stop();
    await hub?.close();
  });

  test('without the token the scrape fails with 401', async () => {
    const t = (await prom.targets()).find((x) => x.labels.job === 'no-token');
    assert.equal(t?.health, 'down');
    assert.match(t?.lastError ?? '', /401/);
  });

  test('sum(k8s_packet_bytes_sent_sum) is the bytes clients sent on closed connections', async () => {
    const [r] = await prom.query('sum(k8s_packet_bytes_sent_sum{job="podwire"})');
    assert.equal(Number(r?.value[1]), sentBytes);
  });

  test('sum(podwire_requests_total{protocol="http"}) is the HTTP entries taken in', async () => {
    const [r] = await prom.query('sum(podwire_requests_total{job="podwire",protocol="http"})');
    assert.equal(Number(r?.value[1]), httpEntries);
  });

  test("the hub's store series: every entry taken in is stored, no write failed", async () => {
    const [stored] = await prom.query('podwire_store_entries{job="podwire"}');
    assert.equal(Number(stored?.value[1]), allEntries);
    const [taken] = await prom.query('podwire_hub_records_total{job="podwire",type="entry"}');
    assert.equal(Number(taken?.value[1]), allEntries);
    const [failed] = await prom.query('podwire_store_write_failed{job="podwire"}');
    assert.equal(Number(failed?.value[1]), 0);
    // An in-memory store writes inline: no checkpointer, no rounds.
    const [rounds] = await prom.query('podwire_store_checkpoint_rounds_total{job="podwire"}');
    assert.equal(Number(rounds?.value[1]), 0);
    const [writes] = await prom.query('podwire_store_write_seconds_count{job="podwire"}');
    assert.ok(Number(writes?.value[1]) >= 1);
  });
});
