/**
 * The real @kubernetes/client-node client (KubeConfig, Watch, ListWatch) driven by podwire's
 * ClusterWatcher against the stand-in API server (test/support/apiserver.ts), through a kubeconfig
 * file that points at it: paged lists, watch events, pod churn with IP reuse, hostNetwork pods,
 * Services and EndpointSlices, owner chains built in any order, a watch broken mid-stream, 410
 * Gone on a watch and on a continue token, bookmarks, and retries after errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadKubeConfig } from '../../src/enrich/client.js';
import { ClusterWatcher, type WatcherOptions } from '../../src/enrich/informers.js';
import { ClusterModel } from '../../src/enrich/model.js';
import { ApiServer, type LoggedRequest, type Obj } from '../support/apiserver.js';
import { fixtureItems, fixtureObject, until, us } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'podwire-informers-'));

interface Cluster {
  server: ApiServer;
  watcher: ClusterWatcher;
  model: ClusterModel;
  /** The watcher's clock (µs): deletions are stamped with it. */
  clock: { now: number };
  stop(): Promise<void>;
}

async function cluster(options: WatcherOptions = {}, before?: (s: ApiServer) => void): Promise<Cluster> {
  const server = new ApiServer();
  await server.start();
  server.load(fixtureItems());
  before?.(server);
  const kc = loadKubeConfig({ kubeconfig: server.kubeconfig(dir, `kubeconfig-${Math.random()}`) });
  const clock = { now: us('2024-05-01T10:00:00Z') };
  const model = new ClusterModel();
  const watcher = new ClusterWatcher(kc, model, {
    pageSize: 3,
    backoffMs: { initial: 20, max: 200 },
    now: () => clock.now,
    ...options,
  });
  await watcher.start();
  // Synced means listed; wait for the watches too, so a test's changes arrive as watch events.
  await until('ten watches open', () => server.openWatches === 10);
  return {
    server,
    watcher,
    model,
    clock,
    async stop() {
      await watcher.stop();
      await until('watches closed', () => server.openWatches === 0).catch((err) => {
        throw new Error(`${err.message}: still open: ${server.openWatchPaths().join(', ')}`);
      });
      await server.stop();
    },
  };
}

/** A pod like the fixture's checkout pod, with another name, address and start. */
function podLike(name: string, ip: string, start: string, patch: (o: Obj) => void = () => {}): Obj {
  const o = fixtureObject('Pod', 'checkout-7d9f8c6b5-x2k4p');
  o.metadata.name = name;
  delete o.metadata.uid;
  delete o.metadata.resourceVersion;
  o.metadata.creationTimestamp = start;
  const status = o.status as Record<string, unknown>;
  status.podIP = ip;
  status.podIPs = [{ ip }];
  status.startTime = start;
  patch(o);
  return o;
}

const podRequests = (log: LoggedRequest[]) => log.filter((r) => r.path === '/api/v1/pods');

