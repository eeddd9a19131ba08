/**
 * Memory proportional to what is watched: 10,000 pods listed through the real client from the
 * stand-in API server. What the client side keeps (ListWatch's cache and the model) must be a small
 * part of what the same pods take as whole objects, and within a fixed budget per pod.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadKubeConfig } from '../../src/enrich/client.js';
import { ClusterWatcher } from '../../src/enrich/informers.js';
import { ClusterModel } from '../../src/enrich/model.js';
import { ApiServer, type Obj } from '../support/apiserver.js';
import { fixtureItems, fixtureObject, until, us } from './support.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const PODS = 10_000;

function manyPods(): Obj[] {
  const template = fixtureObject('Pod', 'checkout-7d9f8c6b5-x2k4p');
  const out: Obj[] = [];
  for (let i = 0; i < PODS; i++) {
    const o = structuredClone(template);
    const app = `app-${i % 400}`;
    o.metadata.name = `${app}-7d9f8c6b5-${i.toString(36).padStart(5, '0')}`;
    o.metadata.namespace = `team-${i % 40}`;
    o.metadata.uid = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    (o.metadata.ownerReferences as { name: string }[])[0]!.name = `${app}-7d9f8c6b5`;
    o.metadata.labels = { ...(o.metadata.labels as object), 'app.kubernetes.io/name': app };
    const status = o.status as Record<string, unknown>;
    const ip = `10.100.${i >> 8}.${i & 255}`;
    status.podIP = ip;
    status.podIPs = [{ ip }];
    (o.spec as { nodeName: string }).nodeName = `node-${i % 50}`;
    out.push(o);
  }
  return out;
}

/** Lists and watches the fixture cluster once, so code compiled and shapes made on a first run are not counted below. */
async function warmUp(): Promise<void> {
  const server = new ApiServer();
  await server.start();
  server.load(fixtureItems());
  const kc = loadKubeConfig({ kubeconfig: server.kubeconfig(mkdtempSync(join(tmpdir(), 'podwire-mem-'))) });
  const watcher = new ClusterWatcher(kc, new ClusterModel(), { pageSize: 3 });
  await watcher.start();
  await until('watches open', () => server.openWatches === 10);
  server.remove('Pod', 'default', 'toolbox');
  await watcher.stop();
  await server.stop();
}

test(`10,000 pods listed: the client keeps a bounded, small part of them`, async () => {
  await warmUp();
  const server = new ApiServer();
  await server.start();
  server.load(fixtureItems().filter((o) => o.kind !== 'Pod'));
  let pods: Obj[] | null = manyPods();
  // What the pods take as whole objects (as a client keeping them would hold them).
  const h0 = heap();
  let copies: Obj[] | null = pods.map((p) => JSON.parse(JSON.stringify(p)) as Obj);
  const whole = heap() - h0;
  copies = null;
  server.load(pods);
  pods = null;
  const kc = loadKubeConfig({ kubeconfig: server.kubeconfig(mkdtempSync(join(tmpdir(), 'podwire-mem-'))) });
  const base = heap();
  const model = new ClusterModel();
  const watcher = new ClusterWatcher(kc, model, { backoffMs: { initial: 20, max: 200 } });
  try {
    await watcher.start();
    await until('watches open', () => server.openWatches === 10);
    const kept = heap() - base;
    const perPod = kept / PODS;
    assert.equal(model.stats().pods, PODS);
    assert.equal(model.resolve('10.100.39.15', 8080, us('2024-05-01T09:30:00Z'))?.workload, 'app-399');
    assert.equal(
      server.log.filter((r) => r.path === '/api/v1/pods' && !r.watch).length,
      PODS / 500,
      'listed in pages of 500',
    );
    const msg = `kept ${(kept / 1e6).toFixed(1)} MB (${perPod.toFixed(0)} B/pod); whole objects ${(whole / 1e6).toFixed(1)} MB (${(whole / PODS).toFixed(0)} B/pod)`;
    process.stdout.write(`# ${msg}\n`);
    assert.ok(perPod < 1200, `at most 1.2 kB per pod: ${msg}`);
    assert.ok(kept < whole / 3, `under a third of the whole objects: ${msg}`);
  } finally {
    void copies;
    await watcher.stop();
    await server.stop();
  }
});
