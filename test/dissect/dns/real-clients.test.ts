/**
 * DNS between real programs: dnsmasq serving a small zone in one pod, dig asking from another,
 * tcpdump on the server pod's host-side veth. Every dig answer — ID, status, and each answer record
 * in dig's own presentation format — must come out of podwire's entry for that query, over UDP and
 * over TCP (dig +tcp), for A, AAAA, CNAME, MX, TXT, SRV, HTTPS, CAA, NXDOMAIN and an EDNS client
 * subnet query.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import { analyze } from '../../support/analyze.js';
import { Node, netnsAvailable, waitFor } from '../../support/netns.js';

const run = promisify(execFile);

async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

const available = (await netnsAvailable()) && (await have('dnsmasq')) && (await have('dig'));

// RFC 9460 §2.2 wire format: priority 1, target ".", alpn=h2,h3 port=8443 ipv4hint=198.18.14.10.
const HTTPS_RDATA = '0001 00 0001 0006 026832 026833 0003 0002 20fb 0004 0004 c6120e0a';
// RFC 8659 §4.1: flags 0, tag "issue", value "letsencrypt.org".
const CAA_RDATA = `00 05 ${Buffer.from('issue').toString('hex')} ${Buffer.from('letsencrypt.org').toString('hex')}`;

interface DigResult {
  id: number;
  status: string;
  /** Answer records as dig prints them: [type, rdata]. */
  answers: [string, string][];
  args: string[];
}

/** A record of podwire's entry in dig's presentation format (RFC 1035 §5.1 and each type's RFC). */
function presentation(type: string, data: unknown): string {
  const fqdn = (n: string) => (n === '.' ? '.' : `${n}.`);
  const d = data as Record<string, unknown>;
  switch (type) {
    case 'A':
    case 'AAAA':
      return String(data);
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return fqdn(String(data));
    case 'MX':
      return `${d.preference} ${fqdn(String(d.exchange))}`;
    case 'TXT':
      // Inside quotes, '"' and '\' are escaped (RFC 1035 §5.1).
      return (data as string[]).map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`).join(' ');
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${fqdn(String(d.target))}`;
    case 'CAA':
      return `${d.flags} ${d.tag} "${d.value}"`;
    case 'HTTPS':
    case 'SVCB': {
      const params = Object.entries(d.params as Record<string, unknown>).map(([k, v]) => {
        if (k === 'alpn') return `alpn="${(v as string[]).join(',')}"`;
        if (Array.isArray(v)) return `${k}=${v.join(',')}`;
        return `${k}=${v}`;
      });
      return [d.priority, fqdn(String(d.target)), ...params].join(' ');
    }
    default:
      return JSON.stringify(data);
  }
}

