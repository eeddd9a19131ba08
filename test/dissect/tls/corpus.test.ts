/**
 * podwire's TLS entries against the references on every capture of the corpus that carries TLS over
 * TCP: tshark (SNI, JA3 text and hash of every ClientHello; JA3S text, negotiated version, cipher
 * suite and ALPN of every ServerHello and HelloRetryRequest) and FoxIO's JA4 reference values in
 * test/captures/_expected/ja4 (JA4, JA4_r, JA4_o, JA4_ro, JA4S, JA4S_r).
 *
 * Hellos are matched per connection (address/port 4-tuple) in order. tshark runs with
 * tcp.reassemble_out_of_order on, as podwire's reassembly does (zeek__hrr.pcap's ServerHello arrives
 * out of order). QUIC hellos (UDP) are out of scope, hence the `tcp and` in the filters.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const TSHARK_OPTS = ['-o', 'tcp.reassemble_out_of_order:TRUE'];

interface Capture {
  file: string;
  /** Decode-as rules for both tools. */
  decodeAs?: string[];
  /** Connections whose first bytes are another protocol (STARTTLS-like): parse errors expected. */
  prelude?: boolean;
}

const CORPUS: Capture[] = [
  ...readdirSync(join(CAPTURES, 'tls')).map((f) => ({ file: `tls/${f}` })),
  { file: 'http1/ja4__http1.pcapng' },
  { file: 'http2/ja4__http2-with-cookies.pcapng' },
  // MySQL's SSL request: podwire's MySQL dissector, when present, hands over with switchTo('tls');
  // here TLS is forced on the port and the session resynchronises on the ClientHello.
  { file: 'mysql/nDPI__mysql.pcapng', decodeAs: ['tcp.port==3306,tls'], prelude: true },
];

