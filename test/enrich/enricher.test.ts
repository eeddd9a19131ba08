/**
 * The enricher between the pipeline and the output: identity fields on entries and connection
 * records, at each record's own time; entries of one connection share endpoint objects, which must
 * not be changed under them; outside addresses go to the external namer (peek now, settle before
 * printing) and are `external` without one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import { Enricher, type ExternalName, type ExternalNamer } from '../../src/enrich/enricher.js';
import type { Identity, Resolver } from '../../src/enrich/identity.js';
import { Naming } from '../../src/enrich/naming.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { CLUSTER, us } from './support.js';

const WEB: Identity = {
  name: 'web-6d4cf56db6-7xk2p',
  namespace: 'shop',
  kind: 'pod',
  workload: 'web',
  workloadKind: 'Deployment',
  node: 'node-1',
  labels: {},
};

/** Names 10.0.0.1 as WEB from t=100 on; nothing else. */
const resolver: Resolver = {
  resolve: (ip, _port, ts) => (ip === '10.0.0.1' && ts >= 100 ? WEB : null),
};

function entry(ts: number, src: Entry['src'], dst: Entry['dst']): Entry {
  return {
    type: 'entry',
    id: '1-1',
    protocol: 'http',
    timestamp: ts,
    elapsedMs: 1,
    src,
    dst,
    method: 'GET',
    path: '/',
    status: 200,
    request: {},
    response: {},
    requestSize: 1,
    responseSize: 1,
    connectionId: 1,
    error: null,
  };
}

function connection(start: number): ConnectionRecord {
  const half = {
    packets: 1,
    bytes: 1,
    wireBytes: 60,
    retransmissions: 0,
    outOfOrder: 0,
    gaps: 0,
    gapBytes: 0,
  };
  return {
    type: 'connection',
    id: 1,
    src: { ip: '192.0.2.7', port: 40000 },
    dst: { ip: '10.0.0.1', port: 8080 },
    ipVersion: 4,
    start,
    end: start + 10,
    durationMs: 0.01,
    closeReason: 'fin',
    closedBy: 'src',
    midstream: false,
    handshake: null,
    sent: half,
    received: half,
  };
}

class FakeNamer implements ExternalNamer {
  readonly asked: string[] = [];
  settled: string[] = [];
  private readonly known = new Map<string, ExternalName>();
  peek(ip: string): ExternalName | null {
    this.asked.push(ip);
    return this.known.get(ip) ?? null;
  }
  async settle(ips: Iterable<string>): Promise<void> {
    this.settled = [...ips];
    for (const ip of this.settled) this.known.set(ip, { dns: `host-${ip.replaceAll('.', '-')}.example.net` });
  }
  close(): void {}
}

