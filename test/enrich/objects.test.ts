/**
 * Cutting objects down: what a slim object keeps (and only that), the shapes the API and clients
 * give fields in, and untrusted input (snapshot files are user files): random and mutated objects
 * never make `slim`, the model or a lookup throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ClusterModel } from '../../src/enrich/model.js';
import { canonicalIp, micros, type SlimPod, slim } from '../../src/enrich/objects.js';
import { fixtureItems, fixtureObject } from './support.js';

describe('slim objects', () => {
  test('a pod keeps its name, owner, addresses, ports and times, and nothing of its spec or status', () => {
    const raw = fixtureObject('Pod', 'checkout-7d9f8c6b5-x2k4p');
    const s = slim(raw) as SlimPod;
    assert.deepEqual(Object.keys(s).sort(), [
      'containerPorts',
      'created',
      'finished',
      'hostIps',
      'hostNetwork',
      'hostPorts',
      'ips',
      'kind',
      'labels',
      'metadata',
      'node',
      'owner',
      'start',
      'templateHash',
      'terminal',
    ]);
    assert.deepEqual(s.metadata, {
      name: 'checkout-7d9f8c6b5-x2k4p',
      namespace: 'shop',
      uid: (raw.metadata as { uid: string }).uid,
      resourceVersion: (raw.metadata as { resourceVersion: string }).resourceVersion,
    });
    assert.deepEqual(s.owner, { kind: 'ReplicaSet', name: 'checkout-7d9f8c6b5' });
    assert.deepEqual(s.ips, ['10.244.1.10']);
    assert.equal(s.node, 'node-a');
    assert.equal(s.templateHash, '7d9f8c6b5');
    assert.deepEqual(s.containerPorts, [], 'ports only matter for hostNetwork pods');
    assert.ok(JSON.stringify(s).length < JSON.stringify(raw).length / 4);
  });

  test('hostNetwork and hostPort pods keep their ports; finished pods their finish time', () => {
    const proxy = slim(fixtureObject('Pod', 'kube-proxy-8xq2w')) as SlimPod;
    assert.equal(proxy.hostNetwork, true);
    assert.deepEqual(proxy.containerPorts, [10249, 10256]);
    const ingress = slim(fixtureObject('Pod', 'ingress-nginx-controller-2vbfq')) as SlimPod;
    assert.deepEqual(ingress.hostPorts, [80, 443]);
    assert.deepEqual(ingress.hostIps, ['10.0.0.12']);
    const report = slim(fixtureObject('Pod', 'report-28574100-7xk2p')) as SlimPod;
    assert.equal(report.terminal, true);
    assert.equal(report.finished, Date.parse('2024-05-01T09:04:30Z') * 1000);
  });

  test('times as RFC 3339 strings (watch JSON) or Date objects (typed clients); microseconds kept', () => {
    assert.equal(micros('2024-05-01T09:00:00Z'), Date.parse('2024-05-01T09:00:00Z') * 1000);
    assert.equal(micros('2024-05-01T09:00:00.123456Z'), Date.parse('2024-05-01T09:00:00Z') * 1000 + 123456);
    assert.equal(micros(new Date('2024-05-01T09:00:00Z')), Date.parse('2024-05-01T09:00:00Z') * 1000);
    assert.equal(micros('yesterday'), null);
    assert.equal(micros(12), null);
  });

  test('addresses: IPv6 in RFC 5952 form as the decoder prints them; dual-stack; headless Services', () => {
    assert.equal(canonicalIp('FD00:10:244:0:0:0:0:A'), 'fd00:10:244::a');
    assert.equal(canonicalIp('10.1.2.3'), '10.1.2.3');
    assert.equal(canonicalIp('None'), null);
    assert.equal(canonicalIp('10.1.2'), null);
    const pod = fixtureObject('Pod', 'checkout-7d9f8c6b5-x2k4p');
    (pod.status as { podIPs: unknown }).podIPs = [{ ip: '10.244.1.10' }, { ip: 'fd00:10:244:1:0:0:0:a' }];
    assert.deepEqual((slim(pod) as SlimPod).ips, ['10.244.1.10', 'fd00:10:244:1::a']);
    const headless = slim(fixtureObject('Service', 'postgres'));
    assert.deepEqual(headless?.kind === 'Service' && headless.ips, []);
  });

  test('objects podwire does not read, and objects without a name, give null', () => {
    assert.equal(slim({ kind: 'ConfigMap', metadata: { name: 'x' } }), null);
    assert.equal(slim({ kind: 'Pod', metadata: {} }), null);
    assert.equal(slim('Pod'), null);
    assert.equal(slim(null), null);
    assert.ok(slim({ metadata: { name: 'p' } }, 'Pod'), 'the kind may come from the list');
  });
});

/** Replaces the value at a random path of `o` (objects and arrays walked) with `value`. */
function mutate(o: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || typeof o !== 'object' || o === null) return value;
  const keys = Object.keys(o);
  if (keys.length === 0) return value;
  const k = keys[path[0]! % keys.length]!;
  const copy = (Array.isArray(o) ? [...o] : { ...o }) as Record<string, unknown>;
  copy[k] = mutate(copy[k], path.slice(1), value);
  return copy;
}

describe('untrusted input', () => {
  const fixtures = fixtureItems();

  test('random values never throw out of slim, the model or a lookup', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom('Pod', 'Service', 'Node', 'EndpointSlice', 'Job', undefined),
        (v, kind) => {
          const m = new ClusterModel();
          const s = slim(v, kind);
          if (s) {
            m.apply('add', s, 0);
            m.apply('delete', s, 1);
          }
          m.resolve('10.0.0.1', 80, 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('fixture objects with a field replaced by random JSON never throw, and still resolve', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fixtures.length - 1 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.jsonValue(),
        (i, path, value) => {
          const m = new ClusterModel();
          for (const o of fixtures) {
            const s = slim(o);
            if (s) m.apply('add', s, 0);
          }
          const s = slim(mutate(fixtures[i], path, value));
          if (s) {
            m.apply('update', s, 1);
            m.apply('delete', s, 2);
          }
          for (const ip of ['10.244.1.10', '10.0.0.11', '10.96.12.34', '10.244.2.30'])
            for (const port of [80, 10249, 8080])
              m.resolve(ip, port, Date.parse('2024-05-01T09:30:00Z') * 1000);
          m.expire(Number.MAX_SAFE_INTEGER);
          assert.equal(m.stats().addresses >= 0, true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
