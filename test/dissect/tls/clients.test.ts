/**
 * TLS from real clients: two pods on a bridge, `openssl s_server` with a certificate made at test
 * time in one, curl (TLS 1.2 only, then TLS 1.3) and `openssl s_client -alpn h2,http/1.1` in the
 * other, tcpdump on the server pod's host-side veth. Each handshake must come out as one entry whose
 * SNI, versions, ALPN and chosen cipher are what the clients themselves report, and for TLS 1.2 with
 * the certificate's subject, SAN and notAfter as generated; JA3 and SNI must also equal tshark's.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { selfSignedCertificate } from '../../support/certificates.js';
import { Node, netnsAvailable, waitFor } from '../../support/netns.js';

const run = promisify(execFile);
const HOST = 'pwtls.podwire.test';
const PORT = 8443;

async function haveOpenssl(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

const available = (await netnsAvailable()) && (await haveOpenssl());

/** OpenSSL's cipher names -> IANA (`openssl ciphers -stdname`). */
async function ianaNames(): Promise<Map<string, string>> {
  const { stdout } = await run('openssl', ['ciphers', '-stdname', 'ALL']);
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [iana, , ossl] = line.trim().split(/\s+/);
    if (iana && ossl) m.set(ossl, iana);
  }
  return m;
}