const ep = (ip: string, port: string | number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** A connection key from the client's side. */
function connKey(cip: string, cport: string | number, sip: string, sport: string | number): string {
  return `${ep(cip, cport)}>${ep(sip, sport)}`;
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

interface ClientFacts {
  sni: string;
  ja3: string;
  ja3Hash: string;
}

interface ServerFacts {
  ja3s: string;
  version: string;
  cipher: string;
  alpn: string;
}

async function tsharkClients(c: Capture): Promise<Map<string, ClientFacts[]>> {
  const rows = await tsharkFields(
    join(CAPTURES, c.file),
    'tcp and tls.handshake.type==1',
    [
      'ip.src',
      'ipv6.src',
      'tcp.srcport',
      'ip.dst',
      'ipv6.dst',
      'tcp.dstport',
      'tls.handshake.extensions_server_name',
      'tls.handshake.ja3_full',
      'tls.handshake.ja3',
    ],
    c.decodeAs,
    TSHARK_OPTS,
  );
  const out = new Map<string, ClientFacts[]>();
  for (const [s4, s6, sp, d4, d6, dp, sni, ja3, ja3Hash] of rows)
    push(out, connKey(s4 || s6!, sp!, d4 || d6!, dp!), { sni: sni ?? '', ja3: ja3!, ja3Hash: ja3Hash! });
  return out;
}

async function tsharkServers(c: Capture): Promise<Map<string, ServerFacts[]>> {
  const rows = await tsharkFields(
    join(CAPTURES, c.file),
    'tcp and tls.handshake.type==2',
    [
      'ip.src',
      'ipv6.src',
      'tcp.srcport',
      'ip.dst',
      'ipv6.dst',
      'tcp.dstport',
      'tls.handshake.ja3s_full',
      'tls.handshake.extensions.supported_version',
      'tls.handshake.version',
      'tls.handshake.ciphersuite',
      'tls.handshake.extensions_alpn_str',
    ],
    c.decodeAs,
    TSHARK_OPTS,
  );
  const out = new Map<string, ServerFacts[]>();
  for (const [s4, s6, sp, d4, d6, dp, ja3s, sv, v, cs, alpn] of rows) {
    // The server sent it: the connection key is from the other side.
    const version = Number.parseInt(sv || v!.split(',')[0]!, 16);
    push(out, connKey(d4 || d6!, dp!, s4 || s6!, sp!), {
      ja3s: ja3s!,
      version: VERSION_NAMES[version] ?? String(version),
      cipher: `0x${cs!.slice(2).padStart(4, '0')}`,
      alpn: alpn ?? '',
    });
  }
  return out;
}

interface CertFacts {
  /** SHA-256 of each DER certificate, as X509Certificate.fingerprint256 prints it. */
  fingerprints: string[];
  /** notBefore and notAfter of every certificate (ISO 8601), sorted. */
  validity: string[];
  dnsNames: string[];
}

/** tshark prints UTCTime as `2017-11-01 13:48:56 (UTC)`, GeneralizedTime as
 * `Apr 15, 2024 23:59:59.000000000 UTC`. */
function tsharkTime(t: string): string {
  const utc = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \(UTC\)$/.exec(t);
  const ms = utc ? Date.parse(`${utc[1]}T${utc[2]}Z`) : Date.parse(t.replace(/\.\d+ UTC$/, ' UTC'));
  assert.ok(!Number.isNaN(ms), `tshark time ${t}`);
  return new Date(ms).toISOString();
}

/** Server Certificate messages (TLS 1.2 and below; tshark decrypts TLS 1.3 ones from an embedded
 * key log, which podwire does not: those connections are compared as "no chain"). */
async function tsharkCertificates(c: Capture): Promise<Map<string, CertFacts>> {
  const rows = await tsharkFields(
    join(CAPTURES, c.file),
    'tcp and tls.handshake.type==11',
    [
      'ip.src',
      'ipv6.src',
      'tcp.srcport',
      'ip.dst',
      'ipv6.dst',
      'tcp.dstport',
      'tls.handshake.certificate',
      'x509af.utcTime',
      'x509af.generalizedTime',
      'x509ce.dNSName',
    ],
    c.decodeAs,
    TSHARK_OPTS,
  );
  const out = new Map<string, CertFacts>();
  for (const [s4, s6, sp, d4, d6, dp, ders, utc, generalized, dns] of rows) {
    const fingerprints = (ders ?? '')
      .split(',')
      .filter(Boolean)
      .map((h) =>
        createHash('sha256')
          .update(Buffer.from(h, 'hex'))
          .digest('hex')
          .toUpperCase()
          .replace(/(..)(?!$)/g, '$1:'),
      );
    // "2017-11-01 13:48:56 (UTC)"; UTCTime and GeneralizedTime (RFC 5280 §4.1.2.5) are separate
    // fields, so their order across the two is lost: compared as a sorted list.
    // Occurrences are joined by ',' and a GeneralizedTime has its own ', ' inside.
    const validity = `${utc ?? ''},${generalized ?? ''}`
      .split(/,(?! )/)
      .filter(Boolean)
      .map(tsharkTime)
      .sort();
    out.set(connKey(d4 || d6!, dp!, s4 || s6!, sp!), {
      fingerprints,
      validity,
      dnsNames: (dns ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}

const VERSION_NAMES: Record<number, string> = {
  768: 'SSL 3.0',
  769: 'TLS 1.0',
  770: 'TLS 1.1',
  771: 'TLS 1.2',
  772: 'TLS 1.3',
};

type Rec = Record<string, unknown>;

/** Every ClientHello of podwire's entries, in order, per connection. */
function podwireClients(entries: Entry[]): Map<string, Rec[]> {
  const out = new Map<string, Rec[]>();
  for (const e of entries) {
    const k = connKey(e.src.ip, e.src.port, e.dst.ip, e.dst.port);
    if (e.request.ja3) push(out, k, e.request);
    if (e.request.retry) push(out, k, e.request.retry as Rec);
  }
  return out;
}

function podwireServers(entries: Entry[]): Map<string, Rec[]> {
  const out = new Map<string, Rec[]>();
  for (const e of entries) {
    const k = connKey(e.src.ip, e.src.port, e.dst.ip, e.dst.port);
    const hrr = e.response?.helloRetryRequest as Rec | undefined;
    if (hrr) push(out, k, hrr);
    if (e.response?.ja3s) push(out, k, e.response);
  }
  return out;
}

/** Cipher suite id from podwire's hex-or-name rendering: the JA4S_r second field has the hex. */
function cipherHex(r: Rec): string {
  return `0x${String(r.ja4s_r).split('_')[1]}`;
}

/** Totals across the corpus, printed at the end for the report. */
const totals = { clientHellos: 0, serverHellos: 0, ja4: 0, ja4s: 0, sni: 0, certificates: 0 };

describe('TLS against tshark and the JA4 references', { skip: false }, async () => {
  const haveTshark = await tsharkAvailable();

  for (const c of CORPUS) {
    test(c.file, { skip: !haveTshark && 'tshark not installed' }, async () => {
      const { entries, connections } = await analyze(join(CAPTURES, c.file), c.decodeAs ?? []);
      const tls = entries.filter((e) => e.protocol === 'tls');
      for (const e of tls) assert.equal(e.method, 'handshake');

      // ClientHellos: SNI, JA3 text and hash, one for one per connection.
      const want = await tsharkClients(c);
      const got = podwireClients(tls);
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'connections with a ClientHello');
      for (const [k, list] of want) {
        const mine = got.get(k) ?? [];
        assert.equal(mine.length, list.length, `${k}: ClientHello count`);
        list.forEach((w, i) => {
          const m = mine[i]!;
          assert.equal(m.sni ?? '', w.sni, `${k} #${i}: SNI`);
          assert.equal(m.ja3, w.ja3, `${k} #${i}: JA3 text`);
          assert.equal(m.ja3Hash, w.ja3Hash, `${k} #${i}: JA3 hash`);
          totals.clientHellos++;
          if (w.sni) totals.sni++;
        });
      }

      // ServerHellos and HelloRetryRequests: JA3S, version, cipher suite, ALPN.
      const wantS = await tsharkServers(c);
      const gotS = podwireServers(tls);
      assert.deepEqual([...gotS.keys()].sort(), [...wantS.keys()].sort(), 'connections with a ServerHello');
      for (const [k, list] of wantS) {
        const mine = gotS.get(k) ?? [];
        assert.equal(mine.length, list.length, `${k}: ServerHello count`);
        list.forEach((w, i) => {
          const m = mine[i]!;
          assert.equal(m.ja3s, w.ja3s, `${k} #${i}: JA3S`);
          assert.equal(m.version, w.version, `${k} #${i}: version`);
          assert.equal(cipherHex(m), w.cipher, `${k} #${i}: cipher suite`);
          assert.equal(m.alpn ?? '', w.alpn, `${k} #${i}: ALPN`);
          totals.serverHellos++;
        });
      }

      // Certificate chains (TLS 1.2 and below): the same DER certificates, validity and DNS names.
      const wantC = await tsharkCertificates(c);
      for (const e of tls) {
        const k = connKey(e.src.ip, e.src.port, e.dst.ip, e.dst.port);
        const certs = (e.response?.certificates ?? null) as Rec[] | null;
        const w = wantC.get(k);
        if (e.status === '1.3' || !w) {
          assert.equal(certs, null, `${k}: no certificate chain in clear`);
          continue;
        }
        assert.ok(certs, `${k}: certificate chain`);
        assert.deepEqual(
          certs.map((x) => x.fingerprint256),
          w.fingerprints,
          `${k}: certificates`,
        );
        assert.deepEqual(
          certs.flatMap((x) => [x.notBefore, x.notAfter]).sort(),
          w.validity,
          `${k}: validity`,
        );
        const dns = certs.flatMap((x) =>
          (x.san as string[]).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
        );
        assert.deepEqual(dns, w.dnsNames, `${k}: subjectAltName DNS names`);
        totals.certificates += certs.length;
      }

      // The status column is the version of the (final) ServerHello.
      for (const e of tls) {
        if (!e.response?.ja3s) continue;
        assert.equal(`TLS ${e.status}`, e.response.version);
      }
      // Each TLS connection carries its summary.
      for (const conn of connections) {
        const l7 = conn.l7 as Rec | undefined;
        if (l7?.protocol !== 'tls' || !tls.some((e) => e.connectionId === conn.id)) continue;
        assert.ok(l7.tls, `connection ${conn.id}: tls summary`);
      }
      if (!c.prelude) {
        const errors = connections.reduce(
          (n, x) => n + (((x.l7 as Rec | undefined)?.parseErrors as number) ?? 0),
          0,
        );
        // Only the capped 339,629-byte Certificate of the fragmented-handshake capture is an error.
        assert.equal(errors, c.file.includes('fragmented-handshake') ? 1 : 0, 'parse errors');
      }

      // JA4 / JA4S against FoxIO's reference output, where the corpus has one.
      const name = c.file.split('/')[1]!.replace(/^ja4__/, '');
      const refFile = join(CAPTURES, '_expected', 'ja4', `${name}.json`);
      let ref: Rec[] = [];
      try {
        ref = JSON.parse(readFileSync(refFile, 'utf8')) as Rec[];
      } catch {
        return;
      }
      for (const r of ref) {
        if (typeof r['JA4.1'] !== 'string' || !String(r['JA4.1']).startsWith('t')) continue;
        const k = connKey(String(r.src), String(r.srcport), String(r.dst), String(r.dstport));
        const hellos = got.get(k) ?? [];
        for (const n of [1, 2]) {
          if (r[`JA4.${n}`] === undefined) continue;
          const h = hellos[n - 1];
          assert.ok(h, `${k}: ClientHello #${n} for the JA4 reference`);
          assert.equal(h.ja4, r[`JA4.${n}`], `${k}: JA4.${n}`);
          assert.equal(h.ja4_r, r[`JA4_r.${n}`], `${k}: JA4_r.${n}`);
          if (r[`JA4_o.${n}`]) assert.equal(h.ja4_o, r[`JA4_o.${n}`], `${k}: JA4_o.${n}`);
          if (r[`JA4_ro.${n}`]) assert.equal(h.ja4_ro, r[`JA4_ro.${n}`], `${k}: JA4_ro.${n}`);
          totals.ja4++;
        }
        if (typeof r.JA4S === 'string') {
          // FoxIO fingerprints the first server hello of a connection (a HelloRetryRequest if any).
          const s = gotS.get(k)?.[0];
          assert.ok(s, `${k}: ServerHello for the JA4S reference`);
          assert.equal(s.ja4s, r.JA4S, `${k}: JA4S`);
          assert.equal(s.ja4s_r, r.JA4S_r, `${k}: JA4S_r`);
          totals.ja4s++;
        }
      }
    });
  }

  test('agreement totals', () => {
    console.log(`# tls agreement: ${JSON.stringify(totals)}`);
  });
});
