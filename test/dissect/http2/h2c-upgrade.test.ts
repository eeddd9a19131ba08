/**
 * The h2c upgrade (RFC 7540 §3.2) across the two dissectors: an HTTP/1.1 request with `Upgrade:
 * h2c` and `HTTP2-Settings`, the 101, then the client preface and SETTINGS from the client and
 * SETTINGS plus the response on stream 1 from the server. The http1 session switches to http2 and
 * hands the request over, so stream 1's entry carries the HTTP/1.1 request's method, path, headers,
 * first-byte time and size, and the response's status, with no error.
 *
 * The byte exchange follows the RFC's §3.2 example; frames are built by ./builders.ts.
 *
 * Then real clients, pod to pod: `nghttp -u` (nghttp's --upgrade) and `curl --http2` on http://
 * against nghttpx (no TLS) in front of nghttpd. nghttpd itself does not answer `Upgrade: h2c` (it
 * takes any connection as prior-knowledge HTTP/2 and answers the HTTP/1.1 request with SETTINGS),
 * so nghttpx, the proxy of the same project (Debian's nghttp2-proxy), takes the upgrades and
 * forwards the streams to nghttpd over h2. The entries are checked against nghttp's HAR and `-v`
 * log, curl's `-w` figures, and tshark's decoding of the same capture (tshark follows h2c upgrades
 * on its HTTP ports). Netns: prefix pwh2u, subnet 198.18.16.0/24.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { http2Dissector } from '../../../src/dissect/http2/index.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { Node, netnsAvailable, sh, waitFor } from '../../support/netns.js';
import { bytes, type Emitted, type FakeContext, run, type Wire } from '../http1/harness.js';
import { type Detail, data, frame, HeaderWriter, PREFACE, settings, settingsAck } from './builders.js';

const OTHERS = [http1Dissector, http2Dissector];
const cols = (ctx: FakeContext) =>
  ctx.entries.map((e) => `${e.request.httpVersion} ${e.method} ${e.path} ${e.status}`);

/** RFC 7540 §3.2.1: HTTP2-Settings is the base64url SETTINGS payload (no frame header, no padding). */
const CLIENT_SETTINGS: [number, number][] = [
  [3, 100], // SETTINGS_MAX_CONCURRENT_STREAMS
  [4, 65535], // SETTINGS_INITIAL_WINDOW_SIZE
];
const HTTP2_SETTINGS = Buffer.from(settings(CLIENT_SETTINGS).subarray(9)).toString('base64url');

