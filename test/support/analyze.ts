/** Runs podwire's pipeline over a capture in-process and collects what it reports. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFiles } from '../../src/cli/analyze.js';
import type { Entry } from '../../src/dissect/entry.js';
import { parseDecodeAs } from '../../src/dissect/registry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import type { TrackerOptions } from '../../src/flows/tracker.js';
import { CAPTURES } from './paths.js';

export interface Analyzed {
  entries: Entry[];
  connections: ConnectionRecord[];
  summary: Awaited<ReturnType<typeof analyzeFiles>>['summary'];
}

/** Analyzes `file` with the given tshark-style decode-as rules (`tcp.port==N,NAME`). */
export async function analyze(
  file: string,
  decodeAs: string[] = [],
  tracker: Partial<TrackerOptions> = {},
): Promise<Analyzed> {
  const rules = new Map<number, string>();
  for (const d of decodeAs) {
    const r = parseDecodeAs(d);
    if (r) rules.set(r.port, r.name);
  }
  const entries: Entry[] = [];
  const connections: ConnectionRecord[] = [];
  const { summary } = await analyzeFiles(
    [file],
    { tracker, progress: false, decodeAs: rules, onEntry: (e) => entries.push(e) },
    (c) => connections.push(c),
  );
  entries.sort((a, b) => a.timestamp - b.timestamp);
  return { entries, connections, summary };
}

/** The decode-as rules INDEX.md gives for a capture (path relative to test/captures). */
export function decodeAsFor(relative: string): string[] {
  const text = readFileSync(join(CAPTURES, '_expected', 'decode_as.txt'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${relative}|`))
    .map((l) => l.split('|')[1]!);
}
