/**
 * deploy/rbac.yaml asks for exactly what the informers use: every request the real client makes
 * against the stand-in API server is allowed by one of its rules (verb from the request: list, or
 * watch; resource and API group from the path), and no rule grants a resource nothing requests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadKubeConfig } from '../../src/enrich/client.js';
import { ClusterWatcher } from '../../src/enrich/informers.js';
import { ClusterModel } from '../../src/enrich/model.js';
import { ApiServer } from '../support/apiserver.js';
import { ROOT } from '../support/paths.js';
import { fixtureItems, until } from './support.js';

interface Rule {
  groups: string[];
  resources: string[];
  verbs: string[];
}

/** The ClusterRole's rules, read from the flow-style lists the manifest uses. */
function clusterRoleRules(yaml: string): Rule[] {
  const doc = yaml.split(/^---$/m).find((d) => /^kind: ClusterRole$/m.test(d));
  assert.ok(doc, 'deploy/rbac.yaml has a ClusterRole');
  const list = (s: string) => [...s.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  return [
    ...doc.matchAll(/- apiGroups: \[([^\]]*)\]\s*\n\s*resources: \[([^\]]*)\]\s*\n\s*verbs: \[([^\]]*)\]/g),
  ].map((m) => ({ groups: list(m[1]!), resources: list(m[2]!), verbs: list(m[3]!) }));
}

/** `/api/v1/pods` -> ['', 'pods']; `/apis/apps/v1/deployments` -> ['apps', 'deployments']. */
function groupResource(path: string): [string, string] {
  const core = /^\/api\/v1\/(?:namespaces\/[^/]+\/)?([a-z]+)$/.exec(path);
  if (core) return ['', core[1]!];
  const named = /^\/apis\/([^/]+)\/[^/]+\/(?:namespaces\/[^/]+\/)?([a-z]+)$/.exec(path);
  assert.ok(named, `unexpected API path ${path}`);
  return [named[1]!, named[2]!];
}

test('deploy/rbac.yaml grants exactly the list and watch the informers make', async () => {
  const rules = clusterRoleRules(readFileSync(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8'));
  assert.ok(rules.length > 0);
  for (const r of rules) assert.deepEqual([...r.verbs].sort(), ['get', 'list', 'watch'], 'read-only verbs');

  const server = new ApiServer();
  await server.start();
  server.load(fixtureItems());
  const dir = mkdtempSync(join(tmpdir(), 'podwire-rbac-'));
  const kc = loadKubeConfig({ kubeconfig: server.kubeconfig(dir, 'kubeconfig') });
  const watcher = new ClusterWatcher(kc, new ClusterModel(), { backoffMs: { initial: 20, max: 200 } });
  try {
    await watcher.start();
    await until('ten watches open', () => server.openWatches === 10);
  } finally {
    await watcher.stop();
    await server.stop();
  }
  const used = new Set<string>();
  for (const req of server.log) {
    assert.equal(req.method, 'GET', 'the informers only read');
    const [group, resource] = groupResource(req.path);
    const verb = req.watch ? 'watch' : 'list';
    used.add(`${group}/${resource}`);
    assert.ok(
      rules.some((r) => r.groups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb)),
      `${verb} ${group || 'core'}/${resource} is not granted by deploy/rbac.yaml`,
    );
  }
  const granted = rules.flatMap((r) => r.groups.flatMap((g) => r.resources.map((res) => `${g}/${res}`)));
  assert.deepEqual(granted.sort(), [...used].sort(), 'nothing granted that is not used');
});
