/**
 * HTTP/1.1, GraphQL and WebSocket on real traffic: a Node server (node:http, and `ws` for
 * WebSocket) in one pod, curl and a `ws` client in another, tcpdump on the server pod's host-side
 * veth. podwire's entries must say what the clients themselves report having sent and received:
 * curl's `-w` variables (method, URL, status, bytes of request, headers and body), the ws client's
 * own log of messages, the GraphQL server's answers.
 *
 * curl counts a request body sent after a 100 Continue in size_upload but not in size_request; a
 * body sent with the head is in both (chunk framing included). Its size_header includes interim
 * (100) response heads; its size_download is the body de-chunked.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { Node, netnsAvailable, waitFor } from '../../support/netns.js';
import { ROOT } from '../../support/paths.js';

const WS = JSON.stringify(join(ROOT, 'node_modules', 'ws'));

const SERVER = `
const http = require('node:http');
const zlib = require('node:zlib');
const { WebSocketServer } = require(${WS});
const GZ = zlib.gzipSync(Buffer.from('{"compressed":true,"pad":"' + 'p'.repeat(5000) + '"}'));
function graphql(q) {
  const name = /^\\s*(query|mutation|subscription)\\s+(\\w+)/.exec(q.query || '');
  if (name && name[2] === 'Fail') return { data: null, errors: [{ message: 'failed on purpose', path: ['x'] }] };
  return { data: { echo: name ? name[2] : null } };
}
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://x');
    const send = (status, headers, data) => { res.writeHead(status, headers); res.end(data); };
    if (url.pathname.startsWith('/size/')) {
      const n = Number(url.pathname.slice(6));
      return send(200, { 'content-type': 'text/plain', 'content-length': n }, 'x'.repeat(n));
    }
    if (url.pathname === '/echo') return send(200, { 'content-type': 'application/json' }, JSON.stringify({ received: body.length }));
    if (url.pathname === '/nocontent') return send(204, {});
    if (url.pathname === '/etag') {
      if (req.headers['if-none-match'] === '"v1"') return send(304, { etag: '"v1"' });
      return send(200, { etag: '"v1"', 'content-length': 4 }, 'etag');
    }
    if (url.pathname === '/gzip') return send(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': GZ.length }, GZ);
    if (url.pathname === '/chunked') { res.writeHead(200, { 'content-type': 'text/plain' }); res.write('one,'); res.write('two,'); return res.end('three'); }
    if (url.pathname === '/graphql') {
      let q;
      if (req.method === 'GET') q = { query: url.searchParams.get('query') };
      else q = JSON.parse(body.toString());
      const out = Array.isArray(q) ? q.map(graphql) : graphql(q);
      return send(200, { 'content-type': 'application/json' }, JSON.stringify(out));
    }
    send(404, { 'content-length': 0 });
  });
});
const plain = new WebSocketServer({ noServer: true });
const deflate = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
for (const wss of [plain, deflate])
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : 'echo:' + data.toString(), { binary: isBinary }));
  });
server.on('upgrade', (req, socket, head) => {
  const wss = req.url.startsWith('/deflate') ? deflate : plain;
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
server.listen(8080, '0.0.0.0');
`;

/** A ws client: sends, logs what it sent and got, closes with 4000. */
const WS_CLIENT = `
const WebSocket = require(${WS});
const [url, deflate] = [process.argv[1], process.argv[2] === 'deflate'];
const ws = new WebSocket(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
const log = [];
ws.on('open', () => {
  const send = (data, opts) => { ws.send(data, opts); log.push({ dir: 'sent', method: opts && opts.binary ? 'binary' : 'text', size: Buffer.byteLength(data) }); };
  send('hello ' + 'h'.repeat(200));
  send(Buffer.alloc(70000, 7), { binary: true });
  ws.ping('are you there');
  log.push({ dir: 'sent', method: 'ping', size: 13 });
  send('{"a":1}');
});
ws.on('message', (data, isBinary) => {
  log.push({ dir: 'got', method: isBinary ? 'binary' : 'text', size: data.length, text: isBinary ? undefined : data.toString() });
  if (log.filter((l) => l.dir === 'got' && l.method !== 'pong').length === 3) { ws.close(4000, 'done'); log.push({ dir: 'sent', method: 'close', code: 4000 }); }
});
ws.on('pong', (d) => log.push({ dir: 'got', method: 'pong', size: d.length }));
ws.on('close', (code) => { log.push({ dir: 'got', method: 'close', code }); console.log(JSON.stringify(log)); });
`;

interface Transfer {
  method: string;
  path: string;
  status: number;
  sent: number;
  upload: number;
  header: number;
  download: number;
  localPort: number;
  /** The body waited for a 100 Continue. */
  late: boolean;
}

const available = (await netnsAvailable()) && (await tsharkAvailable());

