/**
 * The whole path on a node in miniature: two pods (network namespaces on a bridge), `podwire agent`
 * capturing their veths and streaming to `podwire hub` (a separate process, with a token, naming
 * endpoints from a cluster snapshot), clients calling across the pods. What the hub serves is
 * checked against what the clients did: the REST API with filters, redaction of the secret the
 * client sent, Grafana's Node Graph, Prometheus metrics; then the hub is killed with SIGKILL while
 * the agent keeps capturing, restarted, and every request made meanwhile must arrive, once.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Node, netnsAvailable, waitFor } from '../support/netns.js';
import { PODWIRE, ROOT } from '../support/paths.js';
import { freePort } from '../support/ports.js';

/** `/status/C` answers C, `/size/N` answers 200 with N bytes. */
const SERVER = `
require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const [, kind, arg] = req.url.split('/');
    if (kind === 'status') { res.writeHead(Number(arg), { 'content-length': 0 }); return res.end(); }
    const n = Number(arg ?? 10);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': n });
    res.end('x'.repeat(n));
  });
}).listen(8080, '0.0.0.0');
`;

const TOKEN = 'e2e-hub-token-0123456789abcdef';
const SECRET = 'Bearer client-secret-must-not-be-stored';
const CLIENT = 'loadgen-5f7b9c8d4-q2w3e';
const WEB = 'web-6d4cf56db6-7xk2p';

/** An entry summary as /api/entries returns it (the fields this test reads). */
interface ApiEntry {
  id: string;
  path: string;
  status: number | string | null;
  connectionId: number | null;
  node?: string;
  src: { name?: string; namespace?: string; workload?: string };
  dst: { name?: string; namespace?: string; workload?: string };
}

interface GraphEdge {
  source: string;
  target: string;
  mainStat: string;
}

class Proc {
  stderr = '';
  constructor(readonly child: ChildProcess) {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    child.stdout!.resume();
  }
  async log(re: RegExp, ms = 10_000): Promise<void> {
    await waitFor(async () => {
      if (!re.test(this.stderr)) throw new Error(`no '${re.source}' in:\n${this.stderr}`);
    }, ms);
  }
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await Promise.race([once(this.child, 'exit'), new Promise((r) => setTimeout(r, 15_000))]);
  }
}

const available = await netnsAvailable();

