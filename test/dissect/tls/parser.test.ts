/**
 * The TLS session on built bytes: what a handshake entry says, JA4/JA4S on FoxIO's published test
 * vectors, HelloRetryRequest, SSLv2 hellos, resynchronisation, gaps — and split-point properties:
 * the same conversation cut into TCP chunks anywhere, and its handshake messages cut into records of
 * any size, gives the same entries.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Entry } from '../../../src/dissect/entry.js';
import { detectTls } from '../../../src/dissect/tls/detect.js';
import { ja4, ja4s } from '../../../src/dissect/tls/fingerprint.js';
import { parseClientHello, parseServerHello } from '../../../src/dissect/tls/messages.js';
import { TlsSession } from '../../../src/dissect/tls/session.js';
import {
  alert,
  appData,
  ccs,
  certificate,
  clientHello,
  extension,
  FIXTURE_CERT,
  type Flight,
  recordingContext,
  records,
  serverHello,
  serverHelloDone,
} from './build.js';

const CLIENT_TS = 1_000_000;
const SERVER_TS = 1_002_500;

/** Feeds flights in order, each cut at `cuts` (fractions of its length), and closes. */
function run(flights: Flight[], cuts: number[][] = []) {
  const { ctx, out } = recordingContext();
  const s = new TlsSession(ctx);
  flights.forEach((f, i) => {
    const points = [...new Set((cuts[i] ?? []).map((c) => Math.floor(c * f.bytes.length)))].sort(
      (a, b) => a - b,
    );
    let at = 0;
    for (const p of [...points, f.bytes.length]) {
      if (p <= at) continue;
      // A fresh copy per chunk: the session must not keep views of what it is given.
      const chunk = Uint8Array.from(f.bytes.subarray(at, p));
      s.onData(f.dir, chunk, f.dir === 0 ? CLIENT_TS : SERVER_TS);
      chunk.fill(0xee);
      at = p;
    }
  });
  s.onClose(SERVER_TS + 10);
  return out;
}

const CH12 = clientHello({
  sni: 'fixture.podwire.test',
  alpn: ['h2', 'http/1.1'],
  ciphers: [0x0a0a, 0x1301, 0xc02f, 0xc030],
  groups: [0x2a2a, 0x001d, 0x0017],
  pointFormats: [0],
  sigAlgs: [0x0403, 0x0804],
  versions: [0x3a3a, 0x0304, 0x0303],
  grease: true,
});
const SERVER12 = Buffer.concat([
  serverHello({ cipher: 0xc02f, alpn: 'h2' }),
  certificate([FIXTURE_CERT]),
  serverHelloDone(),
]);

function tls12(recordMax = 1 << 14): Flight[] {
  return [
    { dir: 0, bytes: records(22, CH12, recordMax, 0x0301) },
    { dir: 1, bytes: records(22, SERVER12, recordMax) },
    { dir: 0, bytes: Buffer.concat([ccs(), records(22, Buffer.alloc(40, 0x55))]) },
    { dir: 1, bytes: Buffer.concat([ccs(), records(22, Buffer.alloc(40, 0x66)), appData(300)]) },
    { dir: 0, bytes: appData(120) },
  ];
}

