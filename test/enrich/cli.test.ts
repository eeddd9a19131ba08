/**
 * `podwire analyze --k8s` and `podwire snapshot` as a user runs them. The capture is written here
 * byte by byte (HTTP/1.1 and plain TCP between addresses of the fixture cluster, at times that
 * matter: one address changes hands at 09:04:30), and the names expected come from the fixture.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadSnapshots } from '../../src/enrich/snapshot.js';
import { ApiServer, type Obj } from '../support/apiserver.js';
import { ascii, EtherType, ethernet, IpProtocol, ipv4, tcpConversation } from '../support/packets.js';
import { PODWIRE } from '../support/paths.js';
import { writePcap } from '../support/pcap-writer.js';
import { CLUSTER, fixtureItems } from './support.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'podwire-k8s-cli-'));

async function podwire(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(PODWIRE, args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Exchange {
  client: string;
  server: string;
  at: string;
  http?: string;
}

/** The capture: one connection per exchange, an HTTP request and response when `http` is a path. */
const EXCHANGES: Exchange[] = [
  // default/toolbox -> the shop/checkout Service's ClusterIP
  { client: '10.244.2.50:41000', server: '10.96.12.34:80', at: '2024-05-01T09:30:00Z', http: '/cart' },
  // a checkout pod -> postgres-0 (no HTTP: a connection only)
  { client: '10.244.1.10:42000', server: '10.244.1.20:5432', at: '2024-05-01T09:30:01Z' },
  // shop/frontend -> an outside address
  { client: '10.244.2.30:43000', server: '192.0.2.80:80', at: '2024-05-01T09:30:02Z', http: '/' },
  // CoreDNS scrapes kube-proxy's metrics on node-a's address (a hostNetwork pod, by port)
  { client: '10.244.1.2:44000', server: '10.0.0.11:10249', at: '2024-05-01T09:30:03Z', http: '/metrics' },
  // At 09:02 10.244.2.30 was the CronJob's pod, not frontend's: -> the ingress hostPort on node-b
  { client: '10.244.2.30:45000', server: '10.0.0.12:80', at: '2024-05-01T09:02:00Z', http: '/report' },
];

function endpoint(s: string): { ip: string; port: number } {
  const [ip, port] = s.split(':');
  return { ip: ip!, port: Number(port) };
}

function writeCapture(): string {
  const packets: { data: Uint8Array; sec: number; frac: number }[] = [];
  for (const x of EXCHANGES) {
    const t = Date.parse(x.at) * 1000;
    const messages = x.http
      ? [
          { fromClient: true, data: ascii(`GET ${x.http} HTTP/1.1\r\nHost: example\r\n\r\n`) },
          { fromClient: false, data: ascii('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') },
        ]
      : [{ fromClient: true, data: ascii('not http at all, a few bytes') }];
    tcpConversation(endpoint(x.client), endpoint(x.server), messages).forEach((s, i) => {
      const us = t + i * 1000;
      packets.push({
        data: ethernet(
          { etherType: EtherType.IPV4 },
          ipv4({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP }, s.bytes),
        ),
        sec: Math.floor(us / 1e6),
        frac: us % 1e6,
      });
    });
  }
  packets.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
  const path = join(dir, 'cluster.pcap');
  writeFileSync(path, writePcap({ linkType: 1 }, packets).bytes);
  return path;
}

const CAPTURE = writeCapture();

type Side = {
  ip: string;
  port: number;
  name?: string;
  namespace?: string;
  kind?: string;
  workload?: string;
  node?: string;
  labels?: { [k: string]: string };
};
type Record = { type: string; src: Side; dst: Side; path?: string };

function jsonl(stdout: string): Record[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record)
    .filter((r) => r.type !== 'summary');
}

/** The identity fields of a side, as one comparable string. */
function named(s: Side): string {
  return [s.kind, s.namespace, s.name, s.workload, s.node].map((x) => x ?? '-').join(' ');
}

