/**
 * Issue 7's done-when, end to end: a real Prometheus (Debian's /usr/bin/prometheus) scrapes a
 * running hub's /metrics with the bearer token the hub requires (Prometheus' `authorization`
 * setting), after the hub took in records of a real capture through its intake; a job without the
 * token is refused. PromQL of the dashboards' shape returns the sums computed here from the records.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Hub } from '../../src/hub/hub.js';
import { load } from '../metrics/records.js';

const PROMETHEUS = '/usr/bin/prometheus';
const TOKEN = 'prometheus-scrapes-with-this-token';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

interface Target {
  labels: { job: string };
  health: string;
  lastError: string;
}

describe('a real Prometheus scrapes a running hub, with its token', {
  skip: existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is missing (Debian package prometheus)`,
  timeout: 60_000,
}, () => {
  let hub: Hub;
  let prom: ChildProcess | null = null;
  let promUrl = '';
  let promLog = '';
  const dir = mkdtempSync(join(tmpdir(), 'podwire-prom-hub-'));
  let sentBytes = 0;
  let httpEntries = 0;

  const query = async (q: string) => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    assert.equal(body.status, 'success', q);
    return body.data.result;
  };

  const targets = async () => {
    const res = await fetch(`${promUrl}/api/v1/targets`);
    return ((await res.json()) as { data: { activeTargets: Target[] } }).data.activeTargets;
  };

  before(async () => {
    hub = await Hub.start({ store: { path: ':memory:' }, host: '127.0.0.1', port: 0, token: TOKEN });
    const { connections, entries } = await load('http1/zeek__bro.org.pcap');
    for (const e of entries) hub.entry(e);
    for (const c of connections) hub.connection(c);
    hub.flush();
    // k8spacket's summaries are observed when a connection closes.
    sentBytes = connections.filter((c) => c.closeReason !== 'open').reduce((n, c) => n + c.sent.bytes, 0);
    httpEntries = entries.filter((e) => e.protocol === 'http').length;
    assert.ok(sentBytes > 0 && httpEntries > 0);

    const target = new URL(hub.url()).host;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: podwire',
        '    authorization:',
        '      type: Bearer',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['${target}']`,
        '  - job_name: no-token',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr?.on('data', (d: Buffer) => {
      promLog = (promLog + d.toString()).slice(-10_000);
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const t = await targets().catch(() => []);
      const ok = t.find((x) => x.labels.job === 'podwire')?.health === 'up';
      const refused = t.find((x) => x.labels.job === 'no-token')?.health === 'down';
      if (ok && refused && (await query('k8s_packet_bytes_sent_sum').catch(() => [])).length) break;
      if (Date.now() > deadline) throw new Error(`Prometheus never scraped the hub:\n${promLog}`);
      await sleep(250);
    }
  });

  after(async () => {
    prom?.kill('SIGTERM');
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without the token the scrape fails with 401', async () => {
    const t = (await targets()).find((x) => x.labels.job === 'no-token');
    assert.equal(t?.health, 'down');
    assert.match(t?.lastError ?? '', /401/);
  });

  test('sum(k8s_packet_bytes_sent_sum) is the bytes clients sent on closed connections', async () => {
    const [r] = await query('sum(k8s_packet_bytes_sent_sum{job="podwire"})');
    assert.equal(Number(r?.value[1]), sentBytes);
  });

  test('sum(podwire_requests_total{protocol="http"}) is the HTTP entries taken in', async () => {
    const [r] = await query('sum(podwire_requests_total{job="podwire",protocol="http"})');
    assert.equal(Number(r?.value[1]), httpEntries);
  });
});
