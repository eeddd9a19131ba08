/**
 * `--tls-dial` (src/hub/tlsparser/dialer.ts): a TLS 1.3 handshake shows no certificate on the wire,
 * so the hub dials the server and reads it, as k8spacket does. A real TLS 1.3 server (node:tls with
 * a certificate openssl makes for the test) stands in for the cluster's service; the handshake is
 * a real one, the entry podwire's dissector made of the FoxIO ja4 capture, pointed at that server.
 * The certificate's dates are checked against openssl's own reading of the file; the SNI against
 * what the server was sent; the expiry gauge against the same date.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSecureContext, createServer, type Server } from 'node:tls';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { Hub } from '../../../src/hub/hub.js';
import { CertificateDialer } from '../../../src/hub/tlsparser/dialer.js';
import { selfSignedCertificate } from '../../support/certificates.js';
import { CAPTURES } from '../../support/paths.js';
import { analyzeJsonl } from '../nodegraph/support.js';

const run = promisify(execFile);
const SNI = 'dial.podwire.test';

interface TlsServer {
  server: Server;
  port: number;
  /** SNI of each connection the server saw, once closed ('' without one). */
  names: string[];
}

let dir: string;
let key: Buffer;
let cert: Buffer;
/** openssl's reading of the certificate: notBefore / notAfter as epoch ms. */
let validity: { notBefore: number; notAfter: number };
let tls13: Entry;

async function tlsServer(): Promise<TlsServer> {
  const names: string[] = [];
  let sni = '';
  const context = createSecureContext({ key, cert });
  const server = createServer({
    key,
    cert,
    minVersion: 'TLSv1.3',
    // Called while the ClientHello is read, before the handshake ends (the dialer closes right after).
    SNICallback: (name, cb) => {
      sni = name;
      cb(null, context);
    },
  });
  // One name per TCP connection: its SNI, '' when it sent none.
  server.on('connection', (socket) => {
    sni = '';
    socket.once('close', () => names.push(sni));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, names };
}

/** The real TLS 1.3 handshake entry, as if it had gone to 127.0.0.1:port with our SNI. */
function handshakeTo(port: number, sni: string): Entry {
  const e = structuredClone(tls13);
  e.dst = { ip: '127.0.0.1', port };
  e.request.sni = sni;
  return e;
}

async function until<T>(what: string, f: () => Promise<T | null>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'podwire-dial-'));
  const files = await selfSignedCertificate(dir, `/CN=${SNI}/O=podwire`, 45);
  key = readFileSync(files.key);
  cert = readFileSync(files.cert);
  const { stdout } = await run('openssl', ['x509', '-noout', '-startdate', '-enddate', '-in', files.cert]);
  const field = (k: string) => Date.parse(new RegExp(`${k}=(.*)`).exec(stdout)![1]!);
  validity = { notBefore: field('notBefore'), notAfter: field('notAfter') };
  const { entries } = await analyzeJsonl([join(CAPTURES, 'tls', 'ja4__tls-handshake.pcapng')]);
  const found = entries.find(
    (e) => e.protocol === 'tls' && e.response?.version === 'TLS 1.3' && !e.response?.certificates,
  );
  assert.ok(found, 'the capture has a TLS 1.3 handshake (its certificate encrypted)');
  tls13 = found;
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe('hub --tls-dial', () => {
  test('a TLS 1.3 server: the certificate read by dialling it, in the TLS details and the expiry gauge', async () => {
    const srv = await tlsServer();
    const hub = await Hub.start({ store: { path: ':memory:' }, host: '127.0.0.1', port: 0, tlsDial: true });
    try {
      hub.entry(handshakeTo(srv.port, SNI));
      hub.flush();
      const details = await until('the dialled certificate in the TLS details', async () => {
        const rows = (await (await fetch(`${hub.url()}/tlsparser/api/data`)).json()) as {
          id: string;
          dstPort: number;
          usedTLSVersion: string;
        }[];
        const row = rows.find((r) => r.dstPort === srv.port);
        if (!row) return null;
        assert.equal(row.usedTLSVersion, 'TLS 1.3');
        const d = (await (await fetch(`${hub.url()}/tlsparser/api/data/${row.id}`)).json()) as {
          certificate: {
            notBefore: string | null;
            notAfter: string | null;
            serverChain: string;
            lastScrape: string;
          };
        };
        return d.certificate.notAfter ? d : null;
      });
      assert.equal(Date.parse(details.certificate.notAfter!), validity.notAfter);
      assert.equal(Date.parse(details.certificate.notBefore!), validity.notBefore);
      assert.match(details.certificate.serverChain, new RegExp(`CN=${SNI.replaceAll('.', '\\.')}`));
      const scraped = Date.parse(details.certificate.lastScrape);
      assert.ok(Math.abs(scraped - Date.now()) < 60_000, 'lastScrape: when the dial read it');
      await until('the server to see the dial end', async () => (srv.names.length ? true : null));
      assert.deepEqual(srv.names, [SNI], 'one dial, with the handshake SNI');

      const metrics = await (await fetch(`${hub.url()}/metrics`)).text();
      const line = metrics
        .split('\n')
        .find((l) => l.startsWith('k8s_packet_tls_cert_expiry{') && l.includes(`dst_port="${srv.port}"`));
      assert.ok(line, 'the expiry gauge');
      assert.match(line, new RegExp(`domain="${SNI.replaceAll('.', '\\.')}"`));
      assert.equal(Number(line.split(' ').pop()), validity.notAfter);
      assert.match(metrics, /^podwire_tls_dials_total\{result="read"\} 1$/m);
      assert.match(metrics, /^podwire_tls_dials_total\{result="failed"\} 0$/m);

      // The same server again within the refresh period: no second dial.
      hub.entry(handshakeTo(srv.port, SNI));
      hub.flush();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(srv.names.length, 1);
      assert.deepEqual(
        { dials: hub.dialer!.stats().dials, failures: hub.dialer!.stats().failures },
        { dials: 1, failures: 0 },
      );
    } finally {
      await hub.close();
      srv.server.close();
    }
  });

  test('off by default: the hub never connects to the servers it hears about', async () => {
    const srv = await tlsServer();
    let connections = 0;
    srv.server.on('connection', () => connections++);
    const hub = await Hub.start({ store: { path: ':memory:' }, host: '127.0.0.1', port: 0 });
    try {
      hub.entry(handshakeTo(srv.port, SNI));
      hub.flush();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(connections, 0);
      assert.equal(hub.dialer, null);
    } finally {
      await hub.close();
      srv.server.close();
    }
  });
});