describe('informers against the stand-in API server', () => {
  test('initial list in pages, then a watch from the list`s resourceVersion with bookmarks', async () => {
    const c = await cluster();
    try {
      // Every kind listed and watched, with the kubeconfig's bearer token (else 401 and no sync).
      assert.ok(c.server.log.every((r) => r.status !== 401));
      const pods = podRequests(c.server.log);
      const lists = pods.filter((r) => !r.watch);
      // 11 pods in pages of 3: four requests, each after the first carrying the previous continue token.
      assert.equal(lists.length, 4);
      assert.ok(lists.every((r) => r.query.limit === '3'));
      assert.equal(lists[0]!.query.continue, undefined);
      assert.ok(lists.slice(1).every((r) => r.query.continue));
      const watch = pods.find((r) => r.watch)!;
      assert.equal(watch.query.allowWatchBookmarks, 'true');
      assert.ok(Number(watch.query.timeoutSeconds) >= 300, 'a server-side timeout is asked for');
      assert.ok(Number(watch.query.resourceVersion) > 0);
      assert.deepEqual(
        new Set(c.server.log.filter((r) => r.watch).map((r) => r.path)).size,
        10,
        'one watch per kind',
      );
      // What the informers built names every pod of the fixture, as the snapshot does.
      const t = us('2024-05-01T09:30:00Z');
      for (const p of c.server.list('Pod')) {
        const spec = p.spec as { hostNetwork?: boolean };
        const status = p.status as { podIP: string; phase: string };
        if (spec.hostNetwork || status.phase !== 'Running') continue;
        assert.equal(c.model.resolve(status.podIP, 1, t)?.name, p.metadata.name);
      }
      assert.equal(c.model.resolve('10.96.12.34', 80, t)?.workload, 'checkout');
      assert.equal(c.model.resolve('10.0.0.11', 10249, t)?.name, 'kube-proxy-8xq2w');
      assert.equal(c.model.resolve('10.0.0.11', 22, t)?.kind, 'node');
      const status = c.watcher.status();
      assert.equal(status.length, 10);
      assert.ok(status.every((s) => s.synced && s.lists === 1 && s.errors === 0));
    } finally {
      await c.stop();
    }
  });

  test('pod churn: a pod deleted and another created with the same IP resolve by time', async () => {
    const c = await cluster();
    try {
      const ip = '10.244.1.10';
      c.clock.now = us('2024-05-01T10:00:00Z');
      c.server.remove('Pod', 'shop', 'checkout-7d9f8c6b5-x2k4p');
      await until('deletion seen', () => c.model.stats().pods === 10);
      c.clock.now = us('2024-05-01T10:05:00Z');
      c.server.create(podLike('checkout-7d9f8c6b5-n3w9v', ip, '2024-05-01T10:05:00Z'));
      await until('new pod seen', () => c.model.stats().pods === 11);
      assert.equal(c.model.resolve(ip, 8080, us('2024-05-01T09:30:00Z'))?.name, 'checkout-7d9f8c6b5-x2k4p');
      assert.equal(c.model.resolve(ip, 8080, us('2024-05-01T10:10:00Z'))?.name, 'checkout-7d9f8c6b5-n3w9v');
      assert.equal(c.model.resolve(ip, 8080, us('2024-05-01T10:02:00Z')), null, 'nobody held it in between');
      // A pod that gets its IP in a later MODIFIED (scheduled, then running).
      const pending = podLike('checkout-7d9f8c6b5-p7r8s', '10.244.1.11', '2024-05-01T10:06:00Z', (o) => {
        const s = o.status as Record<string, unknown>;
        delete s.podIP;
        delete s.podIPs;
        s.phase = 'Pending';
      });
      c.server.create(pending);
      await until('pending pod seen', () => c.model.stats().pods === 12);
      assert.equal(c.model.resolve('10.244.1.11', 8080, us('2024-05-01T10:10:00Z')), null);
      c.server.update(podLike('checkout-7d9f8c6b5-p7r8s', '10.244.1.11', '2024-05-01T10:06:00Z'));
      await until(
        'its IP seen',
        () => c.model.resolve('10.244.1.11', 8080, us('2024-05-01T10:10:00Z')) !== null,
      );
      assert.equal(c.model.resolve('10.244.1.11', 8080, us('2024-05-01T10:10:00Z'))?.workload, 'checkout');
    } finally {
      await c.stop();
    }
  });

  test('hostNetwork pods by port, Services and EndpointSlices, owners in any order', async () => {
    const c = await cluster();
    try {
      const t = us('2024-05-01T10:10:00Z');
      // A hostNetwork DaemonSet pod on node-b, created before its DaemonSet is known.
      c.server.create(
        podLike('node-exporter-4kq7x', '10.0.0.12', '2024-05-01T10:00:00Z', (o) => {
          o.metadata.namespace = 'monitoring';
          o.metadata.ownerReferences = [
            { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'node-exporter', uid: 'u1', controller: true },
          ];
          const spec = o.spec as {
            hostNetwork?: boolean;
            nodeName: string;
            containers: { ports: unknown[] }[];
          };
          spec.hostNetwork = true;
          spec.nodeName = 'node-b';
          spec.containers[0]!.ports = [
            { containerPort: 9100, hostPort: 9100, name: 'metrics', protocol: 'TCP' },
          ];
        }),
      );
      await until('node-exporter', () => c.model.resolve('10.0.0.12', 9100, t)?.kind === 'pod');
      assert.equal(c.model.resolve('10.0.0.12', 9100, t)?.name, 'node-exporter-4kq7x');
      assert.equal(c.model.resolve('10.0.0.12', 9100, t)?.workload, 'node-exporter');
      assert.equal(c.model.resolve('10.0.0.12', 22, t)?.name, 'node-b');
      assert.equal(c.model.resolve('10.0.0.12', 22, t)?.kind, 'node');

      // Pod first, then its ReplicaSet, then the Deployment: the workload follows.
      c.server.create(
        podLike('cart-6f8d9c7b5-h2j3k', '10.244.2.60', '2024-05-01T10:00:00Z', (o) => {
          o.metadata.ownerReferences = [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: 'cart-6f8d9c7b5',
              uid: 'u2',
              controller: true,
            },
          ];
          o.metadata.labels = { app: 'cart' };
        }),
      );
      await until('cart pod', () => c.model.resolve('10.244.2.60', 1, t) !== null);
      assert.equal(
        c.model.resolve('10.244.2.60', 1, t)?.workload,
        'cart-6f8d9c7b5',
        'no pod-template-hash: the RS name',
      );
      const rs = fixtureObject('ReplicaSet', 'checkout-7d9f8c6b5');
      rs.metadata = {
        name: 'cart-6f8d9c7b5',
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'cart', uid: 'u3', controller: true },
        ],
      };
      c.server.create(rs);
      await until('cart workload', () => c.model.resolve('10.244.2.60', 1, t)?.workload === 'cart');
      assert.equal(c.model.resolve('10.244.2.60', 1, t)?.workloadKind, 'Deployment');

      // A Service and its EndpointSlice.
      const svc = fixtureObject('Service', 'checkout');
      svc.metadata = { name: 'cart', namespace: 'shop', creationTimestamp: '2024-05-01T10:00:00Z' };
      Object.assign(svc.spec as object, { clusterIP: '10.96.20.20', clusterIPs: ['10.96.20.20'] });
      c.server.create(svc);
      const slice = fixtureObject('EndpointSlice', 'checkout-7hx2q');
      slice.metadata = {
        name: 'cart-x8k2m',
        namespace: 'shop',
        creationTimestamp: '2024-05-01T10:00:00Z',
        labels: { 'kubernetes.io/service-name': 'cart' },
      };
      slice.endpoints = [
        {
          addresses: ['10.244.2.60'],
          conditions: { ready: true },
          nodeName: 'node-b',
          targetRef: { kind: 'Pod', name: 'cart-6f8d9c7b5-h2j3k', namespace: 'shop' },
        },
      ];
      c.server.create(slice);
      await until('cart service', () => c.model.resolve('10.96.20.20', 80, t)?.workload === 'cart');
      assert.equal(c.model.resolve('10.96.20.20', 80, t)?.kind, 'service');
      assert.deepEqual(
        c.model.backends('shop', 'cart').map((b) => b.ip),
        ['10.244.2.60'],
      );
      c.server.remove('EndpointSlice', 'shop', 'cart-x8k2m');
      await until('slice gone', () => c.model.backends('shop', 'cart').length === 0);
    } finally {
      await c.stop();
    }
  });

  test('a watch broken mid-stream: the client reconnects from its resourceVersion and catches up', async () => {
    const c = await cluster();
    try {
      const before = c.server.log.length;
      const lastPodsWatch = podRequests(c.server.log)
        .filter((r) => r.watch)
        .at(-1)!;
      // Half an event line, then the socket is destroyed; the changes below happen while no
      // watch is open (this runs in one tick), so the client only learns them by resuming.
      assert.equal(c.server.dropWatches({ midLine: true }), 10);
      c.server.remove('Pod', 'shop', 'checkout-7d9f8c6b5-q8w7z');
      c.server.create(podLike('checkout-7d9f8c6b5-z9y8x', '10.244.2.70', '2024-05-01T10:00:00Z'));
      const t = us('2024-05-01T10:30:00Z');
      await until(
        'caught up',
        () => c.model.resolve('10.244.2.70', 1, t) !== null && c.model.stats().pods === 11,
      );
      assert.equal(c.model.resolve('10.244.2.11', 1, t), null, 'the deleted pod ended');
      const after = podRequests(c.server.log.slice(before));
      assert.ok(
        after.some((r) => r.watch),
        'watched again',
      );
      assert.ok(!after.some((r) => !r.watch), 'resumed, not listed again');
      const resumed = after.find((r) => r.watch)!;
      assert.ok(Number(resumed.query.resourceVersion) >= Number(lastPodsWatch.query.resourceVersion));
      const pods = c.watcher.status().find((s) => s.kind === 'Pod')!;
      assert.equal(pods.lists, 1);
    } finally {
      await c.stop();
    }
  });

  test('410 Gone on reconnect: the client lists again and deletions made meanwhile are seen', async () => {
    const c = await cluster();
    try {
      const before = c.server.log.length;
      c.server.dropWatches();
      c.server.remove('Pod', 'default', 'toolbox');
      c.server.create(podLike('checkout-7d9f8c6b5-w1v2u', '10.244.2.71', '2024-05-01T10:00:00Z'));
      // History before now is forgotten: resuming from the old resourceVersion gets 410.
      c.server.compact();
      const t = us('2024-05-01T10:30:00Z');
      await until(
        'relisted',
        () => c.model.resolve('10.244.2.71', 1, t) !== null && c.model.resolve('10.244.2.50', 1, t) === null,
      );
      const after = podRequests(c.server.log.slice(before));
      const i410 = after.findIndex((r) => r.watch && Number(r.query.resourceVersion) > 0);
      assert.ok(i410 >= 0, 'a watch from the old resourceVersion');
      const relist = after.slice(i410 + 1).find((r) => !r.watch && !r.query.continue);
      assert.ok(relist, 'then a fresh list');
      assert.ok(c.watcher.status().find((s) => s.kind === 'Pod')!.lists >= 2);
      // The toolbox pod was deleted while the client was away: it ended when the relist showed it gone.
      assert.equal(c.model.resolve('10.244.2.50', 1, us('2024-05-01T09:30:00Z'))?.name, 'toolbox');
      assert.equal(c.model.stats().pods, 11);
    } finally {
      await c.stop();
    }
  });

  test('410 Gone on an open watch (an ERROR event) and on an expired continue token', async () => {
    const c = await cluster();
    try {
      let before = c.server.log.length;
      c.server.expireWatches();
      await until('relisted after the ERROR event', () =>
        podRequests(c.server.log.slice(before)).some((r) => !r.watch),
      );
      await until('watching again', () => c.server.openWatches === 10);
      // Compact between the first and the second page of the next list: its continue token expires.
      before = c.server.log.length;
      let compacted = false;
      c.server.onRequest = (r) => {
        if (!compacted && r.path === '/api/v1/pods' && r.query.continue) {
          compacted = true;
          // A change, then compaction: the list's revision is now older than what is kept.
          c.server.update(c.server.get('Node', undefined, 'node-b')!);
          c.server.compact();
        }
      };
      c.server.expireWatches();
      await until('listed whole again', () => {
        const lists = podRequests(c.server.log.slice(before)).filter((r) => !r.watch);
        return (
          lists.filter((r) => !r.query.continue).length === 2 &&
          lists.at(-1)?.status === 200 &&
          lists.length >= 6
        );
      });
      const lists = podRequests(c.server.log.slice(before)).filter((r) => !r.watch);
      assert.equal(lists[1]!.status, 410, 'the continue token was refused');
      assert.equal(lists[2]!.query.continue, undefined, 'the list started over');
      await until('watching again', () => c.server.openWatches === 10);
      assert.equal(c.model.stats().pods, 11);
    } finally {
      c.server.onRequest = null;
      await c.stop();
    }
  });

  test('bookmarks move the resourceVersion a reconnect resumes from', async () => {
    const c = await cluster();
    try {
      // A change to another kind advances the store's revision; only a bookmark tells the pod watch.
      const svc = fixtureObject('Service', 'checkout');
      svc.metadata = { name: 'extra', namespace: 'shop', creationTimestamp: '2024-05-01T10:00:00Z' };
      Object.assign(svc.spec as object, { clusterIP: '10.96.30.30', clusterIPs: ['10.96.30.30'] });
      c.server.create(svc);
      const rv = c.server.resourceVersion;
      c.server.bookmark();
      await until('bookmark read', () => (c.watcher.status().find((s) => s.kind === 'Pod')?.events ?? 0) > 0);
      const before = c.server.log.length;
      c.server.dropWatches();
      await until('pods watched again', () => podRequests(c.server.log.slice(before)).some((r) => r.watch));
      const resumed = podRequests(c.server.log.slice(before)).find((r) => r.watch)!;
      assert.equal(resumed.query.resourceVersion, rv);
    } finally {
      await c.stop();
    }
  });

  test('errors are retried with backoff until the list succeeds', async () => {
    const c = await cluster({}, (s) =>
      s.failNext((path, watch) => path === '/api/v1/pods' && !watch, 500, 3),
    );
    try {
      const lists = podRequests(c.server.log).filter((r) => !r.watch);
      assert.deepEqual(
        lists.slice(0, 4).map((r) => r.status),
        [500, 500, 500, 200],
      );
      const gaps = [1, 2, 3].map((i) => lists[i]!.at - lists[i - 1]!.at);
      assert.ok(gaps[2]! >= 40, `backoff grows (${gaps.join(', ')} ms)`);
      const pods = c.watcher.status().find((s) => s.kind === 'Pod')!;
      assert.equal(pods.errors, 3);
      assert.match(pods.lastError ?? '', /injected failure/);
      assert.equal(c.model.stats().pods, 11);
    } finally {
      await c.stop();
    }
  });
});
