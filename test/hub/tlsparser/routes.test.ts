/**
 * k8spacket's TLS JSON API (CONTRACTS.md: TLS list row, TLS details with certificate expiry) through
 * fastify's inject(), on the entries `podwire analyze --format jsonl` made of real TLS captures
 * (test/captures/tls: FoxIO ja4 tls-handshake.pcapng, zeek tls1_1.pcap, suricata-verify ja4-tls).
 * Rows are checked against a reference grouping of the entries, the negotiated cipher suites and
 * versions against tshark's ServerHellos, the certificate dates against tshark's X.509 validity.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Entry } from '../../../src/dissect/entry.js';
import type { GraphSource } from '../../../src/hub/nodegraph/source.js';
import { registerTlsParserRoutes } from '../../../src/hub/tlsparser/routes.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { CAPTURES } from '../../support/paths.js';
import { analyzeJsonl, listSource, type Records, refTitle } from '../nodegraph/support.js';

const FILES = ['ja4__tls-handshake.pcapng', 'zeek__tls1_1.pcap', 'suricata-verify__ja4-tls.pcap'].map((f) =>
  join(CAPTURES, 'tls', f),
);

// IANA TLS Cipher Suites and TLS versions, for the values these captures hold.
const CIPHERS: Record<string, string> = {
  '0x1301': 'TLS_AES_128_GCM_SHA256',
  '0x1302': 'TLS_AES_256_GCM_SHA384',
  '0xc013': 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  '0xc02b': 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  '0xc02f': 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  '0xc030': 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
};
const VERSIONS: Record<string, string> = {
  '0x0301': 'TLS 1.0',
  '0x0302': 'TLS 1.1',
  '0x0303': 'TLS 1.2',
  '0x0304': 'TLS 1.3',
};

let tls: Records;
let haveTshark = false;

before(async () => {
  tls = await analyzeJsonl(FILES);
  haveTshark = await tsharkAvailable();
});

async function appWith(source: GraphSource): Promise<FastifyInstance> {
  const app = Fastify();
  registerTlsParserRoutes(app, source);
  await app.ready();
  return app;
}

/** What the routes answer: rows, details or an error (the tests read the fields they expect). */
interface Answer {
  error: { code: string; message: string };
  id: string;
  certificate: { notBefore: string | null; notAfter: string | null; serverChain: string; lastScrape: string };
  clientTLSVersions: string[];
  clientCipherSuites: string[];
}

async function get(
  app: FastifyInstance,
  url: string,
): Promise<{ status: number; body: string; json: Answer }> {
  const r = await app.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.body, json: JSON.parse(r.body || 'null') as Answer };
}

interface Row {
  id: string;
  src: string;
  srcName: string;
  srcNamespace: string;
  dst: string;
  dstName: string;
  dstPort: number;
  domain: string;
  usedTLSVersion: string;
  usedCipherSuite: string;
  lastSeen: string;
}

interface Hello {
  sni?: string | null;
  supportedVersions?: string[];
  cipherSuites?: string[];
}

/** The ClientHello of an entry (the retried one after a HelloRetryRequest). */
function hello(e: Entry): Hello {
  return ((e.request.retry as Hello | undefined) ?? e.request) as Hello;
}