describe('agent -> hub on a node: APIs, redaction, node graph, metrics, hub killed', {
  skip: available ? false : 'needs root and ip netns',
  timeout: 120_000,
}, () => {
  const node = new Node('pwhub', '198.18.21');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-hub-e2e-'));
  const tokenFile = join(dir, 'token');
  const snapshot = join(dir, 'cluster.json');
  let port = 0;
  let hub: Proc;
  let agent: Proc;

  const startHub = async () => {
    const p = new Proc(
      spawn(
        PODWIRE,
        [
          'hub',
          '--listen',
          `127.0.0.1:${port}`,
          '--store',
          join(dir, 'hub.db'),
          '--token-file',
          tokenFile,
          '--k8s',
          snapshot,
          '--no-reverse-dns',
          '--node',
          'pwhub-node',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    await p.log(/listening on http:\/\/127\.0\.0\.1:\d+/);
    return p;
  };

  const api = async (path: string, token: string | null = TOKEN) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };

  /** Every entry the hub has that matches `q`, walking the cursor. */
  const allEntries = async (q: string) => {
    const out: ApiEntry[] = [];
    let cursor: string | null = null;
    do {
      const qs = new URLSearchParams({ q, limit: '50', ...(cursor ? { cursor } : {}) });
      const r = await api(`/api/entries?${qs}`);
      assert.equal(r.status, 200, r.text);
      const body = r.json();
      out.push(...body.entries);
      cursor = body.cursor;
    } while (cursor);
    return out;
  };

  const curl = (path: string) =>
    node.exec(node.pod('client').ns, 'curl', [
      '-s',
      '-o',
      '/dev/null',
      '-H',
      `Authorization: ${SECRET}`,
      `http://${node.pod('server').ip}:8080${path}`,
    ]);

  before(async () => {
    await node.up(['client', 'server']);
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const fixture = readFileSync(join(ROOT, 'test', 'enrich', 'fixtures', 'netns-cluster.json'), 'utf8');
    writeFileSync(snapshot, fixture.replaceAll('198.18.17.', '198.18.21.').replaceAll('pwk8s', 'pwhub'));
    node.spawn(node.pod('server').ns, process.execPath, ['-e', SERVER]);
    await waitFor(() => curl('/size/1'), 8000);
    port = await freePort();
    hub = await startHub();
    agent = new Proc(
      spawn(
        PODWIRE,
        [
          'agent',
          '-i',
          'pwhubv10,pwhubv11',
          '--hub',
          `http://127.0.0.1:${port}`,
          '--token-file',
          tokenFile,
          '--spool',
          join(dir, 'spool'),
          '--node',
          'pwhub-node',
          '--no-health',
          '--open-report',
          '1s',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    await agent.log(/pwhubv11: capturing/);
    await agent.log(/streaming to/);
    for (const p of ['/size/100', '/size/2000', '/size/5', '/status/503', '/status/500']) await curl(p);
    await waitFor(async () => {
      const n = (await allEntries('http')).length;
      if (n < 5) throw new Error(`${n} entries so far`);
    }, 20_000);
    // Connections are reported once closed and past the tracker's close linger.
    await waitFor(async () => {
      const r = await api('/api/connections?limit=100');
      const closed = r.json().connections.filter((c: { closeReason: string }) => c.closeReason !== 'open');
      if (closed.length < 5) throw new Error(`${closed.length} closed connections so far`);
    }, 30_000);
  });

  after(async () => {
    await agent?.stop();
    await hub?.stop();
    await node.down();
    rmSync(dir, { recursive: true, force: true });
  });

  test('without the token: 401', async () => {
    assert.equal((await api('/api/entries', null)).status, 401);
    assert.equal((await api('/api/entries', `${TOKEN}x`)).status, 401);
    assert.equal((await api('/healthz', null)).status, 200);
  });

  test('every request once, named from the snapshot, stamped with the node', async () => {
    const entries = await allEntries('http');
    assert.deepEqual(entries.map((e) => e.path).sort(), [
      '/size/100',
      '/size/2000',
      '/size/5',
      '/status/500',
      '/status/503',
    ]);
    assert.equal(new Set(entries.map((e) => e.id)).size, 5);
    for (const e of entries) {
      assert.equal(e.src.name, CLIENT);
      assert.equal(e.src.namespace, 'tools');
      assert.equal(e.dst.name, WEB);
      assert.equal(e.dst.workload, 'web');
      assert.equal(e.node, 'pwhub-node');
    }
  });

  test('http and status >= 500 and dst.name == WEB: the two failures', async () => {
    const bad = await allEntries(`http and status >= 500 and dst.name == "${WEB}"`);
    assert.deepEqual(bad.map((e) => e.status).sort(), [500, 503]);
    const cel = await allEntries(`http && status_code >= 500 && dst.namespace == "shop"`);
    assert.equal(cel.length, 2);
    const r = await api(`/api/entries?q=${encodeURIComponent('http and status >=')}`);
    assert.equal(r.status, 400);
    assert.ok(r.json().error.code, r.text);
  });

  test('the client’s Authorization header is redacted before it is stored', async () => {
    const [first] = await allEntries('http');
    const full = await api(`/api/entries/${encodeURIComponent(first!.id)}`);
    assert.equal(full.status, 200);
    assert.ok(!full.text.includes('client-secret'), 'the secret reached the store');
    assert.ok(full.text.includes('[REDACTED]'), full.text.slice(0, 2000));
  });

  test('Grafana Node Graph: loadgen -> web with the five connections', async () => {
    const now = Date.now();
    const qs = `namespace=&include=&exclude=&stats-type=connection&from=${now - 600_000}&to=${now + 60_000}`;
    const fields = await api(`/nodegraph/api/graph/fields?${qs}`);
    assert.equal(fields.status, 200);
    const graph = (await api(`/nodegraph/api/graph/data?${qs}`)).json();
    const client = node.pod('client').ip;
    const server = node.pod('server').ip;
    const edge = (graph.edges as GraphEdge[]).find((e) => e.source === client && e.target === server);
    assert.ok(edge, JSON.stringify(graph));
    assert.equal(edge?.mainStat, 'all: 5', 'five requests, each its own connection (curl closes it)');
    const titles = (graph.nodes as { title: string }[]).map((n) => n.title).sort();
    assert.deepEqual(titles, [`pod.${CLIENT}`, `pod.${WEB}`]);
  });

  test('Prometheus: k8spacket and kube-netc series with the pods’ names', async () => {
    const text = (await api('/metrics')).text;
    assert.match(
      text,
      new RegExp(`k8s_packet_bytes_sent_count\\{[^}]*src_name="${CLIENT}"[^}]*dst_name="${WEB}"`),
    );
    assert.match(text, new RegExp(`bytes_sent\\{[^}]*source_name="${CLIENT}"`));
  });

  test('hub killed with SIGKILL: what the agent captured meanwhile arrives after the restart, once', async () => {
    await hub.stop('SIGKILL');
    for (const p of ['/size/11', '/size/12', '/status/404']) await curl(p);
    await new Promise((r) => setTimeout(r, 1500));
    hub = await startHub();
    await waitFor(async () => {
      const n = (await allEntries('http')).length;
      if (n < 8) throw new Error(`${n} entries so far`);
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    const entries = await allEntries('http');
    assert.equal(entries.length, 8, entries.map((e) => e.path).join(' '));
    assert.equal(new Set(entries.map((e) => `${e.connectionId}/${e.path}`)).size, 8);
    assert.match(agent.stderr, /hub|reconnect|connect/i);
  });
});
