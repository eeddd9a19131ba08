/**
 * Connection records and entries from real captures (test/captures, origins in INDEX.md), as the
 * hub receives them: `analyze`'s jsonl records, round-tripped through JSON. The pipeline runs
 * in-process (test/support/analyze.ts) rather than through bin/podwire so these tests do not depend
 * on the whole CLI being built.
 */
import { join } from 'node:path';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { analyze, decodeAsFor } from '../support/analyze.js';
import { CAPTURES } from '../support/paths.js';

export interface Records {
  connections: ConnectionRecord[];
  entries: Entry[];
}

/**
 * HTTP/1 (closed, one still open, one open for 60 s), TLS handshakes (six leaf certificates on the
 * wire), a PostgreSQL session of 93 s with SQL errors, AMQP errors, DNS over UDP with a SERVFAIL.
 */
export const MIXED = [
  'http1/zeek__bro.org.pcap',
  'http1/ja4__http1.pcapng',
  'tls/ja4__tls-handshake.pcapng',
  'postgresql/suricata-verify__pgsql-simple-query-rollback.pcap',
  'amqp/deepflow__amqp-error.pcap',
  'dns/nDPI__dns_fragmented.pcap',
];

const cache = new Map<string, Promise<Records>>();

export function load(relative: string): Promise<Records> {
  let p = cache.get(relative);
  if (!p) {
    p = analyze(join(CAPTURES, relative), decodeAsFor(relative)).then((a) => ({
      connections: JSON.parse(JSON.stringify(a.connections)) as ConnectionRecord[],
      entries: JSON.parse(JSON.stringify(a.entries)) as Entry[],
    }));
    cache.set(relative, p);
  }
  return p;
}

export async function loadAll(relatives: readonly string[]): Promise<Records> {
  const out: Records = { connections: [], entries: [] };
  for (const r of relatives) {
    const x = await load(r);
    out.connections.push(...x.connections);
    out.entries.push(...x.entries);
  }
  return out;
}
