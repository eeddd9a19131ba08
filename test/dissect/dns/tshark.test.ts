/**
 * podwire's DNS entries against tshark, the independent reference, on every capture in
 * test/captures/dns (IPv4 and IPv6 fragments, DNS over TCP with two messages in a segment, EDNS
 * client subnet, SVCB, mDNS). Each DNS message tshark decodes must come out of podwire once, as the
 * request or the response of an entry, with the same ID, question names and types, rcode, answer
 * count, A/AAAA addresses and record names; and where tshark pairs a response with its query, podwire
 * must report the same response time.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rcodeName, typeName } from '../../../src/dissect/dns/messages.js';
import type { Entry } from '../../../src/dissect/entry.js';
import { tsharkAvailable, tsharkFields } from '../../reference/tshark.js';
import { analyze } from '../../support/analyze.js';
import { CAPTURES } from '../../support/paths.js';

const FIELDS = [
  'frame.number',
  'dns.id',
  'dns.flags.response',
  'dns.qry.name',
  'dns.qry.type',
  'dns.flags.rcode',
  'dns.count.answers',
  'dns.a',
  'dns.aaaa',
  'dns.resp.name',
  'dns.cname',
  'dns.ns',
  'dns.ptr.domain_name',
  'dns.mx.mail_exchange',
  'dns.srv.target',
  'dns.time',
];

/** One DNS message reduced to what both tools report. */
interface Msg {
  response: boolean;
  id: number;
  questions: string;
  rcode: string;
  answers: number;
  addresses: string;
  names: string;
  rdataNames: string;
}

const list = (s: string | undefined): string[] => (s ? s.split(',') : []);
const sorted = (xs: string[]): string => [...xs].sort().join(' ');
const key = (m: Msg): string => JSON.stringify(m);

function fromTshark(rows: string[][]): { messages: Msg[]; times: Map<string, number> } {
  const messages: Msg[] = [];
  const times = new Map<string, number>();
  for (const r of rows) {
    const [, ids, resp, qnames, qtypes, rcodes, ancounts, a, aaaa, rnames, cname, ns, ptr, mx, srv, time] = r;
    const idList = list(ids);
    const names = list(qnames);
    const types = list(qtypes).map((t) => typeName(Number(t)));
    const flags = list(resp);
    const counts = list(ancounts);
    const rc = list(rcodes);
    const addresses = [...list(a), ...list(aaaa)];
    const rdataNames = [...list(cname), ...list(ns), ...list(ptr), ...list(mx), ...list(srv)];
    if (idList.length > 1) {
      // Several messages in one TCP segment: one question each, and (in this corpus) no records.
      assert.equal(names.length, idList.length, `frame ${r[0]}: one question per message`);
      assert.equal(
        addresses.length + list(rnames).length,
        0,
        `frame ${r[0]}: records in a multi-message frame`,
      );
    }
    idList.forEach((id, i) => {
      const qs = idList.length > 1 ? [`${types[i]}:${names[i]}`] : names.map((n, j) => `${types[j]}:${n}`);
      const m: Msg = {
        response: flags[i] === '1',
        id: Number.parseInt(id, 16),
        questions: qs.join(' '),
        rcode: flags[i] === '1' ? rcodeName(Number(rc[i])) : '',
        answers: Number(counts[i]),
        addresses: idList.length > 1 ? '' : sorted(addresses),
        names: idList.length > 1 ? '' : sorted(list(rnames).filter((n) => n !== '<Root>')),
        rdataNames: idList.length > 1 ? '' : sorted(rdataNames),
      };
      messages.push(m);
      if (m.response && time) times.set(key(m), Math.round(Number(time) * 1e6));
    });
  }
  return { messages, times };
}

interface Rr {
  name: string;
  type: string;
  data: unknown;
}
interface Side {
  id: number;
  rcode?: string;
  counts: { answers: number };
  questions: { name: string; type: string }[];
  answers: Rr[];
  authority: Rr[];
  additional: Rr[];
}