/** Reference rows: one per (client IP, server IP, server port, SNI), the latest handshake's values. */
function refRows(entries: Entry[]) {
  const groups = new Map<string, Entry[]>();
  for (const e of entries.filter((x) => x.protocol === 'tls')) {
    const k = [e.src.ip, e.dst.ip, e.dst.port, hello(e).sni ?? ''].join(' ');
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  return [...groups.values()].map((g) => {
    const byTime = [...g].sort((a, b) => a.timestamp - b.timestamp);
    const latest = byTime[byTime.length - 1]!;
    const withServer = byTime.filter((e) => e.response?.version).pop();
    const withCert = byTime.filter((e) => (e.response?.certificates as unknown[] | undefined)?.length).pop();
    return {
      row: {
        src: latest.src.ip,
        srcName: refTitle(latest.src),
        srcNamespace: latest.src.namespace ?? '',
        dst: latest.dst.ip,
        dstName: refTitle(latest.dst),
        dstPort: latest.dst.port,
        domain: hello(latest).sni ?? '',
        usedTLSVersion: (withServer?.response?.version as string) ?? 'N/A',
        usedCipherSuite: (withServer?.response?.cipherSuite as string) ?? 'N/A',
        lastSeenMs: Math.floor(latest.timestamp / 1000),
      },
      latest,
      withCert,
      clientVersions:
        hello(byTime.filter((e) => hello(e).cipherSuites).pop() ?? latest).supportedVersions ?? [],
      clientCiphers: hello(byTime.filter((e) => hello(e).cipherSuites).pop() ?? latest).cipherSuites ?? [],
    };
  });
}

const rowKey = (r: { src: string; dst: string; dstPort: number; domain: string }) =>
  `${r.src} ${r.dst} ${r.dstPort} ${r.domain}`;

describe('/tlsparser/api/data', () => {
  test('one row per client, server, port and SNI, field by field', async () => {
    const app = await appWith(listSource(tls));
    const r = await get(app, '/tlsparser/api/data');
    assert.equal(r.status, 200);
    const rows = r.json as unknown as Row[];
    const ref = refRows(tls.entries);
    assert.ok(ref.length > 30);
    assert.equal(rows.length, ref.length);
    assert.equal(new Set(rows.map((x) => x.id)).size, rows.length, 'ids are unique');
    for (const { row: want } of ref) {
      const got = rows.find((x) => rowKey(x) === rowKey(want));
      assert.ok(got, rowKey(want));
      assert.deepEqual(Object.keys(got), [
        'id',
        'src',
        'srcName',
        'srcNamespace',
        'dst',
        'dstName',
        'dstPort',
        'domain',
        'usedTLSVersion',
        'usedCipherSuite',
        'lastSeen',
      ]);
      const { lastSeenMs, ...fields } = want;
      assert.deepEqual(
        { ...got, id: undefined, lastSeen: undefined },
        { ...fields, id: undefined, lastSeen: undefined },
      );
      assert.match(got.id, /^\d+$/);
      assert.equal(Math.floor(Date.parse(got.lastSeen)), lastSeenMs, `${got.lastSeen} is RFC 3339`);
    }
  });

  test("the negotiated version and cipher suite are the ones in tshark's ServerHello", async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    const seen = new Map<string, Set<string>>();
    for (const f of FILES)
      for (const [src, dst, sport, suite, legacy, selected] of await tsharkFields(
        f,
        'tls.handshake.type == 2',
        [
          'ip.src',
          'ip.dst',
          'tcp.srcport',
          'tls.handshake.ciphersuite',
          'tls.handshake.version',
          'tls.handshake.extensions.supported_version',
        ],
      )) {
        const k = `${dst} ${src} ${sport}`;
        const v = VERSIONS[selected || legacy!]!;
        seen.set(k, (seen.get(k) ?? new Set()).add(`${v} ${CIPHERS[suite!] ?? suite}`));
      }
    const app = await appWith(listSource(tls));
    const rows = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    let checked = 0;
    for (const row of rows) {
      const options = seen.get(`${row.src} ${row.dst} ${row.dstPort}`);
      if (!options) {
        assert.equal(row.usedTLSVersion, 'N/A', `${rowKey(row)}: no ServerHello on the wire`);
        continue;
      }
      assert.ok(
        options.has(`${row.usedTLSVersion} ${row.usedCipherSuite}`),
        `${rowKey(row)}: ${[...options]}`,
      );
      checked++;
    }
    assert.ok(checked >= 30, `${checked} rows checked`);
  });

  test('from/to (epoch ms) select handshakes by their time; an empty list is []', async () => {
    const app = await appWith(listSource(tls));
    const tls11 = tls.entries.find((e) => e.dst.ip === '216.58.192.14')!;
    const ms = Math.floor(tls11.timestamp / 1000);
    const r = await get(app, `/tlsparser/api/data?from=${ms}&to=${ms + 1}`);
    assert.deepEqual(
      (r.json as unknown as Row[]).map((x) => rowKey(x)),
      ['192.168.17.58 216.58.192.14 443 '],
    );
    const none = await get(app, '/tlsparser/api/data?from=0&to=1000');
    assert.equal(none.body, '[]');
    const bad = await get(app, '/tlsparser/api/data?from=soon');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'hub.bad_time');
  });

  test('named endpoints, as the graph names them; one handshake seen by two agents is one row', async () => {
    const e = tls.entries.find((x) => x.dst.ip === '216.58.192.14')!;
    const named: Entry = {
      ...e,
      src: { ...e.src, name: 'web-1', namespace: 'shop', kind: 'pod', workload: 'web' },
      dst: { ...e.dst, name: 'google', kind: 'external' },
    };
    const app = await appWith(
      listSource({
        connections: [],
        entries: [
          { ...named, node: 'node-a' },
          { ...named, node: 'node-b' },
        ],
      }),
    );
    const rows = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    assert.equal(rows.length, 1);
    assert.deepEqual(
      [rows[0]!.srcName, rows[0]!.srcNamespace, rows[0]!.dstName],
      ['pod.web-1', 'shop', 'google'],
    );
  });

  test('two names on one server address are two rows (k8spacket kept the last)', async () => {
    const e = tls.entries.find((x) => x.path === 'www.google.com')!;
    const other: Entry = {
      ...e,
      timestamp: e.timestamp + 1,
      request: { ...e.request, sni: 'maps.google.com' },
    };
    const app = await appWith(listSource({ connections: [], entries: [e, other] }));
    const rows = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    assert.deepEqual(rows.map((r) => r.domain).sort(), ['maps.google.com', 'www.google.com']);
  });
});