describe('a TLS 1.2 handshake', () => {
  const out = run(tls12());

  test('is one entry with the summary columns of DESIGN.md', () => {
    assert.equal(out.entries.length, 1);
    const e = out.entries[0]!;
    assert.equal(e.protocol, 'tls');
    assert.equal(e.method, 'handshake');
    assert.equal(e.path, 'fixture.podwire.test');
    assert.equal(e.status, '1.2');
    assert.equal(e.error, null);
    assert.equal(e.timestamp, CLIENT_TS);
    assert.equal(e.elapsedMs, 2.5);
    assert.deepEqual(out.parseErrors, []);
  });

  test('request: offer, ALPN, GREASE-free lists, JA3', () => {
    const r = out.entries[0]!.request;
    assert.deepEqual(r.supportedVersions, ['TLS 1.3', 'TLS 1.2']);
    assert.deepEqual(r.alpn, ['h2', 'http/1.1']);
    assert.deepEqual(r.cipherSuites, [
      'TLS_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    ]);
    assert.deepEqual(r.supportedGroups, ['x25519', 'secp256r1']);
    // salesforce/ja3: version,ciphers,extensions,groups,point formats; GREASE left out.
    assert.equal(r.ja3, '771,4865-49199-49200,0-10-11-13-16-43,29-23,0');
    assert.match(String(r.ja3Hash), /^[0-9a-f]{32}$/);
    assert.equal(String(r.ja4).slice(0, 10), 't13d0306h2');
  });

  test('response: cipher, ALPN, the certificate as generated', () => {
    const r = out.entries[0]!.response!;
    assert.equal(r.version, 'TLS 1.2');
    assert.equal(r.cipherSuite, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.equal(r.alpn, 'h2');
    assert.equal(r.ja3s, '771,49199,16');
    const [cert] = r.certificates as Record<string, unknown>[];
    assert.equal(cert!.subject, 'CN=fixture.podwire.test, O=podwire');
    assert.deepEqual(cert!.san, [
      'DNS:fixture.podwire.test',
      'DNS:alt.podwire.test',
      'IP Address:198.18.13.10',
    ]);
    assert.equal(cert!.notAfter, '2036-11-20T02:38:12.000Z');
  });

  test('the connection summary speaks k8spacket, and counts application data only', () => {
    const a = out.annotations.tls as Record<string, unknown>;
    assert.equal(a.domain, 'fixture.podwire.test');
    assert.equal(a.usedTLSVersion, 'TLS 1.2');
    assert.equal(a.usedCipherSuite, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
    assert.deepEqual(a.clientTLSVersions, ['TLS 1.3', 'TLS 1.2']);
    assert.equal((a.certificate as Record<string, unknown>).notAfter, '2036-11-20T02:38:12.000Z');
    // After ChangeCipherSpec: Finished (45) + 300 + 5 from the server; Finished + 120 + 5 from the client.
    assert.deepEqual(a.appData, {
      client: { records: 2, bytes: 45 + 125 },
      server: { records: 2, bytes: 45 + 305 },
    });
  });

  test('sizes are the hello records on the wire', () => {
    const e = out.entries[0]!;
    assert.equal(e.requestSize, CH12.length + 5);
    assert.equal(e.responseSize, SERVER12.length + 5);
  });
});

describe('JA4 and JA4S on FoxIO test vectors (rust/ja4/src/tls.rs)', () => {
  // Chrome's hello from FoxIO's unit test: extensions in this order, SNI example.com, ALPN h2.
  const exts = [
    0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01,
    0x000b, 0x000a, 0x0015,
  ];
  const sigs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];
  const ciphers = [
    0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
    0x002f, 0x0035,
  ];
  const body = (t: number) => {
    if (t === 0x0000) return Buffer.from('000e00000b6578616d706c652e636f6d', 'hex');
    if (t === 0x0010) return Buffer.from('0003026832', 'hex');
    if (t === 0x000d)
      return Buffer.concat([Buffer.from([0, 16]), ...sigs.map((s) => Buffer.from([s >> 8, s & 255]))]);
    if (t === 0x002b) return Buffer.from('0403040303', 'hex');
    return Buffer.alloc(0);
  };
  const msg = clientHello({ sni: null, ciphers, extra: exts.map((t) => extension(t, body(t))) });
  const parsed = parseClientHello(msg.subarray(4));

  test('ja4, ja4_r, ja4_o, ja4_ro', () => {
    assert.ok(parsed.ok);
    const fp = ja4(parsed.value);
    assert.equal(fp.ja4, 't13d1516h2_8daaf6152771_e5627efa2ab1');
    assert.equal(
      fp.ja4_r,
      't13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601',
    );
    assert.equal(fp.ja4_o, 't13d1516h2_acb858a92679_18f69afefd3d');
  });

  test('ja4s: t120400_c030_4e8089b08790 (JA4S.md)', () => {
    const sh = Buffer.concat([
      Buffer.from([3, 3]),
      Buffer.alloc(32),
      Buffer.from([0, 0xc0, 0x30, 0]),
      Buffer.from([0, 16]),
      ...[0x0005, 0x0017, 0xff01, 0x0000].map((t) => extension(t, Buffer.alloc(0))),
    ]);
    const p = parseServerHello(sh);
    assert.ok(p.ok);
    assert.deepEqual(ja4s(p.value), {
      ja4s: 't120400_c030_4e8089b08790',
      ja4s_r: 't120400_c030_0005,0017,ff01,0000',
    });
  });
});

describe('TLS 1.3', () => {
  const ch = clientHello({ sni: 'a.test', versions: [0x0304, 0x0303], groups: [0x0017, 0x001d] });

  test('HelloRetryRequest: one entry, both hellos, CCS before the second ClientHello is not encryption', () => {
    const ch2 = clientHello({ sni: 'a.test', versions: [0x0304], groups: [0x001d] });
    const out = run([
      { dir: 0, bytes: records(22, ch) },
      {
        dir: 1,
        bytes: Buffer.concat([
          records(
            22,
            serverHello({ hrr: true, cipher: 0x1302, selectedVersion: 0x0304, keyShareGroup: 0x001d }),
          ),
          ccs(),
        ]),
      },
      { dir: 0, bytes: Buffer.concat([ccs(), records(22, ch2)]) },
      {
        dir: 1,
        bytes: Buffer.concat([
          records(22, serverHello({ cipher: 0x1302, selectedVersion: 0x0304 })),
          appData(900),
        ]),
      },
    ]);
    assert.equal(out.entries.length, 1);
    const e = out.entries[0]!;
    assert.equal(e.status, '1.3');
    assert.equal(e.error, null);
    assert.deepEqual((e.request.retry as Record<string, unknown>).supportedGroups, ['x25519']);
    assert.equal((e.response!.helloRetryRequest as Record<string, unknown>).keyShareGroup, 'x25519');
    assert.equal(e.response!.cipherSuite, 'TLS_AES_256_GCM_SHA384');
    assert.equal(e.response!.certificates, undefined);
    assert.deepEqual(out.parseErrors, []);
  });

  test('a server alert ends the handshake with an error', () => {
    const out = run([
      { dir: 0, bytes: records(22, ch) },
      { dir: 1, bytes: alert(2, 40) },
    ]);
    assert.equal(out.entries.length, 1);
    assert.equal(out.entries[0]!.status, null);
    assert.match(String(out.entries[0]!.error), /server alert handshake_failure/);
  });
});

describe('odd streams', () => {
  test('SSLv2-compatible ClientHello (RFC 5246 §E.2)', () => {
    // msg_type 1, version 3.1, 6 bytes of cipher specs, no session id, 16-byte challenge.
    const body = Buffer.concat([
      Buffer.from([1, 3, 1, 0, 6, 0, 0, 0, 16]),
      Buffer.from([0x00, 0x00, 0x2f, 0x01, 0x00, 0x80]),
      Buffer.alloc(16, 1),
    ]);
    const v2 = Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 255]), body]);
    assert.equal(detectTls(0, v2), 'yes');
    const out = run([
      { dir: 0, bytes: v2 },
      {
        dir: 1,
        bytes: records(
          22,
          Buffer.concat([serverHello({ version: 0x0301, cipher: 0x002f }), serverHelloDone()]),
        ),
      },
    ]);
    assert.equal(out.entries.length, 1);
    const e = out.entries[0]!;
    assert.equal(e.request.sslv2, true);
    assert.deepEqual(e.request.cipherSuites, ['TLS_RSA_WITH_AES_128_CBC_SHA']);
    assert.equal(e.status, '1.0');
  });

  test('bytes before the ClientHello are one parse error, then parsing resumes', () => {
    const out = run([
      {
        dir: 0,
        bytes: Buffer.concat([
          Buffer.from('hello there, not TLS\r\n'),
          records(22, clientHello({ sni: 'x.test' })),
        ]),
      },
    ]);
    assert.equal(out.parseErrors.length, 1);
    assert.match(out.parseErrors[0]!, /RFC 8446 §5\.1/);
    assert.equal(out.entries[0]?.path, 'x.test');
  });

  test('a gap inside application data keeps the record layer in step', () => {
    const { ctx, out } = recordingContext();
    const s = new TlsSession(ctx);
    const flights = tls12();
    for (const f of flights.slice(0, 4)) s.onData(f.dir, f.bytes, 1);
    const ad = appData(1000);
    s.onData(0, ad.subarray(0, 100), 2);
    s.onGap(0, 800, 2);
    s.onData(0, ad.subarray(900), 2);
    s.onData(0, appData(10), 3);
    s.onClose(4);
    const a = out.annotations.tls as { appData: { client: { records: number } } };
    assert.equal(a.appData.client.records, 3);
    assert.deepEqual(out.parseErrors, []);
  });

  test('a gap inside a handshake message is reported on the entry', () => {
    const { ctx, out } = recordingContext();
    const s = new TlsSession(ctx);
    const ch = records(22, CH12);
    s.onData(0, ch, 1);
    const server = records(22, SERVER12);
    s.onData(1, server.subarray(0, 200), 2);
    s.onGap(1, 100, 2);
    s.onData(1, server.subarray(300), 2);
    s.onClose(3);
    assert.equal(out.entries.length, 1);
    assert.match(String(out.entries[0]!.error), /100 bytes lost/);
  });

  test('detect: handshake records yes, other protocols no', () => {
    assert.equal(detectTls(0, records(22, CH12)), 'yes');
    assert.equal(detectTls(1, records(22, SERVER12)), 'yes');
    assert.equal(detectTls(0, Buffer.from([0x16, 3])), 'more');
    assert.equal(detectTls(0, Buffer.from('GET / HTTP/1.1\r\n')), 'no');
    assert.equal(detectTls(0, appData(10)), 'no');
    assert.equal(detectTls(0, Buffer.from([0x16, 3, 1, 0, 10, 0x0b])), 'no');
  });
});

