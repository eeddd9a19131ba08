#!/usr/bin/env node
/**
 * `npm run bench:enrich`: how fast the cluster model names addresses. Builds a 10,000-pod cluster
 * (pods behind Services, hostNetwork DaemonSet pods on 100 nodes, a tenth of the pod IPs reused by
 * a later pod) and resolves a few million lookups of a realistic mix: pod IPs, Service ClusterIPs,
 * node addresses by port (hostNetwork pods and the node itself), and outside addresses (a miss).
 *
 * Two figures: lookups with address strings the pipeline has already used (their hash is cached),
 * and lookups that first format the address from the decoder's four 32-bit words, as a fresh
 * record does. Also the garbage collections during the first loop: a lookup allocates nothing, so
 * there are none (16 bytes a lookup would fill the young generation several times over).
 *
 * Needs a build (`npm run build`, which this script's npm entry runs first). LOOKUPS sets how many
 * (default 5,000,000).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { ClusterModel } from '../dist/src/enrich/model.js';
import { slim } from '../dist/src/enrich/objects.js';
import { formatIp } from '../dist/src/wire/bytes.js';

const PODS = 10_000;
const NODES = 100;
const SERVICES = 500;
const LOOKUPS = Number(process.env.LOOKUPS ?? 5_000_000);
const T0 = Date.parse('2024-05-01T09:00:00Z');
const iso = (ms) => new Date(ms).toISOString();

function podObject(i, ip, start, extra = {}) {
  const app = `app-${i % SERVICES}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`,
      namespace: `team-${i % 40}`,
      uid: `pod-${i}`,
      creationTimestamp: iso(start),
      labels: { 'app.kubernetes.io/name': app, 'pod-template-hash': '7d9f8c6b5' },
      ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-7d9f8c6b5`, controller: true }],
    },
    spec: {
      nodeName: `node-${i % NODES}`,
      containers: [{ name: 'app', ports: [{ containerPort: 8080 }] }],
      ...extra.spec,
    },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: `10.0.${i % NODES}.1`,
      startTime: iso(start),
    },
  };
}

const model = new ClusterModel();
const add = (o, at = T0 * 1000) => model.apply('add', slim(o), at);
for (let n = 0; n < NODES; n++) {
  add({
    kind: 'Node',
    metadata: { name: `node-${n}`, uid: `node-${n}`, creationTimestamp: iso(T0 - 86_400_000) },
    status: { addresses: [{ type: 'InternalIP', address: `10.0.${n}.1` }] },
  });
  // A hostNetwork DaemonSet pod per node, found by its port.
  add(
    podObject(PODS + n, `10.0.${n}.1`, T0 - 3_600_000, {
      spec: { hostNetwork: true, containers: [{ name: 'exporter', ports: [{ containerPort: 9100 }] }] },
    }),
  );
}
const podIps = [];
for (let i = 0; i < PODS; i++) {
  const ip = `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  podIps.push(ip);
  const first = podObject(i, ip, T0);
  add(first);
  if (i % 10 === 0) {
    // IP reuse: the first pod deleted at +30 min, another takes the address at +31 min.
    model.apply('delete', slim(first), (T0 + 1_800_000) * 1000);
    add(podObject(i + 1_000_000, ip, T0 + 1_860_000), (T0 + 1_860_000) * 1000);
  }
}
const serviceIps = [];
for (let s = 0; s < SERVICES; s++) {
  const ip = `10.96.${s >> 8}.${s & 255}`;
  serviceIps.push(ip);
  add({
    kind: 'Service',
    metadata: {
      name: `app-${s}`,
      namespace: `team-${s % 40}`,
      uid: `svc-${s}`,
      creationTimestamp: iso(T0 - 3_600_000),
    },
    spec: { clusterIP: ip, clusterIPs: [ip] },
  });
}

// The lookup mix: 80% pod IPs, 10% Services, 5% node addresses (half a hostNetwork pod's port), 5% outside.
const MIX = 1 << 16;
const ips = [];
const ports = [];
const times = [];
const words = [];
let seed = 42;
const rand = (n) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % n;
};
for (let k = 0; k < MIX; k++) {
  const r = rand(100);
  let ip;
  let port = 8080;
  if (r < 80) ip = podIps[rand(PODS)];
  else if (r < 90) ip = serviceIps[rand(SERVICES)];
  else if (r < 95) {
    ip = `10.0.${rand(NODES)}.1`;
    port = rand(2) ? 9100 : 10250;
  } else ip = `203.0.113.${rand(256)}`;
  ips.push(ip);
  ports.push(port);
  times.push((T0 + rand(3_600_000)) * 1000);
  const [a, b, c, d] = ip.split('.').map(Number);
  words.push((((a << 24) | (b << 16) | (c << 8) | d) >>> 0) | 0);
}

let named = 0;
function run(n) {
  for (let i = 0; i < n; i++) {
    const k = i & (MIX - 1);
    if (model.resolve(ips[k], ports[k], times[k]) !== null) named++;
  }
}
function runFormatted(n) {
  for (let i = 0; i < n; i++) {
    const k = i & (MIX - 1);
    const ip = formatIp(0, 0, 0xffff, words[k]);
    if (model.resolve(ip, ports[k], times[k]) !== null) named++;
  }
}

// Warm up: every identity built once, the loops compiled.
run(LOOKUPS);
runFormatted(MIX * 16);
named = 0;
let collections = 0;
const gcs = new PerformanceObserver((list) => {
  collections += list.getEntries().length;
});
gcs.observe({ entryTypes: ['gc'] });
let t = process.hrtime.bigint();
run(LOOKUPS);
const cached = Number(process.hrtime.bigint() - t) / 1e9;
await new Promise((r) => setTimeout(r, 10));
gcs.disconnect();
const hitRate = named / LOOKUPS;
t = process.hrtime.bigint();
runFormatted(LOOKUPS);
const formatted = Number(process.hrtime.bigint() - t) / 1e9;

const stats = model.stats();
const fmt = (x) => Math.round(x).toLocaleString('en-US');
process.stdout.write(
  [
    `cluster: ${fmt(stats.pods)} pods, ${stats.services} services, ${stats.nodes} nodes, ${fmt(stats.addresses)} addresses`,
    `${fmt(LOOKUPS)} lookups, ${(hitRate * 100).toFixed(1)}% named`,
    `  address strings already hashed:   ${fmt(LOOKUPS / cached)} lookups/s (${((cached / LOOKUPS) * 1e9).toFixed(0)} ns each), ${collections} garbage collections during the loop`,
    `  formatting the address each time: ${fmt(LOOKUPS / formatted)} lookups/s (${((formatted / LOOKUPS) * 1e9).toFixed(0)} ns each)`,
    '',
  ].join('\n'),
);