describe('/tlsparser/api/data/{id}', () => {
  test('details of every row: what the client offered, what was used', async () => {
    const app = await appWith(listSource(tls));
    const rows = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    const ref = refRows(tls.entries);
    for (const row of rows) {
      const r = await get(app, `/tlsparser/api/data/${row.id}`);
      assert.equal(r.status, 200);
      const want = ref.find((x) => rowKey(x.row) === rowKey(row))!;
      assert.deepEqual(Object.keys(r.json), [
        'id',
        'domain',
        'dst',
        'port',
        'clientTLSVersions',
        'clientCipherSuites',
        'usedTLSVersion',
        'usedCipherSuite',
        'certificate',
      ]);
      assert.deepEqual(
        { ...r.json, certificate: undefined },
        {
          id: row.id,
          domain: row.domain,
          dst: row.dst,
          port: row.dstPort,
          clientTLSVersions: want.clientVersions,
          clientCipherSuites: want.clientCiphers,
          usedTLSVersion: row.usedTLSVersion,
          usedCipherSuite: row.usedCipherSuite,
          certificate: undefined,
        },
      );
      assert.ok(Array.isArray(r.json.clientTLSVersions) && Array.isArray(r.json.clientCipherSuites));
      assert.deepEqual(Object.keys(r.json.certificate), [
        'notBefore',
        'notAfter',
        'serverChain',
        'lastScrape',
      ]);
      if (!want.withCert)
        assert.deepEqual(r.json.certificate, {
          notBefore: null,
          notAfter: null,
          serverChain: 'UNAVAILABLE',
          lastScrape: null,
        });
    }
  });

  test("certificate validity as tshark reads the leaf certificate's X.509 validity", async (t) => {
    if (!haveTshark) return t.skip('tshark is not installed');
    const app = await appWith(listSource(tls));
    const rows = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    for (const [file, server] of [
      [FILES[1]!, '216.58.192.14'],
      [FILES[2]!, '192.168.56.101'],
    ] as const) {
      const [[times]] = (await tsharkFields(file, 'tls.handshake.type == 11', ['x509af.utcTime'])) as [
        [string],
      ];
      // "2017-11-01 13:48:56 (UTC),2018-01-24 13:31:00 (UTC),..." : the leaf's notBefore, notAfter first.
      const [nb, na] = times.split(',').map((s) => `${s.replace(' (UTC)', '').replace(' ', 'T')}Z`);
      const row = rows.find((r) => r.dst === server)!;
      const d = (await get(app, `/tlsparser/api/data/${row.id}`)).json;
      assert.equal(d.certificate.notBefore, nb);
      assert.equal(d.certificate.notAfter, na);
      const entry = tls.entries.find((e) => e.dst.ip === server)!;
      assert.equal(Date.parse(d.certificate.lastScrape), Math.floor(entry.timestamp / 1000));
      const leaf = (entry.response!.certificates as { subject: string; fingerprint256: string }[])[0]!;
      assert.ok(d.certificate.serverChain.includes(leaf.subject), 'the chain names the leaf');
      assert.ok(d.certificate.serverChain.includes(leaf.fingerprint256));
    }
  });

  test('an unknown id is a 404, on both the cluster and the node routes', async () => {
    const app = await appWith(listSource(tls));
    for (const url of [
      '/tlsparser/api/data/123',
      '/tlsparser/connections/123',
      '/tlsparser/connections/not-a-number',
    ]) {
      const r = await get(app, url);
      assert.equal(r.status, 404, url);
      assert.equal(r.json.error.code, 'hub.not_found');
      assert.match(r.json.error.message, /^no TLS connection has id "/);
    }
  });

  test("an empty id is the list (the dashboard's details panel before a row is picked)", async () => {
    const app = await appWith(listSource(tls));
    const list = await get(app, '/tlsparser/api/data');
    assert.deepEqual((await get(app, '/tlsparser/api/data/')).json, list.json);
    assert.deepEqual((await get(app, '/tlsparser/connections/')).json, list.json);
  });
});

describe('/tlsparser/connections', () => {
  test("this node's handshakes (and those without a node); the cluster route has all", async () => {
    const entries = tls.entries.map((e, i) => ({
      ...e,
      node: i % 3 === 0 ? 'node-b' : i % 3 === 1 ? 'node-a' : undefined,
    }));
    const app = await appWith(listSource({ connections: [], entries }, { localNode: 'node-a' }));
    const local = (await get(app, '/tlsparser/connections')).json as unknown as Row[];
    const want = refRows(entries.filter((e) => e.node !== 'node-b'));
    assert.deepEqual(local.map(rowKey).sort(), want.map((w) => rowKey(w.row)).sort());
    const all = (await get(app, '/tlsparser/api/data')).json as unknown as Row[];
    assert.equal(all.length, refRows(entries).length);
    // A row of another node only: found on the cluster route, 404 on this node's.
    const theirs = all.find((r) => !local.some((l) => l.id === r.id))!;
    assert.equal((await get(app, `/tlsparser/api/data/${theirs.id}`)).status, 200);
    assert.equal((await get(app, `/tlsparser/connections/${theirs.id}`)).status, 404);
    const mine = local[0]!;
    assert.equal((await get(app, `/tlsparser/connections/${mine.id}`)).json.id, mine.id);
  });
});
