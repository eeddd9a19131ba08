/**
 * `analyze --k8s` on traffic captured as a node agent would: two "pods" (network namespaces on a
 * bridge), a Node HTTP server in one and curl in the other, tcpdump on the server pod's host-side
 * veth. A snapshot that names those pod IPs (fixtures/netns-cluster.json: tools/loadgen on
 * 198.18.17.10, shop/web on 198.18.17.11) must turn every address into its workload.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Node, netnsAvailable, waitFor } from '../support/netns.js';
import { PODWIRE } from '../support/paths.js';
import { NETNS_CLUSTER } from './support.js';

const run = promisify(execFile);

const SERVER = `
require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello from ' + req.url);
}).listen(8080, '0.0.0.0');
`;

const available = await netnsAvailable();

describe('analyze --k8s on pod traffic captured on a veth', {
  skip: available ? false : 'needs root and ip netns',
}, () => {
  const node = new Node('pwk8s', '198.18.17');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-k8s-netns-'));
  const pcap = join(dir, 'web.pcap');

  before(async () => {
    await node.up(['client', 'server']);
    const client = node.pod('client');
    const server = node.pod('server');
    assert.equal(client.ip, '198.18.17.10');
    assert.equal(server.ip, '198.18.17.11');
    node.spawn(server.ns, process.execPath, ['-e', SERVER]);
    await waitFor(() => node.exec(client.ns, 'curl', ['-sf', `http://${server.ip}:8080/ready`]));
    const cap = await node.capture(server.hostIf, pcap, ['tcp', 'port', '8080']);
    await node.exec(client.ns, 'curl', ['-sf', '-o', '/dev/null', `http://${server.ip}:8080/checkout`]);
    await node.exec(client.ns, 'curl', ['-sf', '-o', '/dev/null', `http://${server.ip}:8080/cart?items=3`]);
    await cap.stop();
  });

  after(() => node.down());

  async function analyze(...args: string[]): Promise<string> {
    const { stdout } = await run(PODWIRE, ['analyze', pcap, ...args], { maxBuffer: 16 << 20 });
    return stdout;
  }

  test('jsonl: every endpoint named by pod, namespace and workload', async () => {
    const lines = (await analyze('--k8s', NETNS_CLUSTER, '--format', 'jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const entries = lines.filter((l) => l.type === 'entry');
    const connections = lines.filter((l) => l.type === 'connection');
    assert.deepEqual(
      entries.map((e) => e.path),
      ['/checkout', '/cart?items=3'],
    );
    assert.equal(connections.length, 2);
    for (const r of [...entries, ...connections]) {
      assert.deepEqual(r.src, {
        ip: '198.18.17.10',
        port: r.src.port,
        name: 'loadgen-5f7b9c8d4-q2w3e',
        namespace: 'tools',
        kind: 'pod',
        workload: 'loadgen',
        node: 'pwk8s-node',
      });
      assert.deepEqual(r.dst, {
        ip: '198.18.17.11',
        port: 8080,
        name: 'web-6d4cf56db6-7xk2p',
        namespace: 'shop',
        kind: 'pod',
        workload: 'web',
        node: 'pwk8s-node',
      });
    }
  });

  test('table: workload names instead of addresses', async () => {
    const table = await analyze('--k8s', NETNS_CLUSTER);
    assert.ok(table.includes('tools/loadgen-5f7b9c8d4-q2w3e (pod)'), table);
    assert.ok(table.includes('shop/web-6d4cf56db6-7xk2p:8080 (pod)'), table);
    assert.ok(!table.includes('198.18.17.'), `no bare pod address left:\n${table}`);
    // The same capture without a snapshot shows the addresses.
    assert.ok((await analyze()).includes('198.18.17.11:8080'));
  });

  test('filters on the names: only the web workload`s namespace, then excluding it', async () => {
    const keep = await analyze('--k8s', NETNS_CLUSTER, '--namespace-include', '^shop$', '--format', 'jsonl');
    assert.equal(keep.trim().split('\n').length, 5, 'two entries, two connections, the summary');
    const drop = await analyze('--k8s', NETNS_CLUSTER, '--workload-exclude', '^web$', '--format', 'jsonl');
    assert.equal(drop.trim().split('\n').length, 1, 'only the summary');
  });
});