describe('split points (fast-check)', () => {
  const baseline = run(tls12());
  const cutList = fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }), {
    minLength: 5,
    maxLength: 5,
  });

  test('TCP chunks cut anywhere give identical entries and summary', () => {
    fc.assert(
      fc.property(cutList, (cuts) => {
        const out = run(tls12(), cuts);
        assert.deepEqual(out.entries, baseline.entries);
        assert.deepEqual(out.annotations, baseline.annotations);
        assert.deepEqual(out.parseErrors, []);
      }),
      { numRuns: 300 },
    );
  });

  test('every single cut point of the hello flights', () => {
    const flights = tls12();
    for (const i of [0, 1]) {
      const n = flights[i]!.bytes.length;
      for (let p = 1; p < n; p++) {
        const cuts = [[], [], [], [], []] as number[][];
        cuts[i] = [(p + 0.5) / n];
        const out = run(flights, cuts);
        assert.deepEqual(out.entries, baseline.entries, `flight ${i} cut at ${p}`);
      }
    }
  });

  test('handshake messages fragmented into records of any size give the same handshake', () => {
    const strip = (e: Entry) => ({ ...e, requestSize: 0, responseSize: 0 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 14 }), cutList, (max, cuts) => {
        const out = run(tls12(max), cuts);
        assert.equal(out.entries.length, 1);
        assert.deepEqual(strip(out.entries[0]!), strip(baseline.entries[0]!));
        // Sizes: the messages plus one 5-byte header per record that carried them.
        const recs = (len: number) => Math.ceil(len / max);
        assert.equal(out.entries[0]!.requestSize, CH12.length + 5 * recs(CH12.length));
        assert.equal(out.entries[0]!.responseSize, SERVER12.length + 5 * recs(SERVER12.length));
      }),
      { numRuns: 200 },
    );
  });
});
