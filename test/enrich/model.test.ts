/**
 * Resolution against the fixture cluster (test/enrich/fixtures/cluster.json, loaded as a snapshot)
 * and against changes applied one by one as informers apply them: owner chains, hostNetwork pods
 * by port, hostPorts, Services and their endpoints, node addresses, pod IP reuse over time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterModel } from '../../src/enrich/model.js';
import { type SlimPod, slim } from '../../src/enrich/objects.js';
import { loadSnapshots } from '../../src/enrich/snapshot.js';
import { CLUSTER, fixtureItems, fixtureObject, us } from './support.js';

const T = us('2024-05-01T09:30:00Z');
const { model, summary } = loadSnapshots([CLUSTER]);

function who(ip: string, port: number, ts = T) {
  const id = model.resolve(ip, port, ts);
  return (
    id && {
      kind: id.kind,
      ns: id.namespace,
      name: id.name,
      workload: id.workload,
      wk: id.workloadKind,
      node: id.node,
    }
  );
}

describe('resolution from the fixture snapshot', () => {
  test('the snapshot is read whole', () => {
    const expected: Record<string, number> = {};
    for (const o of fixtureItems()) expected[o.kind!] = (expected[o.kind!] ?? 0) + 1;
    assert.deepEqual(summary.kinds, expected);
    assert.equal(summary.skipped, 0);
  });

  test('Deployment pods: Pod -> ReplicaSet -> Deployment', () => {
    assert.deepEqual(who('10.244.1.10', 8080), {
      kind: 'pod',
      ns: 'shop',
      name: 'checkout-7d9f8c6b5-x2k4p',
      workload: 'checkout',
      wk: 'Deployment',
      node: 'node-a',
    });
    // The client side of a connection (an ephemeral port) is the same pod.
    assert.equal(who('10.244.2.11', 51234)?.name, 'checkout-7d9f8c6b5-q8w7z');
    assert.equal(who('10.244.2.11', 51234)?.node, 'node-b');
  });

  test('labels are kept, revision hashes are not', () => {
    const id = model.resolve('10.244.1.10', 8080, T)!;
    assert.equal(id.labels['app.kubernetes.io/name'], 'checkout');
    assert.equal(id.labels['app.kubernetes.io/part-of'], 'shop');
    assert.equal(id.labels['pod-template-hash'], undefined);
  });

  test('StatefulSet, DaemonSet and CronJob owner chains', () => {
    assert.deepEqual(who('10.244.1.20', 5432), {
      kind: 'pod',
      ns: 'shop',
      name: 'postgres-0',
      workload: 'postgres',
      wk: 'StatefulSet',
      node: 'node-a',
    });
    assert.equal(who('10.244.2.5', 443)?.workload, 'ingress-nginx-controller');
    assert.equal(who('10.244.2.5', 443)?.wk, 'DaemonSet');
    // The Job's pod ran 09:00:01-09:04:30: Job -> CronJob.
    assert.deepEqual(who('10.244.2.30', 40000, us('2024-05-01T09:02:00Z')), {
      kind: 'pod',
      ns: 'shop',
      name: 'report-28574100-7xk2p',
      workload: 'report',
      wk: 'CronJob',
      node: 'node-b',
    });
  });

  test('a pod IP reused by a later pod resolves by time', () => {
    assert.equal(who('10.244.2.30', 3000, us('2024-05-01T09:04:00Z'))?.name, 'report-28574100-7xk2p');
    assert.equal(who('10.244.2.30', 3000, us('2024-05-01T09:11:00Z'))?.name, 'frontend-5c6d7b8f9-m4n5b');
    assert.equal(who('10.244.2.30', 3000, us('2024-05-01T09:11:00Z'))?.workload, 'frontend');
    // Between the two (the address was free): nobody, so the enricher calls it external.
    assert.equal(who('10.244.2.30', 3000, us('2024-05-01T09:07:00Z')), null);
    // Before any pod had it.
    assert.equal(who('10.244.2.30', 3000, us('2024-05-01T08:00:00Z')), null);
  });

  test('hostNetwork pods share the node address and are found by their ports', () => {
    assert.deepEqual(who('10.0.0.11', 10249), {
      kind: 'pod',
      ns: 'kube-system',
      name: 'kube-proxy-8xq2w',
      workload: 'kube-proxy',
      wk: 'DaemonSet',
      node: 'node-a',
    });
    // A static pod's owner is its Node: the pod is its own workload.
    assert.deepEqual(who('10.0.0.11', 2379), {
      kind: 'pod',
      ns: 'kube-system',
      name: 'etcd-node-a',
      workload: 'etcd-node-a',
      wk: 'Pod',
      node: 'node-a',
    });
    // Any other port on the node address (the kubelet, sshd, a hostNetwork pod's outgoing
    // connections) is the node.
    assert.deepEqual(who('10.0.0.11', 10250), {
      kind: 'node',
      ns: null,
      name: 'node-a',
      workload: null,
      wk: null,
      node: 'node-a',
    });
    assert.equal(who('203.0.113.11', 443)?.name, 'node-a', 'ExternalIP');
  });

  test('hostPorts of an ordinary pod are reached on its node address', () => {
    assert.equal(who('10.0.0.12', 443)?.name, 'ingress-nginx-controller-2vbfq');
    assert.equal(who('10.0.0.12', 80)?.name, 'ingress-nginx-controller-2vbfq');
    assert.equal(who('10.0.0.12', 22)?.kind, 'node');
  });

  test('Services: ClusterIP, load-balancer IP, the workload behind them, and their endpoints', () => {
    assert.deepEqual(who('10.96.12.34', 80), {
      kind: 'service',
      ns: 'shop',
      name: 'checkout',
      workload: 'checkout',
      wk: 'Deployment',
      node: null,
    });
    assert.equal(who('10.96.0.10', 53)?.name, 'kube-dns');
    assert.equal(who('10.96.0.10', 53)?.workload, 'coredns');
    assert.equal(who('198.51.100.7', 443)?.name, 'ingress-nginx-controller');
    assert.equal(who('198.51.100.7', 443)?.kind, 'service');
    assert.deepEqual(
      model
        .backends('shop', 'checkout')
        .map((b) => `${b.ip} ${b.pod}`)
        .sort(),
      ['10.244.1.10 checkout-7d9f8c6b5-x2k4p', '10.244.2.11 checkout-7d9f8c6b5-q8w7z'],
    );
    assert.deepEqual(
      model.backends('shop', 'postgres').map((b) => b.pod),
      ['postgres-0'],
      'a headless Service has endpoints but no address of its own',
    );
  });

  test('owners missing from the snapshot: ReplicaSet read through pod-template-hash; bare pods', () => {
    assert.equal(who('10.244.1.40', 9000)?.workload, 'api');
    assert.equal(who('10.244.1.40', 9000)?.wk, 'Deployment');
    assert.equal(who('10.244.2.50', 1234)?.workload, 'toolbox');
    assert.equal(who('10.244.2.50', 1234)?.wk, 'Pod');
  });

  test('outside addresses are not the cluster`s', () => {
    assert.equal(who('8.8.8.8', 53), null);
    assert.equal(who('10.244.9.9', 80), null);
  });

  test('a lookup returns the same shared identity object every time (nothing allocated)', () => {
    const a = model.resolve('10.244.1.10', 8080, T);
    const b = model.resolve('10.244.1.10', 8080, T + 1_000_000);
    assert.ok(a);
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });
});

function pod(name: string, ip: string, start: string, extra: Partial<SlimPod> = {}): SlimPod {
  const base = slim(fixtureObject('Pod', 'checkout-7d9f8c6b5-x2k4p')) as SlimPod;
  return {
    ...base,
    metadata: { ...base.metadata, name, uid: `uid-${name}` },
    ips: [ip],
    start: us(start),
    ...extra,
  };
}

describe('changes applied as informers apply them', () => {
  test('pod churn: a deleted pod`s IP taken by a new pod', () => {
    const m = new ClusterModel();
    const a = pod('checkout-7d9f8c6b5-aaaaa', '10.244.3.7', '2024-05-01T09:00:00Z');
    const b = pod('checkout-7d9f8c6b5-bbbbb', '10.244.3.7', '2024-05-01T09:20:00Z');
    m.apply('add', a, us('2024-05-01T09:00:00Z'));
    m.apply('delete', a, us('2024-05-01T09:15:00Z'));
    m.apply('add', b, us('2024-05-01T09:20:00Z'));
    assert.equal(m.resolve('10.244.3.7', 8080, us('2024-05-01T09:10:00Z'))?.name, a.metadata.name);
    assert.equal(m.resolve('10.244.3.7', 8080, us('2024-05-01T09:25:00Z'))?.name, b.metadata.name);
    assert.equal(m.resolve('10.244.3.7', 8080, us('2024-05-01T09:17:00Z')), null);
    // Within the clock-skew allowance of the deletion, the old pod still answers.
    assert.equal(m.resolve('10.244.3.7', 8080, us('2024-05-01T09:15:01Z'))?.name, a.metadata.name);
    assert.equal(m.stats().pods, 1);
  });

  test('a pod recreated under the same name (new uid) ends the old one', () => {
    const m = new ClusterModel();
    const old = pod('postgres-0', '10.244.3.8', '2024-05-01T09:00:00Z');
    const again = { ...pod('postgres-0', '10.244.3.9', '2024-05-01T09:30:00Z') };
    again.metadata = { ...again.metadata, uid: 'uid-postgres-0-second' };
    m.apply('add', old, us('2024-05-01T09:00:00Z'));
    m.apply('update', again, us('2024-05-01T09:31:00Z'));
    assert.equal(m.stats().pods, 1);
    assert.equal(m.resolve('10.244.3.8', 5432, us('2024-05-01T09:10:00Z'))?.name, 'postgres-0');
    assert.equal(m.resolve('10.244.3.8', 5432, us('2024-05-01T09:40:00Z')), null, 'the old address is free');
    assert.equal(m.resolve('10.244.3.9', 5432, us('2024-05-01T09:40:00Z'))?.name, 'postgres-0');
  });

  test('history per address is bounded, newest kept; expire forgets ended pods', () => {
    const m = new ClusterModel({ maxPerAddress: 4, retentionMicros: 60_000_000 });
    const base = us('2024-05-01T09:00:00Z');
    for (let i = 0; i < 20; i++) {
      const p = pod(`job-${i}`, '10.244.3.10', new Date(base / 1000 + i * 60_000).toISOString());
      m.apply('add', p, base + i * 60_000_000);
      m.apply('delete', p, base + i * 60_000_000 + 30_000_000);
    }
    assert.equal(m.resolve('10.244.3.10', 1, base + 19 * 60_000_000 + 10_000_000)?.name, 'job-19');
    assert.equal(m.resolve('10.244.3.10', 1, base + 16 * 60_000_000 + 10_000_000)?.name, 'job-16');
    assert.equal(
      m.resolve('10.244.3.10', 1, base + 15 * 60_000_000 + 10_000_000),
      null,
      'older than the bound',
    );
    m.expire(base + 25 * 60_000_000);
    assert.equal(m.stats().addresses, 0);
    assert.equal(m.resolve('10.244.3.10', 1, base + 19 * 60_000_000 + 10_000_000), null);
  });

  test('owners that arrive after their pods rename the workload', () => {
    const m = new ClusterModel();
    const p = pod('worker-abcde', '10.244.3.11', '2024-05-01T09:00:00Z', {
      owner: { kind: 'Job', name: 'nightly-28574100' },
      templateHash: null,
    });
    m.apply('add', p, us('2024-05-01T09:00:00Z'));
    assert.equal(m.resolve('10.244.3.11', 1, T)?.workload, 'nightly-28574100');
    const job = slim(fixtureObject('Job', 'report-28574100'))!;
    m.apply(
      'add',
      {
        ...job,
        metadata: { ...job.metadata, name: 'nightly-28574100', uid: 'uid-job' },
        owner: { kind: 'CronJob', name: 'nightly' },
      },
      T,
    );
    assert.equal(m.resolve('10.244.3.11', 1, T)?.workload, 'nightly');
    assert.equal(m.resolve('10.244.3.11', 1, T)?.workloadKind, 'CronJob');
  });

  test('an ended pod keeps the workload it had, though its owners are gone', () => {
    const m = new ClusterModel();
    const rs = slim(fixtureObject('ReplicaSet', 'checkout-7d9f8c6b5'))!;
    const p = pod('checkout-7d9f8c6b5-ccccc', '10.244.3.12', '2024-05-01T09:00:00Z', { templateHash: null });
    m.apply('add', rs, T);
    m.apply('add', p, T);
    assert.equal(m.resolve('10.244.3.12', 1, T)?.workload, 'checkout');
    m.apply('delete', p, us('2024-05-01T09:40:00Z'));
    m.apply('delete', rs, us('2024-05-01T09:41:00Z'));
    assert.equal(m.resolve('10.244.3.12', 1, T)?.workload, 'checkout');
  });
});