describe('podwire analyze --k8s', () => {
  test('jsonl: entries and connections carry the identity each address had at the time', async () => {
    const r = await podwire('analyze', CAPTURE, '--k8s', CLUSTER, '--format', 'jsonl');
    assert.equal(r.code, 0, r.stderr);
    const records = jsonl(r.stdout);
    const entries = records.filter((x) => x.type === 'entry');
    const connections = records.filter((x) => x.type === 'connection');
    assert.equal(entries.length, 4);
    assert.equal(connections.length, 5);
    const byPort = (port: number) => connections.find((c) => c.src.port === port)!;
    assert.equal(named(byPort(41000).src), 'pod default toolbox toolbox node-b');
    assert.equal(named(byPort(41000).dst), 'service shop checkout checkout -');
    assert.equal(named(byPort(42000).src), 'pod shop checkout-7d9f8c6b5-x2k4p checkout node-a');
    assert.equal(named(byPort(42000).dst), 'pod shop postgres-0 postgres node-a');
    assert.equal(named(byPort(43000).src), 'pod shop frontend-5c6d7b8f9-m4n5b frontend node-b');
    assert.equal(named(byPort(43000).dst), 'external - - - -');
    assert.equal(named(byPort(44000).src), 'pod kube-system coredns-5d78c9869d-tq7vn coredns node-a');
    assert.equal(named(byPort(44000).dst), 'pod kube-system kube-proxy-8xq2w kube-proxy node-a');
    assert.equal(named(byPort(45000).src), 'pod shop report-28574100-7xk2p report node-b');
    assert.equal(
      named(byPort(45000).dst),
      'pod ingress ingress-nginx-controller-2vbfq ingress-nginx-controller node-b',
    );
    // Connection endpoints carry the object's recommended labels (the fixture's pod labels, less
    // pod-template-hash), for kube-netc's series; the service's own labels are its own.
    assert.deepEqual(byPort(42000).src.labels, {
      'app.kubernetes.io/name': 'checkout',
      'app.kubernetes.io/component': 'api',
      'app.kubernetes.io/version': '1.4.2',
      'app.kubernetes.io/part-of': 'shop',
      'app.kubernetes.io/managed-by': 'Helm',
    });
    assert.deepEqual(byPort(41000).dst.labels, { 'app.kubernetes.io/name': 'checkout' });
    assert.equal(byPort(43000).dst.labels, undefined, 'an outside address has none');
    // Entries name their endpoints the same way as their connections.
    for (const e of entries) {
      const c = byPort(e.src.port);
      assert.equal(named(e.src), named(c.src));
      assert.equal(named(e.dst), named(c.dst));
    }
  });

  test('table: names instead of addresses where known', async () => {
    const r = await podwire('analyze', CAPTURE, '--k8s', CLUSTER);
    assert.equal(r.code, 0, r.stderr);
    for (const label of [
      'default/toolbox (pod)',
      'shop/checkout:80 (service)',
      'shop/checkout-7d9f8c6b5-x2k4p (pod)',
      'shop/postgres-0:5432 (pod)',
      'kube-system/kube-proxy-8xq2w:10249 (pod)',
      'shop/report-28574100-7xk2p (pod)',
      'ingress/ingress-nginx-controller-2vbfq:80 (pod)',
      '192.0.2.80:80',
    ])
      assert.ok(r.stdout.includes(label), `table shows ${label}:\n${r.stdout}`);
    for (const ip of ['10.244.2.50', '10.96.12.34', '10.244.1.20', '10.0.0.11', '10.244.2.30'])
      assert.ok(!r.stdout.includes(ip), `no bare ${ip} in the table`);
    // Without --k8s, addresses as before.
    const plain = await podwire('analyze', CAPTURE);
    assert.ok(plain.stdout.includes('10.244.2.50:41000'));
    assert.ok(!plain.stdout.includes('(pod)'));
  });

  test('json: the same names as jsonl', async () => {
    const [a, b] = await Promise.all([
      podwire('analyze', CAPTURE, '--k8s', CLUSTER, '--format', 'json'),
      podwire('analyze', CAPTURE, '--k8s', CLUSTER, '--format', 'jsonl'),
    ]);
    const doc = JSON.parse(a.stdout) as { entries: Record[]; connections: Record[] };
    const lines = jsonl(b.stdout);
    assert.equal(lines.length, 9);
    const key = (x: Record) => `${x.type} ${x.src.port} ${named(x.src)} | ${named(x.dst)}`;
    assert.deepEqual(
      [...doc.entries.map((e) => ({ ...e, type: 'entry' })), ...doc.connections].map(key).sort(),
      lines.map(key).sort(),
    );
  });

  test('namespace and workload filters: k8spacket`s include/exclude on either endpoint', async () => {
    const ports = async (...args: string[]) => {
      const r = await podwire('analyze', CAPTURE, '--k8s', CLUSTER, '--format', 'jsonl', ...args);
      assert.equal(r.code, 0, r.stderr);
      const recs = jsonl(r.stdout);
      const conns = recs.filter((x) => x.type === 'connection').map((x) => x.src.port);
      // An entry is kept exactly when its connection is (same endpoints).
      const ents = recs.filter((x) => x.type === 'entry').map((x) => x.src.port);
      assert.deepEqual(ents.sort(), conns.filter((p) => p !== 42000).sort());
      return conns.sort();
    };
    assert.deepEqual(await ports('--namespace-include', '^shop$'), [41000, 42000, 43000, 45000]);
    assert.deepEqual(await ports('--namespace-include', 'kube'), [44000]);
    assert.deepEqual(await ports('--namespace-exclude', 'kube-system'), [41000, 42000, 43000, 45000]);
    assert.deepEqual(await ports('--namespace-exclude', 'ingress|default'), [42000, 43000, 44000]);
    assert.deepEqual(await ports('--workload-include', 'checkout'), [41000, 42000]);
    assert.deepEqual(await ports('--workload-exclude', 'postgres|ingress'), [41000, 43000, 44000]);
    // Patterns are tested against addresses too, and unanchored.
    assert.deepEqual(await ports('--workload-include', '^192\\.0\\.2\\.'), [43000]);
    assert.deepEqual(
      await ports('--namespace-include', 'shop', '--workload-exclude', 'frontend'),
      [41000, 42000, 45000],
    );
  });

  test('mistakes are usage errors that say what is wrong, never a crash', async () => {
    const bad = await podwire('analyze', CAPTURE, '--k8s', CLUSTER, '--workload-include', 'web(');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--workload-include: 'web\(' is not a valid regular expression/);
    const noK8s = await podwire('analyze', CAPTURE, '--namespace-include', 'shop');
    assert.equal(noK8s.code, 2);
    assert.match(noK8s.stderr, /--namespace-include needs .*--k8s/);
    const missing = await podwire('analyze', CAPTURE, '--k8s', join(dir, 'nope.json'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--k8s .*nope\.json: no such file/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'apiVersion: v1\nkind: List\n');
    const yaml = await podwire('analyze', CAPTURE, '--k8s', notJson);
    assert.equal(yaml.code, 2);
    assert.match(yaml.stderr, /not JSON/);
  });
});