describe('DNS on real dnsmasq and dig traffic', {
  skip: available ? false : 'needs root, ip netns, dnsmasq, dig',
}, () => {
  const node = new Node('pwdns', '198.18.14');
  const dir = mkdtempSync(join(tmpdir(), 'podwire-dns-'));
  const pcap = join(dir, 'dns.pcap');
  const digs: DigResult[] = [];
  let entries: Entry[] = [];
  let server = '';

  async function dig(args: string[]): Promise<DigResult> {
    const out = await node.exec(node.pod('client').ns, 'dig', [
      `@${server}`,
      '+tries=1',
      '+time=2',
      '+noall',
      '+comments',
      '+answer',
      ...args,
    ]);
    const header = /status: (\w+), id: (\d+)/.exec(out);
    assert.ok(header, out);
    const answers = out
      .split('\n')
      .filter((l) => l && !l.startsWith(';'))
      .map((l) => {
        const m = /^\S+\s+\d+\s+IN\s+(\S+)\s+(.*)$/.exec(l.trim());
        assert.ok(m, l);
        return [m[1]!, m[2]!.trim()] as [string, string];
      });
    const r = { id: Number(header[2]), status: header[1]!, answers, args };
    digs.push(r);
    return r;
  }

  before(async () => {
    await node.up(['server', 'client']);
    server = node.pod('server').ip;
    node.spawn(node.pod('server').ns, 'dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--pid-file=',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${server}`,
      '--local=/pw.test/',
      '--address=/a.pw.test/198.18.14.200',
      '--host-record=both.pw.test,198.18.14.201,2001:db8::201',
      '--cname=alias.pw.test,both.pw.test',
      // No shell: the quotes are part of the first string, which dig prints escaped.
      '--txt-record=txt.pw.test,"hello world",second',
      '--mx-host=pw.test,mail.pw.test,10',
      '--srv-host=_sip._tcp.pw.test,sip.pw.test,5060,1,5',
      `--dns-rr=https.pw.test,65,${HTTPS_RDATA.replace(/ /g, '')}`,
      `--dns-rr=caa.pw.test,257,${CAA_RDATA.replace(/ /g, '')}`,
    ]);
    await waitFor(() =>
      node.exec(node.pod('client').ns, 'dig', [`@${server}`, '+short', '+tries=1', '+time=1', 'a.pw.test']),
    );
    const cap = await node.capture(node.pod('server').hostIf, pcap, ['port', '53']);
    await dig(['a.pw.test', 'A']);
    await dig(['both.pw.test', 'AAAA']);
    await dig(['alias.pw.test', 'A']);
    await dig(['pw.test', 'MX']);
    await dig(['txt.pw.test', 'TXT']);
    await dig(['_sip._tcp.pw.test', 'SRV']);
    await dig(['https.pw.test', 'HTTPS']);
    await dig(['caa.pw.test', 'CAA']);
    await dig(['nope.pw.test', 'A']);
    await dig(['+tcp', 'both.pw.test', 'A']);
    await dig(['+tcp', 'txt.pw.test', 'TXT']);
    await dig(['+subnet=198.18.14.0/24', 'a.pw.test', 'A']);
    await new Promise((r) => setTimeout(r, 200));
    await cap.stop();
    entries = (await analyze(pcap)).entries.filter((e) => e.protocol === 'dns');
  });

  after(() => node.down());

  test('every dig query is one entry with dig`s ID, status and answers', () => {
    assert.equal(entries.length, digs.length);
    for (const d of digs) {
      const e = entries.find((x) => (x.request as { id?: number }).id === d.id);
      assert.ok(e, `entry for ${d.args.join(' ')}`);
      const [name, type] = d.args.filter((a) => !a.startsWith('+'));
      assert.equal(e.path, name);
      assert.equal(e.method, type);
      assert.equal(e.status, d.status, d.args.join(' '));
      assert.equal(e.error, null);
      assert.ok(e.elapsedMs !== null && e.elapsedMs >= 0);
      const answers = (e.response!.answers as { type: string; data: unknown }[]).map(
        (r) => [r.type, presentation(r.type, r.data)] as [string, string],
      );
      assert.deepEqual(answers, d.answers, d.args.join(' '));
      assert.equal(e.connectionId !== null, d.args.includes('+tcp'), 'TCP queries are on a connection');
    }
  });

  test('the statuses cover NOERROR and NXDOMAIN, and answers include A, AAAA, CNAME, MX, TXT, SRV, HTTPS, CAA', () => {
    assert.deepEqual([...new Set(digs.map((d) => d.status))].sort(), ['NOERROR', 'NXDOMAIN']);
    const types = new Set(digs.flatMap((d) => d.answers.map(([t]) => t)));
    for (const t of ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'HTTPS', 'CAA']) assert.ok(types.has(t), t);
  });

  test('the client subnet option dig sent is decoded (RFC 7871 §6)', () => {
    const d = digs.find((x) => x.args.some((a) => a.startsWith('+subnet')))!;
    const e = entries.find((x) => (x.request as { id?: number }).id === d.id)!;
    const edns = e.request.edns as { options: Record<string, unknown>[] };
    const ecs = edns.options.find((o) => o.name === 'ECS');
    assert.deepEqual(
      { family: ecs?.family, sourcePrefix: ecs?.sourcePrefix, address: ecs?.address },
      { family: 'IPv4', sourcePrefix: 24, address: '198.18.14.0' },
    );
  });
});