function upgradeRequest(method = 'GET', path = '/', body = ''): Uint8Array {
  const length = body ? `Content-Length: ${body.length}\r\n` : '';
  return bytes(
    `${method} ${path} HTTP/1.1\r\nHost: server.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
      `Upgrade: h2c\r\nHTTP2-Settings: ${HTTP2_SETTINGS}\r\n${length}\r\n${body}`,
  );
}

// Wire data are Uint8Arrays: the harness slices them (a copy) and scribbles over each piece fed.
const SWITCHING = bytes('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
const PAGE = '<html><body>upgraded</body></html>';

/** The server's first HTTP/2 bytes: its SETTINGS (RFC 7540 §3.5), then stream 1's response. */
function serverH2(server: HeaderWriter, status = '200', body = PAGE): Uint8Array {
  return bytes(
    settings([[3, 250]]),
    server.headers(1, [
      [':status', status],
      ['content-type', 'text/html'],
      ['content-length', String(body.length)],
    ]),
    data(1, body, true),
  );
}

const clientH2 = () => bytes(PREFACE, settings(CLIENT_SETTINGS), settingsAck());

/** The RFC's exchange with the server's HTTP/2 bytes in the 101's segment. */
function rfcExchange(): Wire[] {
  const server = new HeaderWriter();
  return [
    { dir: 0, ts: 1_000, data: upgradeRequest() },
    { dir: 1, ts: 3_000, data: bytes(SWITCHING, serverH2(server)) },
    { dir: 0, ts: 3_500, data: clientH2() },
    { dir: 1, ts: 3_600, data: settingsAck() },
  ];
}

function stream1(ctx: FakeContext): Emitted {
  const e = ctx.entries.find((x) => x.request.httpVersion === '2' && x.request.streamId === 1);
  assert.ok(e, `no stream 1 entry in ${JSON.stringify(cols(ctx))}`);
  return e;
}

describe('h2c upgrade: the HTTP/1.1 request becomes stream 1 (RFC 7540 §3.2)', () => {
  test('the RFC exchange: the 101 entry, then stream 1 with the request and the HTTP/2 response', () => {
    const wire = rfcExchange();
    const ctx = run(http1Dissector, wire, [], OTHERS);
    assert.deepEqual(ctx.switches, ['http2']);
    assert.deepEqual(cols(ctx), ['1.1 GET / 101', '2 GET / 200']);
    assert.deepEqual(ctx.errors, []);
    const [switching, e] = ctx.entries as [Emitted, Emitted];
    assert.equal(switching.error, null);
    assert.equal(e.error, null);
    const req = e.request as Detail;
    assert.equal(req.streamId, 1);
    assert.equal(req.upgradedFrom, 'HTTP/1.1');
    assert.equal(req.scheme, 'http');
    assert.equal(req.authority, 'server.example.com');
    assert.deepEqual(req.headers, {
      host: 'server.example.com',
      connection: 'Upgrade, HTTP2-Settings',
      upgrade: 'h2c',
      'http2-settings': HTTP2_SETTINGS,
    });
    // The request's first byte and its HTTP/1.1 bytes; the response's first HTTP/2 frame.
    assert.equal(e.timestamp, 1_000);
    assert.equal(e.elapsedMs, 2);
    assert.equal(e.requestSize, wire[0]!.data.length);
    const res = e.response as Detail;
    assert.equal(res.httpVersion, '2');
    assert.equal(res.headers['content-type'], 'text/html');
    assert.equal(res.bodySize, PAGE.length);
    assert.equal(res.body.text, PAGE);
    // HEADERS and DATA frames of stream 1, 9-byte frame headers included (SETTINGS are not the stream's).
    const h2 = serverH2(new HeaderWriter());
    assert.equal(e.responseSize, h2.length - settings([[3, 250]]).length);
  });

  test('every cut point of every message gives the same entries', () => {
    const wire = rfcExchange();
    const expected = run(http1Dissector, wire, [], OTHERS).entries;
    for (const [i, w] of wire.entries()) {
      for (let p = 1; p < w.data.length; p++) {
        const cuts = wire.map((_, j) => (j === i ? [p] : []));
        const got = run(http1Dissector, rfcExchange(), cuts, OTHERS);
        assert.deepEqual(got.entries, expected, `message ${i} cut at ${p}`);
        assert.deepEqual(got.errors, []);
      }
    }
  });

  test('the 101 alone, the preface next, the response later: the same stream 1 entry', () => {
    const server = new HeaderWriter();
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: upgradeRequest('GET', '/later?x=1') },
        { dir: 1, ts: 2_000, data: SWITCHING },
        { dir: 0, ts: 2_500, data: clientH2() },
        { dir: 1, ts: 4_000, data: serverH2(server, '404', 'nope') },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 GET /later?x=1 101', '2 GET /later?x=1 404']);
    assert.equal(stream1(ctx).elapsedMs, 3);
    assert.equal(stream1(ctx).error, null);
  });

  test('client bytes sent before the 101 are held, then go to http2', () => {
    const server = new HeaderWriter();
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: bytes(upgradeRequest(), clientH2()) },
        { dir: 1, ts: 2_000, data: bytes(SWITCHING, serverH2(server)) },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 GET / 101', '2 GET / 200']);
    assert.equal(stream1(ctx).requestSize, upgradeRequest().length);
    assert.deepEqual(ctx.errors, []);
  });

  test('a request with a body (sent whole before the switch): POST on stream 1, its size counted', () => {
    const server = new HeaderWriter();
    const request = upgradeRequest('POST', '/form', 'a=1&b=2');
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: request },
        { dir: 1, ts: 2_000, data: bytes(SWITCHING, serverH2(server, '201', 'made')) },
        { dir: 0, ts: 2_100, data: clientH2() },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 POST /form 101', '2 POST /form 201']);
    const e = stream1(ctx);
    assert.equal(e.requestSize, request.length);
    assert.equal((e.request as Detail).headers['content-length'], '7');
    assert.equal(e.error, null);
  });

  test('streams the client opens after the upgrade are ordinary HTTP/2 exchanges', () => {
    const server = new HeaderWriter();
    const client = new HeaderWriter();
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: upgradeRequest() },
        { dir: 1, ts: 2_000, data: bytes(SWITCHING, serverH2(server)) },
        {
          dir: 0,
          ts: 2_100,
          data: bytes(
            clientH2(),
            client.headers(
              3,
              [
                [':method', 'GET'],
                [':scheme', 'http'],
                [':path', '/second'],
                [':authority', 'server.example.com'],
              ],
              { endStream: true },
            ),
          ),
        },
        {
          dir: 1,
          ts: 2_500,
          data: server.headers(3, [[':status', '204']], { endStream: true }),
        },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 GET / 101', '2 GET / 200', '2 GET /second 204']);
    const second = ctx.entries[2]!;
    assert.equal(second.request.upgradedFrom, undefined);
    assert.equal(second.error, null);
  });

  test('the connection ends before stream 1 is answered: the request, no response, an error', () => {
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: upgradeRequest('GET', '/slow') },
        { dir: 1, ts: 2_000, data: bytes(SWITCHING, settings()) },
        { dir: 0, ts: 2_100, data: clientH2() },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 GET /slow 101', '2 GET /slow null']);
    const e = stream1(ctx);
    assert.equal(e.response, null);
    assert.equal(e.error, 'no response seen');
  });

  test('an upgrade the server ignores: one HTTP/1.1 exchange, no switch', () => {
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: upgradeRequest() },
        { dir: 1, ts: 2_000, data: bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(ctx.switches, []);
    assert.deepEqual(cols(ctx), ['1.1 GET / 200']);
  });

  test('a frame on stream 1 that is not the response (RST_STREAM): the request stays, the reset is the error', () => {
    const ctx = run(
      http1Dissector,
      [
        { dir: 0, ts: 1_000, data: upgradeRequest('GET', '/refused') },
        // RFC 9113 §7: REFUSED_STREAM (0x7).
        { dir: 1, ts: 2_000, data: bytes(SWITCHING, settings(), frame(3, 0, 1, [0, 0, 0, 7])) },
      ],
      [],
      OTHERS,
    );
    assert.deepEqual(cols(ctx), ['1.1 GET /refused 101', '2 GET /refused null']);
    assert.match(String(stream1(ctx).error), /RST_STREAM REFUSED_STREAM from the server/);
  });
});

const haveTools = await (async () => {
  if (!(await netnsAvailable())) return 'needs root and ip netns';
  for (const [cmd, pkg] of [
    ['nghttp', 'nghttp2-client'],
    ['nghttpd', 'nghttp2-server'],
    ['nghttpx', 'nghttp2-proxy'],
    ['curl', 'curl'],
  ] as const) {
    try {
      await sh(cmd, ['--version']);
    } catch {
      return `${cmd} not installed (Debian package ${pkg})`;
    }
  }
  return null;
})();

type HarHeaders = { name: string; value: string }[];
interface Har {
  log: {
    entries: {
      request: { method: string; url: string; headers: HarHeaders };
      response: { status: number; content: { size: number }; headers: HarHeaders };
    }[];
  };
}

describe('h2c upgrade from real clients (nghttp -u, curl --http2) through nghttpx', {
  skip: haveTools ?? false,
}, () => {
  const node = new Node('pwh2u', '198.18.16');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-h2u-'));
  const pcap = join(dir, 'h2c.pcap');
  const PORT = 8080;
  const INDEX = '<html>upgraded over h2c</html>\n';
  const POSTED = 'payload-123';
  let base = '';
  let har: Har;
  let harPost: Har;
  /** nghttp -v of the POST run: its upgrade is `OPTIONS *` (nghttp does so when -d is given). */
  let postLog = '';
  let curlGet = '';
  let curlPost = '';
  let entries: Entry[] = [];
  let parseErrors = 0;

  before(async () => {
    await node.up(['server', 'client']);
    const server = node.pod('server');
    const client = node.pod('client');
    const docs = join(dir, 'docs');
    await sh('mkdir', ['-p', docs]);
    writeFileSync(join(docs, 'index.html'), INDEX);
    // Larger than the 65,535-byte initial window: WINDOW_UPDATEs on the upgraded connection.
    writeFileSync(join(docs, 'big.bin'), Buffer.alloc(100_000, 7));
    writeFileSync(join(dir, 'body.txt'), POSTED);
    node.spawn(server.ns, 'nghttpd', ['--no-tls', '-a', '127.0.0.1', '-d', docs, '8081']);
    node.spawn(server.ns, 'nghttpx', [
      '--conf=/dev/null',
      `--frontend=0.0.0.0,${PORT};no-tls`,
      '--backend=127.0.0.1,8081;;proto=h2',
      '--workers=1',
      `--pid-file=${join(dir, 'nghttpx.pid')}`,
      `--errorlog-file=${join(dir, 'nghttpx.log')}`,
      '--accesslog-file=/dev/null',
    ]);
    base = `http://${server.ip}:${PORT}`;
    await waitFor(() => node.exec(client.ns, 'curl', ['-sf', '-m', '2', `${base}/index.html`]));
    const cap = await node.capture(server.hostIf, pcap, ['tcp', 'port', String(PORT)]);
    const harFile = join(dir, 'get.har');
    await node.exec(client.ns, 'nghttp', [
      '-n',
      '-u',
      '--har',
      harFile,
      `${base}/index.html`,
      `${base}/big.bin`,
      `${base}/missing?x=1`,
    ]);
    const harPostFile = join(dir, 'post.har');
    postLog = await node.exec(client.ns, 'nghttp', [
      '-nv',
      '-u',
      '-d',
      join(dir, 'body.txt'),
      '--har',
      harPostFile,
      `${base}/index.html`,
    ]);
    const w = ['-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_version} %{response_code} %{size_download}'];
    curlGet = await node.exec(client.ns, 'curl', [...w, '--http2', `${base}/index.html`]);
    curlPost = await node.exec(client.ns, 'curl', [...w, '--http2', '-d', 'x=1', `${base}/missing`]);
    await new Promise((r) => setTimeout(r, 300));
    await cap.stop();
    har = JSON.parse(readFileSync(harFile, 'utf8'));
    harPost = JSON.parse(readFileSync(harPostFile, 'utf8'));
    const result = await analyze(pcap);
    entries = result.entries.filter((e) => e.protocol === 'http');
    parseErrors = result.summary.protocols.http?.parseErrors ?? 0;
  });

  after(async () => {
    await node.down();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The entries of each connection, in capture order (connection ids grow with the SYNs). */
  const connections = () => {
    const by = new Map<number, Entry[]>();
    for (const e of entries) by.set(e.connectionId!, [...(by.get(e.connectionId!) ?? []), e]);
    return [...by.entries()].sort(([a], [b]) => a - b).map(([, es]) => es);
  };
  const isH2 = (e: Entry) => e.request.httpVersion === '2';
  const plain = (hs: HarHeaders) =>
    Object.fromEntries(hs.filter((h) => !h.name.startsWith(':')).map((h) => [h.name, h.value]));
  const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;
  const detail = (x: Record<string, unknown> | null) => x as Detail;

  test('four connections, each a 101 then stream 1 with the upgraded request, no errors', () => {
    const conns = connections();
    assert.equal(conns.length, 4);
    for (const es of conns) {
      const [switching, ...rest] = es;
      assert.equal(switching!.request.httpVersion, '1.1');
      assert.equal(switching!.status, 101);
      assert.equal(switching!.error, null);
      const s1 = rest.find((e) => isH2(e) && e.request.streamId === 1);
      assert.ok(s1, JSON.stringify(es.map((e) => `${e.method} ${e.path} ${e.status}`)));
      assert.equal(s1.method, switching!.method);
      assert.equal(s1.path, switching!.path);
      assert.equal(s1.timestamp, switching!.timestamp);
      assert.equal(s1.requestSize, switching!.requestSize);
      assert.equal(s1.request.upgradedFrom, 'HTTP/1.1');
      assert.ok(s1.elapsedMs! >= switching!.elapsedMs!);
      for (const e of rest) {
        assert.ok(isH2(e));
        assert.equal(e.error, null, `${e.path}: ${e.error}`);
      }
    }
    assert.equal(parseErrors, 0);
  });

  test('nghttp -u: stream 1 and the streams after it, as nghttp`s HAR has them', () => {
    const es = connections()[0]!.filter(isH2);
    const seen = har.log.entries;
    assert.equal(es.length, seen.length);
    const key = (method: string, path: string, status: unknown, size: unknown) =>
      `${method} ${path} ${status} ${size}`;
    assert.deepEqual(
      es.map((e) => key(e.method, e.path, e.status, detail(e.response).bodySize)).sort(),
      seen
        .map((x) => key(x.request.method, pathOf(x.request.url), x.response.status, x.response.content.size))
        .sort(),
    );
    // The upgraded request's headers are its HTTP/1.1 ones (HAR lists them so too), names lower-cased.
    for (const x of seen) {
      const e = es.find((y) => y.path === pathOf(x.request.url))!;
      assert.deepEqual(e.request.headers, plain(x.request.headers), e.path);
      assert.deepEqual(detail(e.response).headers, plain(x.response.headers), e.path);
    }
    const s1 = es.find((e) => e.request.streamId === 1)!;
    assert.equal(s1.path, '/index.html');
    assert.equal(detail(s1.response).body.text, INDEX);
    assert.equal(detail(s1.request).headers.upgrade, 'h2c');
  });

  test('nghttp -u -d: the upgrade is OPTIONS * on stream 1, the POST follows on its own stream', () => {
    const es = connections()[1]!.filter(isH2);
    const s1 = es.find((e) => e.request.streamId === 1)!;
    const status = /recv \(stream_id=1\) :status: (\d{3})/.exec(postLog);
    assert.ok(status, postLog);
    assert.equal(`${s1.method} ${s1.path} ${s1.status}`, `OPTIONS * ${status[1]}`);
    const [x] = harPost.log.entries;
    const post = es.find((e) => e.method === 'POST')!;
    assert.equal(`${post.path} ${post.status}`, `${pathOf(x!.request.url)} ${x!.response.status}`);
    assert.equal(detail(post.request).bodySize, POSTED.length);
    assert.equal(detail(post.response).bodySize, x!.response.content.size);
    assert.deepEqual(post.request.headers, plain(x!.request.headers));
  });

  test('curl --http2 on http://: GET and POST upgrades, with what curl -w reports', () => {
    const [get, post] = connections().slice(2);
    for (const [es, seen, method, path, body] of [
      [get!, curlGet, 'GET', '/index.html', 0],
      [post!, curlPost, 'POST', '/missing', 3],
    ] as const) {
      const s1 = es.find((e) => isH2(e) && e.request.streamId === 1)!;
      const [version, code, size] = seen.trim().split(' ');
      assert.equal(version, '2', seen);
      assert.equal(`${s1.method} ${s1.path}`, `${method} ${path}`);
      assert.equal(String(s1.status), code);
      assert.equal(String(detail(s1.response).bodySize), size);
      assert.equal(detail(s1.request).headers['content-length'], body ? String(body) : undefined);
    }
  });

  test('tshark agrees: the 101s, and per connection the :status values and the HTTP/2 requests', async (t) => {
    if (!(await tsharkAvailable())) return t.skip('tshark not installed');
    const SEP = '\x1e';
    const rows = await tsharkFields(
      pcap,
      'http || http2',
      ['tcp.stream', 'http.response.code', 'http.request.method', 'http2.header.name', 'http2.header.value'],
      [],
      ['-E', 'occurrence=a', '-E', `aggregator=${SEP}`],
    );
    const theirs = new Map<number, { http1: string[]; statuses: string[]; requests: string[] }>();
    for (const [stream = '', code = '', method = '', names = '', values = ''] of rows) {
      const c = theirs.get(Number(stream)) ?? { http1: [], statuses: [], requests: [] };
      theirs.set(Number(stream), c);
      if (method) c.http1.push(method);
      if (code) c.http1.push(code);
      const vs = values.split(SEP);
      names.split(SEP).forEach((n, i) => {
        if (n === ':status') c.statuses.push(vs[i]!);
        if (n === ':method') c.requests.push(vs[i]!);
        if (n === ':path') c.requests.push(vs[i]!);
      });
    }
    const ours = connections().map((es) => ({
      http1: es.filter((e) => !isH2(e)).flatMap((e) => [e.method, String(e.status)]),
      statuses: es.filter((e) => isH2(e) && e.status !== null).map((e) => String(e.status)),
      requests: es.filter((e) => isH2(e) && !e.request.upgradedFrom).flatMap((e) => [e.method, e.path]),
    }));
    const sorted = (c: { http1: string[]; statuses: string[]; requests: string[] }) => ({
      http1: c.http1,
      statuses: [...c.statuses].sort(),
      requests: [...c.requests].sort(),
    });
    assert.deepEqual(
      ours.map(sorted),
      [...theirs.entries()].sort(([a], [b]) => a - b).map(([, c]) => sorted(c)),
    );
  });
});
