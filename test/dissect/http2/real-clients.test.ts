/**
 * HTTP/2 and gRPC from real clients and servers, pod to pod: nghttpd (--no-tls) serving files to
 * nghttp with prior knowledge, and a @grpc/grpc-js server answering a grpc-js client (unary,
 * server streaming, client streaming, an error status, a gzip-compressed call). tcpdump captures on
 * the server pod's host-side veth; podwire's entries must say what the clients did and saw.
 *
 * Netns: prefix pwh2, subnet 198.18.12.0/24 (assigned to this dissector's tests).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { Node, netnsAvailable, sh, waitFor } from '../../support/netns.js';
import { ROOT } from '../../support/paths.js';
import type { Detail } from './builders.js';

const PROTO = `
syntax = "proto3";
package demo;
service Greeter {
  rpc Hello (HelloRequest) returns (HelloReply);
  rpc Count (CountRequest) returns (stream HelloReply);
  rpc Collect (stream HelloRequest) returns (HelloReply);
  rpc Fail (HelloRequest) returns (HelloReply);
}
message HelloRequest { string name = 1; int32 times = 2; }
message CountRequest { int32 n = 1; }
message HelloReply { string message = 1; int32 index = 2; }
`;

const COMMON = (proto: string) => `
const { createRequire } = require('node:module');
const req = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
const grpc = req('@grpc/grpc-js');
const loader = req('@grpc/proto-loader');
const pkg = grpc.loadPackageDefinition(loader.loadSync(${JSON.stringify(proto)})).demo;
`;

const SERVER = (proto: string) => `${COMMON(proto)}
const server = new grpc.Server();
server.addService(pkg.Greeter.service, {
  Hello: (call, cb) => cb(null, { message: 'hello ' + call.request.name, index: 1 }),
  Count: (call) => { for (let i = 1; i <= call.request.n; i++) call.write({ message: 'n', index: i }); call.end(); },
  Collect: (call, cb) => { const names = []; call.on('data', (m) => names.push(m.name)); call.on('end', () => cb(null, { message: names.join('+'), index: names.length })); },
  Fail: (call, cb) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: ' + call.request.name }),
});
server.bindAsync('0.0.0.0:50051', grpc.ServerCredentials.createInsecure(), () => {});
`;

const CLIENT = (proto: string, addr: string) => `${COMMON(proto)}
const c = new pkg.Greeter(${JSON.stringify(addr)}, grpc.credentials.createInsecure());
const gz = new pkg.Greeter(${JSON.stringify(addr)}, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
const out = [];
const unary = (client, method, arg) => new Promise((res) => client[method](arg, (err, reply) => {
  out.push({ method, code: err ? err.code : 0, details: err ? err.details : '', received: reply ? 1 : 0, sent: 1, reply });
  res();
}));
(async () => {
  await unary(c, 'Hello', { name: 'pod', times: 3 });
  await new Promise((res) => {
    const call = c.Count({ n: 4 });
    let n = 0;
    call.on('data', () => n++);
    call.on('status', (s) => { out.push({ method: 'Count', code: s.code, details: s.details, received: n, sent: 1 }); res(); });
  });
  await new Promise((res) => {
    const call = c.Collect((err, reply) => { out.push({ method: 'Collect', code: err ? err.code : 0, details: '', received: 1, sent: 3, reply }); res(); });
    for (const name of ['a', 'b', 'c']) call.write({ name });
    call.end();
  });
  await unary(c, 'Fail', { name: 'x' });
  await unary(gz, 'Hello', { name: 'gzip'.repeat(50) });
  console.log(JSON.stringify(out));
  c.close(); gz.close();
})();
`;

const available = await netnsAvailable();
let nghttpAvailable = false;
try {
  await sh('nghttp', ['--version']);
  await sh('nghttpd', ['--version']);
  nghttpAvailable = true;
} catch {}

describe('HTTP/2 and gRPC from real clients', { skip: available ? false : 'needs root and ip netns' }, () => {
  const node = new Node('pwh2', '198.18.12');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-h2-'));
  const h2pcap = join(dir, 'h2.pcap');
  const grpcPcap = join(dir, 'grpc.pcap');
  type HarHeaders = { name: string; value: string }[];
  let har: {
    log: {
      entries: {
        request: { url: string; headers: HarHeaders };
        response: { status: number; content: { size: number }; headers: HarHeaders };
      }[];
    };
  } | null = null;
  let calls: { method: string; code: number; details: string; received: number; sent: number }[] = [];

  before(async () => {
    await node.up(['client', 'server']);
    const server = node.pod('server');
    const client = node.pod('client');
    // nghttpd with prior-knowledge h2c.
    if (nghttpAvailable) {
      const docs = join(dir, 'docs');
      await sh('mkdir', ['-p', docs]);
      writeFileSync(join(docs, 'index.html'), '<html>hello</html>');
      writeFileSync(join(docs, 'big.bin'), Buffer.alloc(200_000, 7));
      node.spawn(server.ns, 'nghttpd', ['--no-tls', '-d', docs, '8080']);
      await waitFor(() => node.exec(client.ns, 'nghttp', ['-n', `http://${server.ip}:8080/index.html`]));
      const cap = await node.capture(server.hostIf, h2pcap, ['tcp', 'port', '8080']);
      const harFile = join(dir, 'nghttp.har');
      const base = `http://${server.ip}:8080`;
      await node.exec(client.ns, 'nghttp', [
        '-n',
        '--har',
        harFile,
        `${base}/index.html`,
        `${base}/big.bin`,
        `${base}/missing?x=1`,
        `${base}/index.html`,
      ]);
      await new Promise((r) => setTimeout(r, 300));
      await cap.stop();
      har = JSON.parse(readFileSync(harFile, 'utf8'));
    }
    // gRPC.
    const proto = join(dir, 'demo.proto');
    writeFileSync(proto, PROTO);
    node.spawn(server.ns, process.execPath, ['-e', SERVER(proto)]);
    await waitFor(() => node.exec(client.ns, 'bash', ['-c', `echo > /dev/tcp/${server.ip}/50051`]));
    const cap = await node.capture(server.hostIf, grpcPcap, ['tcp', 'port', '50051']);
    const out = await node.exec(client.ns, process.execPath, ['-e', CLIENT(proto, `${server.ip}:50051`)]);
    await new Promise((r) => setTimeout(r, 300));
    await cap.stop();
    calls = JSON.parse(out.trim().split('\n').at(-1)!);
  });

  after(() => node.down());

  test('nghttp with prior knowledge: one entry per request, with the statuses and body sizes nghttp got', {
    skip: nghttpAvailable ? false : 'nghttp2-client/nghttp2-server not installed',
  }, async () => {
    const { entries, summary } = await analyze(h2pcap);
    const h2 = entries.filter((e) => e.protocol === 'http');
    const seen = har!.log.entries;
    assert.equal(h2.length, seen.length);
    const key = (path: string, status: unknown, size: unknown) => `${path} ${status} ${size}`;
    const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;
    const expected = seen
      .map((x) => key(pathOf(x.request.url), x.response.status, x.response.content.size))
      .sort();
    const got = h2.map((e) => key(e.path, e.status, (e.response as Record<string, unknown>).bodySize)).sort();
    assert.deepEqual(got, expected);
    // Every header nghttp sent and received, decoded through both HPACK dynamic tables.
    const plain = (hs: HarHeaders) =>
      Object.fromEntries(hs.filter((h) => !h.name.startsWith(':')).map((h) => [h.name, h.value]));
    for (const x of seen) {
      const e = h2.find((y) => y.path === pathOf(x.request.url))!;
      assert.deepEqual((e.response as Record<string, unknown>).headers, plain(x.response.headers));
      assert.deepEqual(e.request.headers, plain(x.request.headers));
    }
    for (const e of h2) {
      assert.equal(e.request.httpVersion, '2');
      assert.equal(e.method, 'GET');
      assert.equal(e.error, null);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
    }
    assert.equal(summary.protocols.http?.parseErrors ?? 0, 0);
  });

  test('grpc-js: unary, server streaming, client streaming, an error and a gzip call, as the client saw them', async () => {
    const { entries } = await analyze(grpcPcap);
    const g = entries.filter((e) => e.protocol === 'grpc');
    assert.equal(g.length, calls.length);
    const byOrder = g.sort((a, b) => a.timestamp - b.timestamp);
    for (const [i, call] of calls.entries()) {
      const e = byOrder[i]!;
      const req = e.request as Detail;
      const res = e.response as Detail;
      assert.equal(e.method, 'POST');
      assert.equal(e.path, `/demo.Greeter/${call.method}`);
      assert.equal(e.status, call.code, call.method);
      // grpc-js sends grpc-message "OK" with status 0, and its client reports no details then.
      if (call.code !== 0) assert.equal(res.grpcMessage, call.details, call.method);
      assert.equal(req.messageCount, call.sent, call.method);
      assert.equal(res.messageCount, call.code === 0 ? call.received : 0, call.method);
      assert.equal(e.error, null, call.method);
    }
    const hello = byOrder[0]!;
    // HelloRequest { name = "pod" (1, len), times = 3 (2, varint) }, decoded without a schema.
    assert.deepEqual((hello.request as Detail).messages[0].protobuf, [
      { n: 1, wire: 'len', length: 3, text: 'pod' },
      { n: 2, wire: 'varint', value: 3 },
    ]);
    assert.deepEqual((hello.response as Detail).messages[0].protobuf, [
      { n: 1, wire: 'len', length: 9, text: 'hello pod' },
      { n: 2, wire: 'varint', value: 1 },
    ]);
    const fail = byOrder.find((e: Entry) => e.path.endsWith('/Fail'))!;
    assert.equal((fail.response as Detail).grpcStatusName, 'NOT_FOUND');
    // The gzip call: a compressed message, decompressed before decoding.
    const gz = byOrder.at(-1)!;
    const m = (gz.request as Detail).messages[0];
    assert.equal(m.compressed, true);
    assert.deepEqual(m.protobuf[0], { n: 1, wire: 'len', length: 200, text: 'gzip'.repeat(50) });
  });
});
