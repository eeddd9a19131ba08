/**
 * The flags every command that runs the pipeline shares (analyze, agent, start): the tracker's
 * limits (k8spacket's assembler knobs) and decode-as rules, parsed once, the same way everywhere.
 */
import { dissectorNames, parseDecodeAs } from '../dissect/registry.js';
import { PAGE_BYTES, type TrackerOptions } from '../flows/tracker.js';
import { parseCount, parseDuration, UsageError } from './usage-error.js';

/** parseArgs' values, as the commands hold them. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

function str(v: FlagValues, k: string): string | undefined {
  return typeof v[k] === 'string' ? (v[k] as string) : undefined;
}

/** `--max-connections`, `--max-pages-*`, `--flush-period`, `--close-older-than`, `--close-linger`. */
export function trackerFlags(v: FlagValues): Partial<TrackerOptions> {
  const t: Partial<TrackerOptions> = {};
  const count = (k: string) => {
    const x = str(v, k);
    return x === undefined ? undefined : parseCount(k, x);
  };
  const duration = (k: string) => {
    const x = str(v, k);
    return x === undefined ? undefined : parseDuration(k, x);
  };
  const maxConnections = count('max-connections');
  const perConnection = count('max-pages-per-connection');
  const total = count('max-pages-total');
  const flush = duration('flush-period');
  const older = duration('close-older-than');
  const linger = duration('close-linger');
  if (maxConnections !== undefined) t.maxConnections = maxConnections;
  if (perConnection !== undefined) t.maxBufferedPerConnection = perConnection * PAGE_BYTES;
  if (total !== undefined) t.maxBufferedTotal = total * PAGE_BYTES;
  if (flush !== undefined) t.flushPeriodMicros = flush;
  if (older !== undefined) t.closeOlderThanMicros = older;
  if (linger !== undefined) t.closeLingerMicros = linger;
  return t;
}

/** `--decode-as PORT=NAME` (repeatable; tshark's `tcp.port==PORT,NAME` too) as port -> dissector. */
export function decodeAsFlags(v: FlagValues): Map<number, string> {
  const decodeAs = new Map<number, string>();
  for (const rule of (v['decode-as'] as string[] | undefined) ?? []) {
    const r = parseDecodeAs(rule);
    if (!r) {
      throw new UsageError(
        `--decode-as takes PORT=NAME or tcp.port==PORT,NAME with NAME one of ${dissectorNames().join(', ')}, not '${rule}'`,
      );
    }
    decodeAs.set(r.port, r.name);
  }
  return decodeAs;
}
