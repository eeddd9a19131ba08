/**
 * TLS 1.2 and 1.3 from real clients against real servers: nginx (HTTP/1.1 and HTTP/2 over TLS,
 * a config of the test's own) and nghttpd (HTTP/2 over TLS) in one pod, curl and nghttp in the
 * other, tcpdump on the server pod's host-side veth. The certificate is made at test time with
 * openssl for a test host name, which the client pod resolves through /etc/netns/<ns>/hosts
 * (`ip netns exec` mounts it over /etc/hosts), so every client sends that name as SNI.
 *
 * Each handshake must come out as one `tls` entry whose SNI, chosen version, ALPN and cipher are
 * what the clients report (curl -v, nghttp -v), with the certificate as generated for TLS 1.2 (in
 * TLS 1.3 it is encrypted), and JA3 as tshark computes it. The payload is encrypted, so no HTTP
 * entry may appear; the connection records carry the TLS summary instead, with the application
 * data each way at least the bytes the clients downloaded.
 *
 * Netns: prefix pwngx, subnet 198.18.15.0/24.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../../src/flows/connection.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { selfSignedCertificate } from '../../support/certificates.js';
import { Node, netnsAvailable, waitFor } from '../../support/netns.js';

const run = promisify(execFile);
const HOST = 'pwngx.podwire.test';
const NGINX_PORT = 8443;
const NGHTTPD_PORT = 8444;
/** Static files of known sizes; /error and /gone are nginx `return`s. */
const FILES = { 'small.txt': 1_234, 'big.bin': 150_000 };

async function missingTool(): Promise<string | null> {
  if (!(await netnsAvailable())) return 'needs root and ip netns';
  for (const [cmd, arg, pkg] of [
    ['nginx', '-v', 'nginx-light'],
    ['nghttpd', '--version', 'nghttp2-server'],
    ['nghttp', '--version', 'nghttp2-client'],
    ['curl', '--version', 'curl'],
    ['openssl', 'version', 'openssl'],
  ] as const) {
    try {
      await run(cmd, [arg]);
    } catch {
      return `${cmd} not installed (Debian package ${pkg})`;
    }
  }
  return null;
}

const missing = await missingTool();

/**
 * OpenSSL's cipher suite table (`openssl ciphers -V -stdname`): IANA names by OpenSSL name and by
 * code point. curl -v prints OpenSSL names for TLS 1.2 suites; tshark prints code points.
 */
async function cipherTable(): Promise<{ byOpenssl: Map<string, string>; byCode: Map<number, string> }> {
  const { stdout } = await run('openssl', ['ciphers', '-V', '-stdname', 'ALL']);
  const byOpenssl = new Map<string, string>();
  const byCode = new Map<number, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)/i.exec(line);
    if (!m) continue;
    byOpenssl.set(m[4]!, m[3]!);
    byCode.set(Number.parseInt(m[1]! + m[2]!, 16), m[3]!);
  }
  return { byOpenssl, byCode };
}

function nginxConf(dir: string, cert: string, key: string): string {
  return `
daemon off;
worker_processes 1;
# The document root is under a 0700 temporary directory, and the test runs as root.
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types { text/plain txt; application/octet-stream bin; }
  server {
    # nginx 1.22 takes http2 on listen (the http2 directive came in 1.25.1).
    listen ${NGINX_PORT} ssl http2;
    server_name ${HOST};
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${dir}/www;
    location = /error { return 500 "failed on purpose\\n"; }
    location = /gone { return 404; }
  }
}
`;
}

interface CurlRun {
  label: string;
  /** curl -w: http_version response_code size_download */
  version: string;
  code: number;
  size: number;
  /** From curl -v: the TLS version and cipher, and the ALPN the server accepted. */
  tls: string;
  cipher: string;
  alpn: string;
  offered: string[];
}

