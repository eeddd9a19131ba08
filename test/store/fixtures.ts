/**
 * What the store tests share: a fresh temp directory per test file, real entries from the
 * captures (test/support/analyze.ts runs podwire's pipeline in-process), and the same through the
 * CLI's `--format jsonl`. Synthetic records are in records.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { analyze } from '../support/analyze.js';
import { CAPTURES, PODWIRE } from '../support/paths.js';

/** A temp directory removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Captures with entries of many protocols (and a few big HTTP bodies). */
export const ROUND_TRIP_CAPTURES = [
  'http1/zeek__bro.org.pcap',
  'http1/zeek__http-post-large.pcap',
  'redis/zeek__django-cloud.pcapng',
  'tls/ja4__tls-handshake.pcapng',
  'dns/zeek__dns-binds.pcap',
  'postgresql/zeek__psql-create-insert-select-delete-drop.pcap',
  'grpc/deepflow__grpc-unary.pcap',
  'mqtt/suricata-verify__mqtt5-pub-mosquittoprops.pcap',
];

/** Entries and connection records of the captures, as the pipeline hands them to a sink. */
export async function realRecords(
  captures: readonly string[] = ROUND_TRIP_CAPTURES,
): Promise<{ entries: Entry[]; connections: ConnectionRecord[] }> {
  const entries: Entry[] = [];
  const connections: ConnectionRecord[] = [];
  for (const c of captures) {
    const r = await analyze(join(CAPTURES, c));
    entries.push(...r.entries);
    connections.push(...r.connections);
  }
  return { entries, connections };
}

/** `bin/podwire analyze <captures> --format jsonl`, parsed: what an agent would send as text. */
export function jsonlRecords(captures: readonly string[]): {
  entries: Entry[];
  connections: ConnectionRecord[];
} {
  const out = execFileSync(
    PODWIRE,
    ['analyze', ...captures.map((c) => join(CAPTURES, c)), '--format', 'jsonl'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const entries: Entry[] = [];
  const connections: ConnectionRecord[] = [];
  for (const line of out.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { type: string };
    if (r.type === 'entry') entries.push(r as Entry);
    else if (r.type === 'connection') connections.push(r as ConnectionRecord);
  }
  return { entries, connections };
}
