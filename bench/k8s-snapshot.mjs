#!/usr/bin/env node
/**
 * Writes the Kubernetes snapshot the benchmark names its capture with (bench/run.sh, mode
 * k8s-jsonl): the two bench pods (client 198.18.0.10, server 198.18.0.20, Deployments through
 * ReplicaSets, behind a Service), among 10,000 other pods on 100 nodes, in the `kubectl get ... -o
 * json` List shape that `podwire analyze --k8s` reads. Usage: node bench/k8s-snapshot.mjs FILE
 */
import { writeFileSync } from 'node:fs';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node bench/k8s-snapshot.mjs FILE\n');
  process.exit(2);
}
const created = '2026-01-01T00:00:00Z';
const items = [];

function pod(name, namespace, app, ip, node) {
  items.push({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      creationTimestamp: created,
      labels: { app, 'pod-template-hash': '5d8f7c9b4' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app}-5d8f7c9b4`, controller: true },
      ],
    },
    spec: { nodeName: node, containers: [{ name: app, ports: [{ containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '198.18.0.1', startTime: created },
  });
}

function deployment(name, namespace) {
  items.push({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${name}-5d8f7c9b4`,
      namespace,
      uid: `uid-rs-${namespace}-${name}`,
      creationTimestamp: created,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, controller: true }],
    },
  });
  items.push({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, uid: `uid-deploy-${namespace}-${name}`, creationTimestamp: created },
  });
}

pod('loadgen-5d8f7c9b4-x2k4p', 'bench', 'loadgen', '198.18.0.10', 'node-0');
pod('api-5d8f7c9b4-q8w3z', 'bench', 'api', '198.18.0.20', 'node-0');
deployment('loadgen', 'bench');
deployment('api', 'bench');
for (let i = 0; i < 10_000; i++) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  pod(
    `app-${i % 500}-5d8f7c9b4-${i.toString(36)}`,
    `team-${i % 40}`,
    `app-${i % 500}`,
    ip,
    `node-${i % 100}`,
  );
}
for (let i = 0; i < 500; i++) deployment(`app-${i}`, `team-${i % 40}`);
for (let n = 0; n < 100; n++) {
  items.push({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${n}`, uid: `uid-node-${n}`, creationTimestamp: created },
    status: { addresses: [{ type: 'InternalIP', address: `10.255.${n}.1` }] },
  });
}
writeFileSync(out, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