describe('snapshot files', () => {
  test('concatenated documents, arrays of lists and typed lists without item kinds', () => {
    const items = fixtureItems();
    const pods = items.filter((o) => o.kind === 'Pod');
    const rest = items.filter((o) => o.kind !== 'Pod');
    // `kubectl get pods -o json >> f; kubectl get svc,... -o json >> f`: two documents in a row.
    const appended = join(dir, 'appended.json');
    writeFileSync(
      appended,
      `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }, null, 4)}\n${JSON.stringify({ kind: 'List', items: rest })}\n`,
    );
    // The API's own list shape: `PodList`, items without kind or apiVersion.
    const typed = join(dir, 'typed.json');
    writeFileSync(
      typed,
      JSON.stringify([
        { kind: 'PodList', apiVersion: 'v1', items: pods.map(({ kind: _k, apiVersion: _a, ...o }) => o) },
        { kind: 'List', items: rest },
      ]),
    );
    const reference = loadSnapshots([CLUSTER]).model;
    for (const file of [appended, typed]) {
      const { model, summary } = loadSnapshots([file]);
      assert.equal(summary.kinds.Pod, pods.length, file);
      for (const p of pods) {
        const ip = (p.status as { podIP: string }).podIP;
        const t = Date.parse('2024-05-01T09:30:00Z') * 1000;
        assert.equal(model.resolve(ip, 1, t)?.name, reference.resolve(ip, 1, t)?.name, `${file} ${ip}`);
      }
    }
  });
});