describe('Enricher', () => {
  test('fills entries at their own time, without changing endpoint objects entries share', () => {
    const e = new Enricher(resolver);
    const client = { ip: '192.0.2.7', port: 40000 };
    const server = { ip: '10.0.0.1', port: 8080 };
    const early = entry(50, client, server);
    const late = entry(150, client, server);
    e.entry(early);
    e.entry(late);
    assert.deepEqual(server, { ip: '10.0.0.1', port: 8080 }, 'the shared object is untouched');
    assert.deepEqual(early.dst, { ip: '10.0.0.1', port: 8080, kind: 'external' });
    assert.deepEqual(late.dst, {
      ip: '10.0.0.1',
      port: 8080,
      name: 'web-6d4cf56db6-7xk2p',
      namespace: 'shop',
      kind: 'pod',
      workload: 'web',
      node: 'node-1',
    });
    assert.deepEqual(late.src, { ip: '192.0.2.7', port: 40000, kind: 'external' });
  });

  test('connection records get the same fields, at their start', () => {
    const e = new Enricher(resolver);
    const c = connection(120);
    e.connection(c);
    assert.equal(c.dst.name, 'web-6d4cf56db6-7xk2p');
    assert.equal(c.dst.workload, 'web');
    assert.equal(c.src.kind, 'external');
    const before = connection(10);
    e.connection(before);
    assert.equal(before.dst.kind, 'external');
  });

  test("connection endpoints carry the object's recommended labels, and only those; entries none", () => {
    const labels = Object.freeze({
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/instance': 'web-prod',
      'app.kubernetes.io/version': '1.4.2',
      'app.kubernetes.io/component': 'frontend',
      'app.kubernetes.io/part-of': 'shop',
      'app.kubernetes.io/managed-by': 'helm',
      team: 'payments',
      'app.kubernetes.io/unknown': 'x',
    });
    const labelled: Resolver = {
      resolve: (ip, _port, ts) => (ip === '10.0.0.1' && ts >= 100 ? { ...WEB, labels } : null),
    };
    const e = new Enricher(labelled);
    const c = connection(120);
    e.connection(c);
    assert.deepEqual(c.dst.labels, {
      'app.kubernetes.io/name': 'web',
      'app.kubernetes.io/component': 'frontend',
      'app.kubernetes.io/instance': 'web-prod',
      'app.kubernetes.io/version': '1.4.2',
      'app.kubernetes.io/part-of': 'shop',
      'app.kubernetes.io/managed-by': 'helm',
    });
    assert.equal(c.src.labels, undefined, 'an outside address has none');
    // The same set is one object for every record (no allocation per record).
    const again = connection(130);
    e.connection(again);
    assert.equal(again.dst.labels, c.dst.labels);
    // Named again at a time the address was not the pod's: the labels go with the name.
    const reused = connection(130);
    reused.dst.labels = { 'app.kubernetes.io/name': 'stale' };
    reused.start = 10;
    e.connection(reused);
    assert.equal(reused.dst.kind, 'external');
    assert.equal(reused.dst.labels, undefined);
    const en = entry(150, { ip: '192.0.2.7', port: 40000 }, { ip: '10.0.0.1', port: 8080 });
    e.entry(en);
    assert.equal('labels' in en.dst, false, 'entries stay as they were: no labels');
  });

  test('an object without recommended labels gives an endpoint without labels', () => {
    const plain: Resolver = {
      resolve: (ip) => (ip === '10.0.0.1' ? { ...WEB, labels: { app: 'web', team: 'x' } } : null),
    };
    const c = connection(120);
    new Enricher(plain).connection(c);
    assert.equal(c.dst.name, WEB.name);
    assert.equal(c.dst.labels, undefined);
  });

  test('without a model or namer nothing changes', () => {
    const e = new Enricher(null);
    const c = connection(120);
    e.connection(c);
    assert.deepEqual(c.dst, { ip: '10.0.0.1', port: 8080 });
  });

  test('outside addresses: peeked while streaming, named after settle for output printed at the end', async () => {
    const namer = new FakeNamer();
    const e = new Enricher(resolver, namer);
    const c = connection(120);
    const x = entry(150, { ip: '192.0.2.7', port: 40000 }, { ip: '10.0.0.1', port: 8080 });
    e.connection(c);
    e.entry(x);
    assert.deepEqual(namer.asked, ['192.0.2.7', '192.0.2.7'], 'only the outside address is asked about');
    assert.equal(c.src.name, undefined);
    await e.settle([x], [c]);
    assert.deepEqual(namer.settled, ['192.0.2.7']);
    assert.equal(c.src.name, 'host-192-0-2-7.example.net');
    assert.equal(x.src.name, 'host-192-0-2-7.example.net');
    assert.equal(c.src.kind, 'external');
    assert.equal(c.dst.name, 'web-6d4cf56db6-7xk2p', 'cluster names stay');
  });
});

describe('Naming (what analyze applies)', () => {
  test('names from a snapshot, filters after outside names are known', async () => {
    const namer = new FakeNamer();
    const naming = Naming.create({ snapshots: [CLUSTER], workloadExclude: 'example\\.net$' });
    const t = us('2024-05-01T09:30:00Z');
    const conns = [connection(t), connection(t)];
    conns[1]!.src = { ip: '10.244.2.50', port: 41000 };
    conns[1]!.dst = { ip: '10.96.12.34', port: 80 };
    for (const c of conns) naming.connection(c);
    await naming.finish([], conns);
    assert.deepEqual(
      conns.map((c) => `${c.src.name} -> ${c.dst.name}`),
      ['undefined -> undefined', 'toolbox -> checkout'],
    );
    // With a namer, the outside address gets a name that the exclude pattern then drops.
    const named = Naming.create({
      snapshots: [CLUSTER],
      workloadExclude: 'example\\.net$',
      externalNamer: namer,
    });
    const conns2 = [connection(t)];
    named.connection(conns2[0]!);
    await named.finish([], conns2);
    assert.equal(conns2.length, 0);
  });
});

describe('Enricher without a cluster model', () => {
  test('a namer alone names addresses but calls none of them external', async () => {
    const namer = new FakeNamer();
    const e = new Enricher(null, namer);
    const c = connection(120);
    e.connection(c);
    assert.deepEqual(c.dst, { ip: '10.0.0.1', port: 8080 });
    await e.settle([], [c]);
    assert.deepEqual(namer.settled.sort(), ['10.0.0.1', '192.0.2.7']);
    assert.deepEqual(c.dst, { ip: '10.0.0.1', port: 8080, name: 'host-10-0-0-1.example.net' });
  });
});