function fromPodwire(entries: Entry[]): { messages: Msg[]; times: Map<string, number> } {
  const messages: Msg[] = [];
  const times = new Map<string, number>();
  const toMsg = (s: Side, response: boolean): Msg => {
    const records = [...s.answers, ...s.authority, ...s.additional];
    const nameData = records.filter((r) => ['CNAME', 'NS', 'PTR', 'MX', 'SRV'].includes(r.type));
    return {
      response,
      id: s.id,
      questions: s.questions.map((q) => `${q.type}:${q.name === '.' ? '<Root>' : q.name}`).join(' '),
      rcode: response ? s.rcode! : '',
      answers: s.counts.answers,
      addresses: sorted(
        records.filter((r) => r.type === 'A' || r.type === 'AAAA').map((r) => String(r.data)),
      ),
      names: sorted(records.map((r) => (r.name === '.' ? '<Root>' : r.name)).filter((n) => n !== '<Root>')),
      rdataNames: sorted(
        nameData.map((r) => {
          const d = r.data as string | { exchange?: string; target?: string };
          return typeof d === 'string' ? d : (d.exchange ?? d.target ?? '');
        }),
      ),
    };
  };
  for (const e of entries) {
    if (e.protocol !== 'dns') continue;
    if ('id' in e.request) messages.push(toMsg(e.request as unknown as Side, false));
    if (e.response) {
      const m = toMsg(e.response as unknown as Side, true);
      messages.push(m);
      if (e.elapsedMs !== null) times.set(key(m), Math.round(e.elapsedMs * 1000));
    }
  }
  return { messages, times };
}

const available = await tsharkAvailable();
const dir = join(CAPTURES, 'dns');

describe('DNS entries agree with tshark', { skip: available ? false : 'needs tshark' }, () => {
  for (const file of readdirSync(dir).sort()) {
    test(file, async () => {
      const path = join(dir, file);
      const rows = await tsharkFields(path, 'dns || mdns || llmnr', FIELDS);
      const ref = fromTshark(rows);
      const { entries, summary } = await analyze(path);
      const ours = fromPodwire(entries);
      assert.ok(ref.messages.length > 0);
      assert.deepEqual(ours.messages.map(key).sort(), ref.messages.map(key).sort());
      assert.equal(summary.protocols.dns?.parseErrors ?? 0, 0);
      // Response times: tshark's dns.time is from the query's frame to the response's, podwire's
      // elapsedMs from the query's first byte to the response's; they agree for single-segment messages.
      for (const [k, t] of ref.times) {
        const o = ours.times.get(k);
        if (o !== undefined) assert.ok(Math.abs(o - t) <= 1, `${k}: ${o} µs vs tshark ${t} µs`);
      }
    });

    test(`${file}: EDNS client subnet options (RFC 7871)`, async () => {
      const path = join(dir, file);
      const fields = ['dns.opt.client.family', 'dns.opt.client.netmask', 'dns.opt.client.scope'];
      const rows = await tsharkFields(path, 'dns.opt.client.family', [
        ...fields,
        'dns.opt.client.addr4',
        'dns.opt.client.addr6',
      ]);
      const ref = rows.flatMap(([family, source, scope, a4, a6]) =>
        list(family).map(
          (f, i) =>
            `${f === '1' ? 'IPv4' : 'IPv6'}/${list(source)[i]}/${list(scope)[i]}/${f === '1' ? a4 : a6}`,
        ),
      );
      const { entries } = await analyze(path);
      const ours = entries.flatMap((e) =>
        [e.request, e.response].flatMap((side) => {
          const edns = side?.edns as { options: Record<string, unknown>[] } | null | undefined;
          return (edns?.options ?? [])
            .filter((o) => o.name === 'ECS')
            .map((o) => `${o.family}/${o.sourcePrefix}/${o.scopePrefix}/${o.address}`);
        }),
      );
      assert.deepEqual(ours.sort(), ref.sort());
    });
  }
});