describe('HTTP/1.1, GraphQL and WebSocket from real clients', {
  skip: available ? false : 'needs root, ip netns and tshark',
}, () => {
  const node = new Node('pwh1', '198.18.11');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-http1-'));
  const pcap = join(dir, 'server.pcap');
  const transfers: Transfer[] = [];
  const wsLogs: {
    path: string;
    log: { dir: string; method: string; size?: number; code?: number; text?: string }[];
  }[] = [];
  let entries: Entry[] = [];
  let url = (p: string) => p;

  async function curl(args: string[], late = false): Promise<void> {
    const client = node.pod('client');
    const fmt =
      '%{method} %{url_effective} %{http_code} %{size_request} %{size_upload} %{size_header} %{size_download} %{local_port}\\n';
    const urls = args.filter((a) => a.startsWith('http://'));
    const outputs = urls.flatMap(() => ['-o', '/dev/null']);
    const out = String(await node.exec(client.ns, 'curl', ['-s', ...outputs, '-w', fmt, ...args]));
    for (const line of out.trim().split('\n')) {
      const [method, u, status, sent, upload, header, download, port] = line.split(' ');
      const parsed = new URL(u!);
      transfers.push({
        method: method!,
        path: parsed.pathname + parsed.search,
        status: Number(status),
        sent: Number(sent),
        upload: Number(upload),
        header: Number(header),
        download: Number(download),
        localPort: Number(port),
        late,
      });
    }
  }

  before(async () => {
    await node.up(['client', 'server']);
    const server = node.pod('server');
    node.spawn(server.ns, process.execPath, ['-e', SERVER]);
    url = (p: string) => `http://${server.ip}:8080${p}`;
    await waitFor(() => node.exec(node.pod('client').ns, 'curl', ['-sf', url('/size/1')]));
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(200_000, 'b'));
    const small = join(dir, 'small.txt');
    writeFileSync(small, 'c'.repeat(5000));
    const cap = await node.capture(server.hostIf, pcap, ['tcp', 'port', '8080']);
    // Keep-alive: several URLs on one connection, a gzip body, a chunked response.
    await curl([
      url('/size/10'),
      url('/size/100000'),
      url('/gzip'),
      url('/chunked'),
      url('/size/0?q=1&r=two'),
    ]);
    await curl(['--compressed', url('/gzip')]);
    // A chunked request body.
    await curl(['-H', 'Transfer-Encoding: chunked', '--data-binary', `@${small}`, url('/echo')]);
    // HEAD, 204, 304 with If-None-Match.
    await curl(['-I', url('/size/5000')]);
    await curl([url('/nocontent')]);
    await curl(['-H', 'If-None-Match: "v1"', url('/etag')]);
    // Expect: 100-continue with a large body.
    await curl(['-H', 'Expect: 100-continue', '--data-binary', `@${big}`, url('/echo')], true);
    // GraphQL: POST JSON, GET query string, batched, an error.
    const gql = (body: unknown) => [
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      JSON.stringify(body),
      url('/graphql'),
    ];
    await curl(gql({ query: 'query Hero($id: ID) { hero(id: $id) { name } }', variables: { id: 1 } }));
    await curl(gql({ query: 'mutation Fail { x }' }));
    await curl(['-G', '--data-urlencode', 'query=query Viewer { me { id } }', url('/graphql')]);
    await curl(gql([{ query: 'query One { a }' }, { query: 'mutation Two { b }' }]));
    // WebSocket, plain and with permessage-deflate.
    for (const [path, mode] of [
      ['/ws?room=1', 'plain'],
      ['/deflate', 'deflate'],
    ] as const) {
      const out = await node.exec(node.pod('client').ns, process.execPath, [
        '-e',
        WS_CLIENT,
        `ws://${server.ip}:8080${path}`,
        mode,
      ]);
      wsLogs.push({ path, log: JSON.parse(out) });
    }
    await new Promise((r) => setTimeout(r, 300));
    await cap.stop();
    const result = await analyze(pcap);
    entries = result.entries;
    assert.deepEqual(result.summary.errors, {});
  });

  after(() => node.down());

  const httpish = () => entries.filter((e) => e.protocol === 'http' || e.protocol === 'graphql');

  test('one entry per curl transfer, with curl`s method, path, status and byte counts', () => {
    const plain = httpish().filter((e) => !(e.status === 101));
    assert.equal(plain.length, transfers.length);
    for (const t of transfers) {
      const e = plain.find(
        (x) => x.src.port === t.localPort && x.request.path === t.path && x.request.method === t.method,
      );
      assert.ok(e, `an entry for ${t.method} ${t.path} from port ${t.localPort}`);
      assert.equal(e.status, t.status, `${t.path} status`);
      assert.equal(e.requestSize, t.sent + (t.late ? t.upload : 0), `${t.method} ${t.path} request bytes`);
      const reqChunked = (e.request.headers as Record<string, string>)['Transfer-Encoding'] === 'chunked';
      if (!reqChunked) assert.equal(e.request.bodySize, t.upload, `${t.method} ${t.path} request body`);
      // curl counts a chunked body de-chunked; podwire's responseSize is the wire (framing included).
      const chunked =
        (e.response?.headers as Record<string, string> | undefined)?.['Transfer-Encoding'] === 'chunked';
      if (!chunked) assert.equal(e.responseSize, t.header + t.download, `${t.path} response bytes`);
      assert.equal(e.response?.bodySize, t.download, `${t.path} response body`);
      assert.equal(e.error, null);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
    }
  });

  test('per connection, entries account for every payload byte tshark sees', async () => {
    // Payload per direction, retransmitted copies left out (a loaded machine may retransmit).
    const rows = await tsharkFields(
      pcap,
      'tcp.len > 0 && !tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission',
      ['tcp.srcport', 'tcp.dstport', 'tcp.len'],
    );
    const bytesFrom = new Map<string, number>();
    for (const [sp, dp, len] of rows)
      bytesFrom.set(`${sp}>${dp}`, (bytesFrom.get(`${sp}>${dp}`) ?? 0) + Number(len));
    const clientPorts = new Set(entries.map((e) => (e.dst.port === 8080 ? e.src.port : e.dst.port)));
    assert.ok(clientPorts.size >= 10);
    for (const port of clientPorts) {
      const mine = entries.filter((e) => e.src.port === port || e.dst.port === port);
      const up = mine.reduce((n, e) => n + (e.src.port === port ? e.requestSize : e.responseSize), 0);
      const down = mine.reduce((n, e) => n + (e.src.port === port ? e.responseSize : e.requestSize), 0);
      assert.equal(up, bytesFrom.get(`${port}>8080`) ?? 0, `client ${port}: bytes sent`);
      assert.equal(down, bytesFrom.get(`8080>${port}`) ?? 0, `client ${port}: bytes received`);
    }
  });

  test('bodies: de-chunked, gzip decoded, 100-continue kept as interim', () => {
    const find = (path: string, method = 'GET') =>
      httpish().filter((e) => e.request.path === path && e.request.method === method);
    for (const gz of find('/gzip')) {
      assert.equal(gz.response!.contentEncoding, 'gzip');
      assert.match(gz.response!.body as string, /^\{"compressed":true,"pad":"p+"\}$/);
    }
    const chunkedReq = find('/echo', 'POST').find((e) => e.request.bodySize === 5000);
    assert.ok(chunkedReq, 'the chunked POST');
    assert.equal(chunkedReq.request.body, 'c'.repeat(5000));
    const cont = find('/echo', 'POST').find((e) => e.request.bodySize === 200_000);
    assert.ok(cont, 'the 100-continue POST');
    assert.deepEqual(
      (cont.response!.informational as { status: number }[]).map((i) => i.status),
      [100],
    );
    assert.equal(cont.response!.body, '{"received":200000}');
    assert.equal(find('/chunked')[0]!.response!.body, 'one,two,three');
  });

  test('GraphQL exchanges: operation type and name, HTTP status, errors', () => {
    const gql = entries.filter((e) => e.protocol === 'graphql');
    assert.deepEqual(
      gql.map(
        (e) =>
          `${e.method} ${e.path} ${e.status} ${(e.response?.errors as unknown[] | undefined)?.length ?? 0}`,
      ),
      ['query Hero 200 0', 'mutation Fail 200 1', 'query Viewer 200 0', 'query One,Two 200 0'],
    );
    assert.deepEqual((gql[1]!.response!.errors as { message: string }[])[0]!.message, 'failed on purpose');
    assert.deepEqual(
      (gql[0]!.request.graphql as { operations: { variables: unknown }[] }).operations[0]!.variables,
      { id: 1 },
    );
  });

  test('WebSocket: every message the client sent and got, linked to its upgrade', () => {
    for (const { path, log } of wsLogs) {
      const upgrade = entries.find((e) => e.status === 101 && e.path === path);
      assert.ok(upgrade, `the upgrade to ${path}`);
      const msgs = entries.filter(
        (e) => e.protocol === 'websocket' && e.request.upgradeEntryId === upgrade.id,
      );
      const fromClient = msgs.filter((e) => e.request.fromClient);
      const toClient = msgs.filter((e) => !e.request.fromClient);
      const summary = (dirName: string) =>
        log
          .filter((l) => l.dir === dirName)
          .map((l) => (l.method === 'close' ? `close ${l.code}` : `${l.method} ${l.size}`));
      const ours = (list: Entry[]) =>
        list.map((e) =>
          e.method === 'close'
            ? `close ${e.status}`
            : `${e.method} ${e.request.inflatedSize ?? e.request.payloadSize}`,
        );
      assert.deepEqual(ours(fromClient), summary('sent'), `${path}: client to server`);
      assert.deepEqual(ours(toClient), summary('got'), `${path}: server to client`);
      for (const m of toClient.filter((e) => e.method === 'text'))
        assert.ok(
          log.some((l) => l.text === m.request.payload),
          `text ${String(m.request.payload).slice(0, 20)}`,
        );
      if (path === '/deflate') assert.ok(msgs.some((e) => e.request.compressed === true));
      for (const m of msgs) assert.equal(m.error, null);
    }
  });
});