describe('TLS handshakes of real clients', {
  skip: available ? false : 'needs root, ip netns, openssl, curl',
}, () => {
  const node = new Node('pwtls', '198.18.13');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-tls-'));
  const pcap = join(dir, 'server.pcap');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const seen: { curl12?: string; curl13?: string; sclient?: string; sclient12?: string } = {};
  let entries: Entry[] = [];
  let x509: X509Certificate;

  async function inClient(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const ns = node.pod('client').ns;
    return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 10_000 }).catch(
      (e: { stdout: string; stderr: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
  }

  before(async () => {
    await selfSignedCertificate(dir, `/CN=${HOST}/O=podwire tests`, 30, [
      `DNS:${HOST}`,
      `DNS:alt.${HOST}`,
      'IP:198.18.13.10',
    ]);
    x509 = new X509Certificate(readFileSync(cert));
    // A run killed midway can leave host-side veths behind its deleted namespaces.
    for (const v of ['pwtlsv10', 'pwtlsv11']) await run('ip', ['link', 'del', v]).catch(() => {});
    await node.up(['server', 'client']);
    const server = node.pod('server');
    // Server preference for ALPN: h2 when offered, else http/1.1.
    node.spawn(server.ns, 'openssl', [
      's_server',
      '-accept',
      String(PORT),
      '-cert',
      cert,
      '-key',
      key,
      '-alpn',
      'h2,http/1.1',
      '-www',
      '-quiet',
    ]);
    const resolve = ['--resolve', `${HOST}:${PORT}:${server.ip}`, '--cacert', cert];
    // -www speaks HTTP/1.x only: curl must not take h2.
    const probe = ['-sf', '-m', '2', '--http1.1', ...resolve, `https://${HOST}:${PORT}/`];
    await waitFor(() => run('ip', ['netns', 'exec', node.pod('client').ns, 'curl', ...probe]));
    const cap = await node.capture(server.hostIf, pcap, ['tcp', 'port', String(PORT)]);
    const curl = async (versions: string[]) =>
      (
        await inClient('curl', [
          '-sv',
          '-m',
          '5',
          '-o',
          '/dev/null',
          '--http1.1',
          ...versions,
          ...resolve,
          `https://${HOST}:${PORT}/`,
        ])
      ).stderr;
    seen.curl12 = await curl(['--tlsv1.2', '--tls-max', '1.2']);
    seen.curl13 = await curl(['--tlsv1.3']);
    const sClient = async (extra: string) =>
      (
        await inClient('sh', [
          '-c',
          `openssl s_client -connect ${server.ip}:${PORT} -servername ${HOST} -alpn h2,http/1.1 ${extra} </dev/null`,
        ])
      ).stdout;
    seen.sclient = await sClient('');
    seen.sclient12 = await sClient('-tls1_2');
    await new Promise((r) => setTimeout(r, 300));
    await cap.stop();
    entries = (await analyze(pcap)).entries.filter((e) => e.protocol === 'tls');
  });

  after(() => node.down());

  test('four handshakes, in order', () => {
    assert.equal(entries.length, 4);
    for (const e of entries) {
      assert.equal(e.method, 'handshake');
      assert.equal(e.path, HOST);
      assert.equal(e.error, null);
    }
  });

  test('curl --tls-max 1.2: TLS 1.2, http/1.1, curl`s cipher, the certificate as generated', async () => {
    const e = entries[0]!;
    const m = /SSL connection using (TLSv1\.2) \/ (\S+)/.exec(seen.curl12 ?? '');
    assert.ok(m, seen.curl12);
    assert.equal(e.status, '1.2');
    assert.deepEqual(e.request.supportedVersions, ['TLS 1.2']);
    assert.deepEqual(e.request.alpn, ['http/1.1']);
    assert.equal(e.response!.alpn, 'http/1.1');
    assert.equal(e.response!.cipherSuite, (await ianaNames()).get(m[2]!));
    const [leaf] = e.response!.certificates as Record<string, unknown>[];
    assert.equal(leaf!.subject, `CN=${HOST}, O=podwire tests`);
    assert.deepEqual(leaf!.san, [`DNS:${HOST}`, `DNS:alt.${HOST}`, 'IP Address:198.18.13.10']);
    assert.equal(leaf!.notAfter, new Date(x509.validTo).toISOString());
    assert.equal(leaf!.fingerprint256, x509.fingerprint256);
  });

  test('curl --tlsv1.3: TLS 1.3; the chosen ALPN and the certificate are encrypted', () => {
    const e = entries[1]!;
    const m = /SSL connection using TLSv1\.3 \/ (\S+)/.exec(seen.curl13 ?? '');
    assert.ok(m, seen.curl13);
    assert.equal(e.status, '1.3');
    assert.deepEqual(e.request.supportedVersions, ['TLS 1.3']);
    assert.deepEqual(e.request.alpn, ['http/1.1']);
    assert.equal(e.response!.cipherSuite, m[1]);
    // RFC 8446 §4.3.1: ALPN's answer travels in EncryptedExtensions; §4.4.2: Certificate, encrypted.
    assert.equal(e.response!.alpn, null);
    assert.equal(e.response!.certificates, undefined);
  });

  test('openssl s_client -alpn h2,http/1.1: the offer and the cipher s_client reports', () => {
    const e = entries[2]!;
    const cipher = /Cipher is (\S+)/.exec(seen.sclient ?? '');
    assert.ok(cipher && /ALPN protocol: h2/.test(seen.sclient ?? ''), seen.sclient);
    assert.equal(e.status, '1.3');
    assert.deepEqual(e.request.alpn, ['h2', 'http/1.1']);
    assert.equal(e.response!.cipherSuite, cipher[1]);
    assert.equal(String(e.request.ja4).slice(0, 4), 't13d');
  });

  test('openssl s_client -tls1_2: h2 chosen in clear', async () => {
    const e = entries[3]!;
    const cipher = /Cipher is (\S+)/.exec(seen.sclient12 ?? '');
    const alpn = /ALPN protocol: (\S+)/.exec(seen.sclient12 ?? '');
    assert.ok(cipher && alpn, seen.sclient12);
    assert.equal(e.status, '1.2');
    assert.equal(e.response!.alpn, alpn[1]);
    assert.equal(e.response!.alpn, 'h2');
    assert.equal(e.response!.cipherSuite, (await ianaNames()).get(cipher[1]!));
    assert.equal(String(e.request.ja4).slice(0, 4), 't12d');
  });

  test('JA3 and SNI equal tshark`s', { skip: false }, async (t) => {
    if (!(await tsharkAvailable())) return t.skip('tshark not installed');
    const rows = await tsharkFields(pcap, 'tls.handshake.type==1', [
      'tls.handshake.extensions_server_name',
      'tls.handshake.ja3_full',
      'tls.handshake.ja3',
    ]);
    assert.deepEqual(
      rows,
      entries.map((e) => [e.request.sni, e.request.ja3, e.request.ja3Hash]),
    );
  });
});
