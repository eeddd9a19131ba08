/**
 * The engine on real traffic: two pods on a bridge, a Node HTTP server in one, curl in the other,
 * tcpdump on the server pod's host-side veth (where a node agent captures). podwire's connections
 * must match what curl itself reports having sent and received, connection by connection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyze } from '../support/analyze.js';
import { Node, netnsAvailable, waitFor } from '../support/netns.js';

const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  let body = 0;
  req.on('data', (c) => { body += c.length; });
  req.on('end', () => {
    const n = Number(req.url.split('/')[2] ?? 10);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': n });
    res.end('x'.repeat(n));
  });
}).listen(8080, '0.0.0.0');
`;

interface CurlResult {
  localPort: number;
  sent: number;
  received: number;
}

const available = await netnsAvailable();

describe('connections on real pod-to-pod traffic', {
  skip: available ? false : 'needs root and ip netns',
}, () => {
  const node = new Node('pwe2e', '198.18.20');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-e2e-'));
  const pcap = join(dir, 'server.pcap');
  const curls: CurlResult[] = [];

  async function curl(args: string[]): Promise<CurlResult[]> {
    const client = node.pod('client');
    // One line per transfer: local port, request bytes (curl's size_request counts head and body),
    // response head bytes, response body bytes.
    const fmt = '%{local_port} %{size_request} %{size_header} %{size_download}\\n';
    // Each URL needs its own `-o`, or curl writes the later bodies into the -w output.
    const outputs = args.filter((a) => a.startsWith('http://')).flatMap(() => ['-o', '/dev/null']);
    const out = await node
      .exec(client.ns, 'curl', ['-s', ...outputs, '-w', fmt, ...args])
      .catch((e) => e.stdout);
    return String(out)
      .trim()
      .split('\n')
      .map((l) => l.split(' ').map(Number))
      .map(([port, req, head, down]) => ({ localPort: port!, sent: req!, received: head! + down! }));
  }

  before(async () => {
    await node.up(['client', 'server']);
    const server = node.pod('server');
    node.spawn(server.ns, process.execPath, ['-e', SERVER]);
    await waitFor(() => node.exec(node.pod('client').ns, 'curl', ['-sf', `http://${server.ip}:8080/size/1`]));
    const cap = await node.capture(server.hostIf, pcap);
    const url = (n: number) => `http://${server.ip}:8080/size/${n}`;
    for (const n of [10, 1000, 100_000, 1_000_000]) curls.push(...(await curl([url(n)])));
    curls.push(...(await curl(['-X', 'POST', '--data-binary', 'y'.repeat(50_000), url(20)])));
    // Three requests on one keep-alive connection.
    curls.push(...(await curl([url(5), url(6), url(7)])));
    // A closed port: the server pod's kernel answers the SYN with RST.
    await node.exec(node.pod('client').ns, 'curl', ['-s', `http://${server.ip}:9/`]).catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    await cap.stop();
  });

  after(() => node.down());

  test('every curl transfer is one connection with curl`s own byte counts', async () => {
    const { connections, summary } = await analyze(pcap);
    assert.deepEqual(summary.errors, {});
    const server = node.pod('server');
    const client = node.pod('client');
    const byPort = new Map<number, CurlResult[]>();
    for (const c of curls) byPort.set(c.localPort, [...(byPort.get(c.localPort) ?? []), c]);
    for (const [port, transfers] of byPort) {
      const conn = connections.find((c) => c.src.port === port && c.dst.port === 8080);
      assert.ok(conn, `a connection from client port ${port}`);
      assert.equal(conn.src.ip, client.ip);
      assert.equal(conn.dst.ip, server.ip);
      assert.equal(conn.midstream, false);
      assert.ok(conn.handshake && conn.handshake.rttMs > 0, 'handshake seen, RTT measured');
      assert.equal(conn.closeReason, 'fin');
      assert.equal(
        conn.sent.bytes,
        transfers.reduce((s, t) => s + t.sent, 0),
        `bytes sent on port ${port}`,
      );
      assert.equal(
        conn.received.bytes,
        transfers.reduce((s, t) => s + t.received, 0),
        `bytes received on port ${port}`,
      );
      assert.equal(conn.sent.gaps + conn.received.gaps, 0);
    }
  });

  test('a refused connection closes by RST from the server', async () => {
    const { connections } = await analyze(pcap);
    const refused = connections.filter((c) => c.dst.port === 9);
    assert.equal(refused.length, 1);
    assert.equal(refused[0]!.closeReason, 'rst');
    assert.equal(refused[0]!.closedBy, 'dst');
    assert.equal(refused[0]!.handshake, null);
  });
});