describe('podwire snapshot against the stand-in API server', () => {
  const server = new ApiServer();
  let kubeconfig = '';
  before(async () => {
    await server.start();
    server.load(fixtureItems());
    kubeconfig = server.kubeconfig(dir);
  });
  after(() => server.stop());

  test('writes what the server holds, in the List shape analyze --k8s reads', async () => {
    const out = join(dir, 'snapshot.json');
    const r = await podwire('snapshot', '--kubeconfig', kubeconfig, '-o', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /11 pods, 4 services, 4 endpointslices, 2 nodes/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { kind: string; apiVersion: string; items: Obj[] };
    assert.equal(doc.kind, 'List');
    assert.equal(doc.apiVersion, 'v1');
    const key = (o: Obj) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const held = [
      'Pod',
      'Service',
      'EndpointSlice',
      'Node',
      'ReplicaSet',
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'Job',
      'CronJob',
    ]
      .flatMap((k) => server.list(k))
      .map(key)
      .sort();
    assert.deepEqual(doc.items.map(key).sort(), held);
    // Same addresses and names as the server's objects.
    const { model } = loadSnapshots([out]);
    const t = Date.parse('2024-05-01T09:30:00Z') * 1000;
    for (const p of server.list('Pod')) {
      const s = p.status as { podIP: string; phase: string };
      if ((p.spec as { hostNetwork?: boolean }).hostNetwork || s.phase !== 'Running') continue;
      assert.equal(model.resolve(s.podIP, 1, t)?.name, p.metadata.name);
    }
    for (const svc of server.list('Service')) {
      const ip = (svc.spec as { clusterIP: string }).clusterIP;
      if (ip !== 'None') assert.equal(model.resolve(ip, 80, t)?.name, svc.metadata.name);
    }
    // Paged like kubectl, with the kubeconfig's token.
    assert.ok(server.log.some((l) => l.path === '/api/v1/pods' && l.query.limit === '500'));
    const a = await podwire('analyze', CAPTURE, '--k8s', out, '--format', 'jsonl');
    assert.equal(a.code, 0, a.stderr);
    assert.ok(jsonl(a.stdout).some((x) => x.src.name === 'toolbox'));
  });

  test('to standard output without -o; --context picks a context', async () => {
    const r = await podwire('snapshot', '--kubeconfig', kubeconfig, '--context', 'standin');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { items: unknown[] }).items.length, fixtureItems().length);
    const wrong = await podwire('snapshot', '--kubeconfig', kubeconfig, '--context', 'prod');
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /no context 'prod' in the kubeconfig \(it has: standin\)/);
  });

  test('a kind the credentials may not list: said, the rest written, exit 1', async () => {
    server.failNext((path) => path === '/apis/batch/v1/cronjobs', 403);
    const out = join(dir, 'partial.json');
    const r = await podwire('snapshot', '--kubeconfig', kubeconfig, '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cronjobs: .*needs 'list' on cronjobs\.batch/);
    assert.match(r.stderr, /not listed: cronjobs/);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { items: Obj[] };
    assert.ok(!doc.items.some((o) => o.kind === 'CronJob'));
    assert.ok(doc.items.some((o) => o.kind === 'Pod'));
  });

  test('an unreachable server or a missing kubeconfig: exit 1, no file left behind', async () => {
    const down = new ApiServer();
    await down.start();
    const cfg = down.kubeconfig(dir, 'kubeconfig-down');
    await down.stop();
    const out = join(dir, 'never.json');
    const r = await podwire('snapshot', '--kubeconfig', cfg, '-o', out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the API server at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    assert.ok(!existsSync(out));
    const none = await podwire('snapshot', '--kubeconfig', join(dir, 'no-such-kubeconfig'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /cannot load kubeconfig/);
  });
});