describe('TLS from curl and nghttp against nginx and nghttpd', {
  skip: missing ?? false,
}, () => {
  const node = new Node('pwngx', '198.18.15');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-ngx-'));
  const pcap = join(dir, 'server.pcap');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const hostsDir = '/etc/netns/pwngx-client';
  const curls: CurlRun[] = [];
  let nghttpLog = '';
  let x509: X509Certificate;
  let entries: Entry[] = [];
  let tls: Entry[] = [];
  let conns: ConnectionRecord[] = [];
  let ciphers: Awaited<ReturnType<typeof cipherTable>>;

  before(async () => {
    await selfSignedCertificate(dir, `/CN=${HOST}/O=podwire nginx tests`, 20, [
      `DNS:${HOST}`,
      `DNS:www.${HOST}`,
    ]);
    x509 = new X509Certificate(readFileSync(cert));
    ciphers = await cipherTable();
    mkdirSync(join(dir, 'www'));
    for (const [name, size] of Object.entries(FILES))
      writeFileSync(join(dir, 'www', name), Buffer.alloc(size, 'a'));
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, cert, key));

    await node.up(['server', 'client']);
    const server = node.pod('server');
    const client = node.pod('client');
    mkdirSync(hostsDir, { recursive: true });
    writeFileSync(join(hostsDir, 'hosts'), `127.0.0.1 localhost\n${server.ip} ${HOST}\n`);
    node.spawn(server.ns, 'nginx', [
      '-p',
      dir,
      '-c',
      join(dir, 'nginx.conf'),
      '-e',
      join(dir, 'nginx-error.log'),
    ]);
    node.spawn(server.ns, 'nghttpd', ['-d', join(dir, 'www'), String(NGHTTPD_PORT), key, cert]);
    const probe = (port: number) => () =>
      node.exec(client.ns, 'curl', ['-sf', '-m', '2', '--cacert', cert, `https://${HOST}:${port}/small.txt`]);
    await waitFor(probe(NGINX_PORT));
    await waitFor(probe(NGHTTPD_PORT));

    const cap = await node.capture(server.hostIf, pcap, [
      'tcp',
      'and',
      '(',
      'port',
      String(NGINX_PORT),
      'or',
      'port',
      String(NGHTTPD_PORT),
      ')',
    ]);
    const curl = async (label: string, args: string[], path: string) => {
      const { stdout, stderr } = await run(
        'ip',
        [
          ...['netns', 'exec', client.ns, 'curl', '-sv', '-m', '5', '--cacert', cert, '-o', '/dev/null'],
          ...['-w', '%{http_version} %{response_code} %{size_download}', ...args],
          `https://${HOST}:${NGINX_PORT}${path}`,
        ],
        { timeout: 10_000 },
      );
      const [version = '', code = '', size = ''] = stdout.trim().split(' ');
      const using = /SSL connection using (TLSv1\.[23]) \/ (\S+)/.exec(stderr);
      const alpn = /ALPN: server accepted (\S+)/.exec(stderr);
      const offers = /ALPN: offers (.+)/.exec(stderr);
      assert.ok(using && alpn && offers, stderr);
      curls.push({
        label,
        version,
        code: Number(code),
        size: Number(size),
        tls: using[1]!,
        cipher: using[2]!,
        alpn: alpn[1]!,
        offered: offers[1]!.split(',').map((s) => s.trim()),
      });
    };
    const tls12 = ['--tlsv1.2', '--tls-max', '1.2'];
    await curl('1.2 http/1.1', [...tls12, '--http1.1'], '/small.txt');
    await curl('1.2 h2', [...tls12, '--http2'], '/big.bin');
    await curl('1.3 http/1.1', ['--tlsv1.3', '--http1.1'], '/error');
    await curl('1.3 h2', ['--tlsv1.3', '--http2'], '/gone');
    nghttpLog = await node.exec(client.ns, 'nghttp', ['-nv', `https://${HOST}:${NGHTTPD_PORT}/big.bin`]);
    await new Promise((r) => setTimeout(r, 300));
    await cap.stop();
    const result = await analyze(pcap);
    entries = result.entries;
    conns = result.connections.sort((a, b) => a.id - b.id);
    tls = entries.filter((e) => e.protocol === 'tls');
  });

  after(async () => {
    await node.down();
    rmSync(hostsDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the clients got what nginx serves', () => {
    assert.deepEqual(
      curls.map((c) => `${c.label}: ${c.version} ${c.code} ${c.size}`),
      [
        `1.2 http/1.1: 1.1 200 ${FILES['small.txt']}`,
        `1.2 h2: 2 200 ${FILES['big.bin']}`,
        `1.3 http/1.1: 1.1 500 ${'failed on purpose\n'.length}`,
        // nginx's own 404 page.
        `1.3 h2: 2 404 ${curls[3]!.size}`,
      ],
    );
    assert.ok(curls[3]!.size > 0);
    assert.match(nghttpLog, /The negotiated protocol: h2/);
  });

  test('one tls entry per handshake, SNI = the host name, and no HTTP entry (the payload is encrypted)', () => {
    assert.equal(tls.length, 5);
    assert.equal(conns.length, 5);
    for (const e of tls) {
      assert.equal(e.method, 'handshake');
      assert.equal(e.path, HOST);
      assert.equal(e.request.sni, HOST);
      assert.equal(e.error, null);
    }
    assert.deepEqual(
      entries.filter((e) => e.protocol !== 'tls').map((e) => `${e.protocol} ${e.method} ${e.path}`),
      [],
    );
  });

  test('versions, ALPN and cipher as curl reports them', () => {
    for (const [i, c] of curls.entries()) {
      const e = tls[i]!;
      const res = e.response as Record<string, unknown>;
      assert.equal(e.status, c.tls === 'TLSv1.2' ? '1.2' : '1.3', c.label);
      assert.deepEqual(e.request.alpn, c.offered, c.label);
      // curl names TLS 1.2 suites the OpenSSL way and TLS 1.3 suites by their IANA names.
      assert.equal(
        res.cipherSuite,
        c.tls === 'TLSv1.2' ? ciphers.byOpenssl.get(c.cipher) : c.cipher,
        c.label,
      );
      if (c.tls === 'TLSv1.2') {
        assert.deepEqual(e.request.supportedVersions, ['TLS 1.2'], c.label);
        assert.equal(res.alpn, c.alpn, c.label);
      } else {
        assert.deepEqual(e.request.supportedVersions, ['TLS 1.3'], c.label);
        // RFC 8446 §4.3.1: the chosen ALPN travels in EncryptedExtensions; only the offer is seen.
        assert.equal(res.alpn, null, c.label);
        assert.ok(c.offered.includes(c.alpn), c.label);
      }
    }
    assert.deepEqual(
      curls.map((c) => c.alpn),
      ['http/1.1', 'h2', 'http/1.1', 'h2'],
    );
  });

  test('nghttp: TLS 1.3 to nghttpd, offering h2 first', () => {
    const e = tls[4]!;
    assert.equal(e.status, '1.3');
    assert.equal((e.request.alpn as string[])[0], 'h2');
    assert.equal((e.response as Record<string, unknown>).alpn, null);
    assert.equal(e.dst.port, NGHTTPD_PORT);
    // With a HelloRetryRequest, the retried ClientHello and the HRR belong to the same entry.
    const res = e.response as Detail;
    assert.equal(Boolean(e.request.retry), Boolean(res.helloRetryRequest));
    if (res.helloRetryRequest) assert.equal((e.request.retry as Detail).sni, HOST);
  });

  test('TLS 1.2: the certificate as generated (subject, SAN, notAfter, fingerprint); TLS 1.3: encrypted', () => {
    for (const [i, c] of curls.entries()) {
      const certs = (tls[i]!.response as Record<string, unknown>).certificates as
        | Record<string, unknown>[]
        | undefined;
      if (c.tls === 'TLSv1.3') {
        assert.equal(certs, undefined, c.label);
        continue;
      }
      const leaf = certs![0]!;
      assert.equal(leaf.subject, `CN=${HOST}, O=podwire nginx tests`);
      assert.deepEqual(leaf.san, [`DNS:${HOST}`, `DNS:www.${HOST}`]);
      assert.equal(leaf.notAfter, new Date(x509.validTo).toISOString());
      assert.equal(leaf.fingerprint256, x509.fingerprint256);
    }
  });

  test('connection records carry the TLS summary and the encrypted bytes each way', () => {
    const downloaded = [...curls.map((c) => c.size), FILES['big.bin']];
    for (const [i, conn] of conns.entries()) {
      const l7 = conn.l7 as { protocol: string; entries: number; parseErrors: number; tls: Detail };
      const e = tls[i]!;
      assert.equal(l7.protocol, 'tls');
      assert.equal(l7.entries, 1);
      assert.equal(l7.parseErrors, 0);
      assert.equal(l7.tls.domain, HOST);
      assert.equal(l7.tls.usedTLSVersion, `TLS ${e.status}`);
      assert.equal(l7.tls.usedCipherSuite, (e.response as Detail).cipherSuite);
      assert.equal(l7.tls.ja3Hash, e.request.ja3Hash);
      assert.equal(l7.tls.handshakes, 1);
      if (e.status === '1.2') assert.equal(l7.tls.certificate.notAfter, new Date(x509.validTo).toISOString());
      else assert.equal(l7.tls.certificate, undefined);
      // Application data: the response body at least, inside the server's records.
      assert.ok(l7.tls.appData.server.bytes >= downloaded[i]!, `${i}: ${JSON.stringify(l7.tls.appData)}`);
      assert.ok(l7.tls.appData.client.records > 0);
    }
  });

  test('JA3, SNI and the server`s version and cipher equal tshark`s', async (t) => {
    if (!(await tsharkAvailable())) return t.skip('tshark not installed');
    const hellos = await tsharkFields(pcap, 'tls.handshake.type==1', [
      'tls.handshake.extensions_server_name',
      'tls.handshake.ja3_full',
      'tls.handshake.ja3',
    ]);
    // A HelloRetryRequest (RFC 8446 §4.1.4) makes two ClientHellos and two ServerHellos in one
    // handshake: one entry, with the second ClientHello as request.retry. nghttpd asks for one when
    // nghttp's key share is not for the group it prefers.
    const clientHellos = tls.flatMap((e) => [
      e.request,
      ...(e.request.retry ? [e.request.retry as Detail] : []),
    ]);
    assert.deepEqual(
      hellos,
      clientHellos.map((h) => [h.sni, h.ja3, h.ja3Hash]),
    );
    const servers = await tsharkFields(pcap, 'tls.handshake.type==2', [
      'tls.handshake.ciphersuite',
      'tls.handshake.extensions.supported_version',
    ]);
    const serverHellos = tls.flatMap((e) => {
      const res = e.response as Detail;
      return [...(res.helloRetryRequest ? [res.helloRetryRequest] : []), res];
    });
    assert.deepEqual(
      servers.map(([suite = '', v = '']) => [
        ciphers.byCode.get(Number(suite)),
        // RFC 8446 §4.2.1: a TLS 1.3 ServerHello names its version in supported_versions only.
        v === '' ? 'TLS 1.2' : Number(v) === 0x0304 ? 'TLS 1.3' : v,
      ]),
      serverHellos.map((h) => [h.cipherSuite, h.version]),
    );
  });
});

/** Entry detail read by known paths (JSON-shaped). */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON-shaped detail by known paths
type Detail = any;
