/**
 * Names for addresses outside the cluster: reverse DNS (cached, rate-limited, can be switched off)
 * and GeoIP country/city and AS organisation from MaxMind DB files. The enricher asks `peek` on its
 * hot path (never waits, no I/O when cached) and `settle` before printing a finished result.
 * Design and limits: README.md beside this file.
 */
import { ExternalNamerError } from './errors.js';
import { GeoIp } from './geoip.js';
import { Namer } from './namer.js';
import { ReverseDns } from './reverse-dns.js';

export { ExternalNamerError } from './errors.js';

/** What is known about an outside address; fields absent when nothing says them. Shared and frozen. */
export interface ExternalName {
  /** The first PTR name (without the final dot). */
  dns?: string;
  /** ISO 3166-1 alpha-2 country code (`DE`). */
  country?: string;
  /** City name in English. */
  city?: string;
  /** Autonomous system number. */
  asn?: number;
  /** The AS's organisation (`GOOGLE`). */
  asOrg?: string;
}

export interface ExternalNamer {
  /** Cached answer now, or null; never waits. Starts a lookup in the background when not cached. */
  peek(ip: string): ExternalName | null;
  /** Waits (bounded by the namer's timeout) for the answers of the given IPs; used by analyze before printing. */
  settle(ips: Iterable<string>): Promise<void>;
  close(): void;
}

export interface ExternalNamerOptions {
  /** Reverse DNS lookups (default true). */
  reverseDns: boolean;
  /** `ip` or `ip:port` (`[ip6]:port`); default: the system's (/etc/resolv.conf). */
  dnsServers?: string[];
  /** GeoLite2-City / GeoIP2-City (or -Country) style .mmdb file. */
  cityDb?: string;
  /** GeoLite2-ASN style .mmdb file. */
  asnDb?: string;
  /** Addresses kept, least recently used dropped first (default 10000); negative answers are cached too. */
  cacheSize?: number;
  /** How long a name is kept before it is looked up again (default 1 h). */
  ttlMs?: number;
  /** How long "no name" or a failed lookup is kept (default 5 min). */
  negativeTtlMs?: number;
  /** Reverse lookups started per second at most (default 50); beyond it they wait in a queue. */
  maxLookupsPerSecond?: number;
  /** Lookups that may wait for the rate limit (default 1000); beyond it they are dropped and counted. */
  queueSize?: number;
  /** Per lookup (default 2000). */
  timeoutMs?: number;
  /**
   * RFC 1918/6598/4193, loopback and link-local addresses never get GeoIP; `lookup` (default) still
   * asks reverse DNS about them (a local resolver often knows them), `skip` does not.
   */
  privateRanges?: 'skip' | 'lookup';
}

/** Counters since creation (for metrics), plus the current sizes. */
export interface ExternalNamerStats {
  /** Questions answered from the cache (fresh, or with a lookup already under way). */
  cacheHits: number;
  /** Questions about an address not cached, or whose answer had expired. */
  cacheMisses: number;
  /** PTR queries sent. */
  lookups: number;
  /** Lookups answered with a name. */
  names: number;
  /** Lookups answered NXDOMAIN or with no PTR record. */
  notFound: number;
  /** Lookups without a usable answer (timeout, SERVFAIL, REFUSED...). */
  failures: number;
  /** Of the failures, those that timed out. */
  timeouts: number;
  /** Lookups not made because the rate limit's queue was full (retried a second later at the earliest). */
  rateLimitedDrops: number;
  /** GeoIP lookups (one per address cached, both files together). */
  geoLookups: number;
  /** GeoIP lookups that failed inside the file (a damaged data section). */
  geoErrors: number;
  /** Addresses dropped from the full cache. */
  evictions: number;
  /** Now: addresses cached, lookups waiting for the rate limit, lookups sent and not answered. */
  cached: number;
  queued: number;
  inFlight: number;
}

/** The namer with its counters. */
export interface ExternalNamerWithStats extends ExternalNamer {
  stats(): ExternalNamerStats;
}

export const EXTERNAL_DEFAULTS = Object.freeze({
  reverseDns: true,
  cacheSize: 10_000,
  ttlMs: 3_600_000,
  negativeTtlMs: 300_000,
  maxLookupsPerSecond: 50,
  queueSize: 1000,
  timeoutMs: 2000,
  privateRanges: 'lookup' as const,
});

/** Options with every default filled in. */
export type ResolvedExternalOptions = Required<
  Omit<ExternalNamerOptions, 'dnsServers' | 'cityDb' | 'asnDb'>
> &
  Pick<ExternalNamerOptions, 'dnsServers' | 'cityDb' | 'asnDb'>;

/**
 * Opens the .mmdb files and sets up the resolver. A missing or damaged file, or a bad option, is an
 * ExternalNamerError whose message names it.
 */
export async function createExternalNamer(o: Partial<ExternalNamerOptions>): Promise<ExternalNamerWithStats> {
  const opts = resolveOptions(o);
  const geo = opts.cityDb || opts.asnDb ? await GeoIp.open(opts.cityDb, opts.asnDb) : null;
  let dns: ReverseDns | null = null;
  if (opts.reverseDns) {
    try {
      dns = new ReverseDns(opts.timeoutMs, opts.dnsServers);
    } catch (err) {
      throw new ExternalNamerError(`DNS servers ${opts.dnsServers?.join(', ')}: ${(err as Error).message}`);
    }
  }
  return new Namer(opts, geo, dns);
}

function resolveOptions(o: Partial<ExternalNamerOptions>): ResolvedExternalOptions {
  const d = EXTERNAL_DEFAULTS;
  const whole = (name: string, v: number | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || v < min)
      throw new ExternalNamerError(`${name} must be a whole number ≥ ${min}, not ${v}`);
    return v;
  };
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!(v > 0) || !Number.isFinite(v))
      throw new ExternalNamerError(`${name} must be a number > 0, not ${v}`);
    return v;
  };
  const privateRanges = o.privateRanges ?? d.privateRanges;
  if (privateRanges !== 'skip' && privateRanges !== 'lookup')
    throw new ExternalNamerError(`privateRanges must be 'skip' or 'lookup', not '${String(privateRanges)}'`);
  const r: ResolvedExternalOptions = {
    reverseDns: o.reverseDns ?? d.reverseDns,
    cacheSize: whole('cacheSize', o.cacheSize, d.cacheSize, 1),
    ttlMs: whole('ttlMs', o.ttlMs, d.ttlMs, 0),
    negativeTtlMs: whole('negativeTtlMs', o.negativeTtlMs, d.negativeTtlMs, 0),
    maxLookupsPerSecond: positive('maxLookupsPerSecond', o.maxLookupsPerSecond, d.maxLookupsPerSecond),
    queueSize: whole('queueSize', o.queueSize, d.queueSize, 0),
    timeoutMs: positive('timeoutMs', o.timeoutMs, d.timeoutMs),
    privateRanges,
  };
  if (o.dnsServers?.length) r.dnsServers = [...o.dnsServers];
  if (o.cityDb) r.cityDb = o.cityDb;
  if (o.asnDb) r.asnDb = o.asnDb;
  return r;
}
