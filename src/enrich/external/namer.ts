/**
 * The external namer: one cache slot per address asked about, holding the GeoIP fields (found at
 * once: an in-memory lookup) and the reverse DNS answer (found in the background, through the rate
 * limiter). `peek` reads the slot and, when there is none or its answer expired, starts the lookup;
 * it never awaits anything, so the hot path costs a Map lookup.
 */
import { Lru } from '../../wire/lru.js';
import { addressScope, lookupAddress } from './addresses.js';
import type { GeoIp } from './geoip.js';
import type {
  ExternalName,
  ExternalNamerStats,
  ExternalNamerWithStats,
  ResolvedExternalOptions,
} from './index.js';
import { type QueuedTask, RateLimiter } from './rate-limiter.js';
import type { PtrAnswer, ReverseDns } from './reverse-dns.js';

/** "Looked, nothing known": shared by every address without an answer. */
const EMPTY: ExternalName = Object.freeze({});

/** After a lookup was dropped (queue full), the next try waits this long: the queue is the overload signal. */
const DROP_RETRY_MS = 1000;

interface Slot {
  /** The address looked up (an IPv4-mapped IPv6 address as IPv4). */
  readonly addr: string;
  /** GeoIP fields, frozen; EMPTY when none. */
  readonly geo: ExternalName;
  /** What `peek` answers: null until something is known. */
  value: ExternalName | null;
  /** performance.now() from which the DNS answer is stale and looked up again. */
  expires: number;
  /** Settles when the lookup under way (waiting or sent) ends; null when none is. */
  pending: Promise<void> | null;
}

type Counters = Omit<ExternalNamerStats, 'cached' | 'queued' | 'inFlight' | 'evictions' | 'geoErrors'>;

export class Namer implements ExternalNamerWithStats {
  private readonly cache: Lru<string, Slot>;
  private readonly limiter: RateLimiter | null;
  private readonly counters: Counters = {
    cacheHits: 0,
    cacheMisses: 0,
    lookups: 0,
    names: 0,
    notFound: 0,
    failures: 0,
    timeouts: 0,
    rateLimitedDrops: 0,
    geoLookups: 0,
  };
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly opts: ResolvedExternalOptions,
    private readonly geo: GeoIp | null,
    private readonly dns: ReverseDns | null,
  ) {
    this.cache = new Lru(opts.cacheSize);
    this.limiter = dns ? new RateLimiter(opts.maxLookupsPerSecond, opts.queueSize) : null;
  }

  peek(ip: string): ExternalName | null {
    return this.slot(ip)?.value ?? null;
  }

  /**
   * Starts what is missing and waits for the lookups of these addresses. Each one sent ends within
   * the timeout; ones waiting for the rate limit wait their turn (the queue is bounded, so the wait
   * is too: queueSize / maxLookupsPerSecond + timeoutMs at worst); dropped ones are not waited for.
   */
  async settle(ips: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const ip of ips) {
      const pending = this.slot(ip)?.pending;
      if (pending) waits.push(pending);
    }
    if (waits.length) await Promise.all(waits);
  }

  /** Stops lookups (waiting ones are dropped, sent ones cancelled); `peek` still answers from the cache. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.limiter?.close();
    this.dns?.close();
  }

  stats(): ExternalNamerStats {
    return {
      ...this.counters,
      geoErrors: this.geo?.errors ?? 0,
      evictions: this.cache.evictions,
      cached: this.cache.size,
      queued: this.limiter?.queued ?? 0,
      inFlight: this.inFlight,
    };
  }

  /** The slot for `ip`, made (and its lookup started) when missing; null when `ip` is not an address. */
  private slot(ip: string): Slot | null {
    const slot = this.cache.get(ip);
    if (slot) {
      const fresh = slot.expires === Number.POSITIVE_INFINITY || slot.expires > performance.now();
      if (fresh || slot.pending !== null) {
        this.counters.cacheHits++;
      } else {
        this.counters.cacheMisses++;
        this.lookUp(slot); // the stale answer is served until the new one comes
      }
      return slot;
    }
    const addr = lookupAddress(ip);
    if (addr === null) return null;
    this.counters.cacheMisses++;
    const scope = addressScope(addr);
    let geo = EMPTY;
    if (scope === 'public' && this.geo) {
      this.counters.geoLookups++;
      const g = this.geo.lookup(addr);
      if (Object.keys(g).length) geo = Object.freeze(g);
    }
    const reverse =
      this.dns !== null &&
      (scope === 'public' || (scope === 'private' && this.opts.privateRanges === 'lookup'));
    const made: Slot = {
      addr,
      geo,
      value: reverse && geo === EMPTY ? null : geo,
      expires: reverse ? 0 : Number.POSITIVE_INFINITY,
      pending: null,
    };
    this.cache.set(ip, made);
    if (reverse) this.lookUp(made);
    return made;
  }

  private lookUp(slot: Slot): void {
    const { dns, limiter } = this;
    if (this.closed || !dns || !limiter) return;
    let release!: () => void;
    slot.pending = new Promise<void>((r) => {
      release = r;
    });
    const end = () => {
      slot.pending = null;
      release();
    };
    const task: QueuedTask = {
      run: () => {
        this.counters.lookups++;
        this.inFlight++;
        void dns.lookup(slot.addr).then((answer) => {
          this.inFlight--;
          this.answer(slot, answer);
          end();
        });
      },
      cancel: end,
    };
    if (!limiter.submit(task)) {
      this.counters.rateLimitedDrops++;
      slot.expires = performance.now() + DROP_RETRY_MS;
      end();
    }
  }

  private answer(slot: Slot, a: PtrAnswer): void {
    if (this.closed) return;
    const now = performance.now();
    switch (a.kind) {
      case 'name':
        this.counters.names++;
        slot.value = Object.freeze({ dns: a.name, ...slot.geo });
        slot.expires = now + this.opts.ttlMs;
        break;
      case 'none':
        this.counters.notFound++;
        slot.value = slot.geo;
        slot.expires = now + this.opts.negativeTtlMs;
        break;
      case 'failure':
        this.counters.failures++;
        if (a.code === 'ETIMEOUT') this.counters.timeouts++;
        // A name found earlier outlives a failed refresh: the server being unreachable says nothing new.
        slot.value = slot.value ?? slot.geo;
        slot.expires = now + this.opts.negativeTtlMs;
        break;
    }
  }
}