describe('CertificateDialer', () => {
  test('a certificate seen on the wire is not dialled; an IP as SNI is not sent (RFC 6066 §3)', async () => {
    const srv = await tlsServer();
    const d = new CertificateDialer({ timeoutMs: 2000 });
    try {
      d.observe({ ip: '127.0.0.1', port: srv.port, domain: SNI }, true);
      d.observe({ ip: '127.0.0.1', port: srv.port, domain: '127.0.0.1' }, false);
      const got = await until('the chain', async () => d.get('127.0.0.1', srv.port, '127.0.0.1'));
      assert.equal(got.chain.length, 1);
      await until('the server to see the dial end', async () => (srv.names.length ? true : null));
      assert.deepEqual(srv.names, [''], 'one dial, without SNI');
    } finally {
      d.close();
      srv.server.close();
    }
  });

  test('a server that refuses, and one that never completes the handshake: counted, retried only later', async () => {
    // A port nothing listens on, and a TCP server that accepts and says nothing.
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const silent = createNetServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    const d = new CertificateDialer({ timeoutMs: 300 });
    try {
      d.observe({ ip: '127.0.0.1', port: closedPort, domain: SNI }, false);
      d.observe({ ip: '127.0.0.1', port: silentPort, domain: SNI }, false);
      await until('both dials to end', async () => (d.stats().failures === 2 ? true : null));
      assert.match(d.stats().lastError ?? '', /ECONNREFUSED|no handshake within 300 ms/);
      d.observe({ ip: '127.0.0.1', port: closedPort, domain: SNI }, false);
      assert.equal(d.stats().dials, 2, 'not dialled again before retryMs');
      assert.equal(d.get('127.0.0.1', closedPort, SNI), null);
      // Not an address, or not a port: never dialled.
      d.observe({ ip: 'web.example', port: 443, domain: SNI }, false);
      d.observe({ ip: '127.0.0.1', port: 0, domain: SNI }, false);
      assert.equal(d.stats().dials, 2);
    } finally {
      d.close();
      silent.close();
    }
  });

  test('bounded: a full queue drops (counted), and at most `concurrency` dials run at once', async () => {
    const silent = createNetServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const d = new CertificateDialer({ timeoutMs: 5000, concurrency: 2, maxQueued: 3 });
    try {
      for (let i = 0; i < 10; i++) d.observe({ ip: '127.0.0.1', port, domain: `s${i}.test` }, false);
      const s = d.stats();
      assert.deepEqual(
        { inFlight: s.inFlight, queued: s.queued, dropped: s.dropped },
        { inFlight: 2, queued: 3, dropped: 5 },
      );
    } finally {
      d.close();
      silent.close();
    }
  });
});
