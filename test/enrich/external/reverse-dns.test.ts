/**
 * Reverse DNS against a real DNS server: dnsmasq on 127.0.0.1 knows a few PTR names and answers
 * NXDOMAIN for the rest; its query log is the independent count of what the namer asked. Plus a
 * UDP port that never answers, for timeouts.
 */
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createExternalNamer,
  type ExternalName,
  type ExternalNamerOptions,
  type ExternalNamerWithStats,
} from '../../../src/enrich/external/index.js';
import { buildMmdb } from '../../support/mmdb-writer.js';
import { Dnsmasq, dnsmasqMissing, inAddrArpa, SilentServer } from './dns-servers.js';

const HOSTS = {
  'web.example.test': '203.0.113.7',
  'api.example.test': '203.0.113.8',
  'v6.example.test': '2001:db8::7',
  'gw.internal.test': '10.1.2.3',
};
const V6_ARPA = '7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

const skip = dnsmasqMissing() ?? false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `f()` holds (polling), failing after `ms`. */
async function until(f: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!f()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('reverse DNS against dnsmasq', { skip }, () => {
  let dns: Dnsmasq;
  const namers: ExternalNamerWithStats[] = [];
  before(async () => {
    dns = await Dnsmasq.start(HOSTS);
  });
  after(async () => {
    for (const n of namers) n.close();
    await dns?.stop();
  });

  async function namer(o: Partial<ExternalNamerOptions> = {}): Promise<ExternalNamerWithStats> {
    const n = await createExternalNamer({ dnsServers: [dns.server], ...o });
    namers.push(n);
    return n;
  }
  /** PTR queries dnsmasq logged for `arpa` so far (after a short wait for its log to flush). */
  async function queriesFor(arpa: string): Promise<number> {
    await sleep(100);
    return dns.ptrQueries().filter((q) => q === arpa).length;
  }

  test('names IPv4 and IPv6 addresses with their PTR names; NXDOMAIN is an empty answer', async () => {
    const n = await namer();
    const ips = ['203.0.113.7', '203.0.113.8', '2001:db8::7', '203.0.113.99'];
    const before = dns.ptrQueries().length;
    // Nothing is known before the answers come (no GeoIP files): null, returned at once.
    for (const ip of ips) assert.equal(n.peek(ip), null);
    await n.settle(ips);
    assert.deepEqual(n.peek('203.0.113.7'), { dns: 'web.example.test' });
    assert.deepEqual(n.peek('203.0.113.8'), { dns: 'api.example.test' });
    assert.deepEqual(n.peek('2001:db8::7'), { dns: 'v6.example.test' });
    assert.deepEqual(n.peek('203.0.113.99'), {});
    await sleep(100);
    // The questions dnsmasq saw are the reverse names of exactly these addresses (RFC 1035 §3.5, RFC 3596 §2.5).
    assert.deepEqual(
      dns.ptrQueries().slice(before).sort(),
      [inAddrArpa('203.0.113.7'), inAddrArpa('203.0.113.8'), V6_ARPA, inAddrArpa('203.0.113.99')].sort(),
    );
    const s = n.stats();
    assert.equal(s.lookups, 4);
    assert.equal(s.names, 3);
    assert.equal(s.notFound, 1);
    assert.equal(s.failures, 0);
  });

  test('GeoIP answers at once, the PTR name joins it when it comes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwire-rdns-geo-'));
    try {
      const cityDb = join(dir, 'city.mmdb');
      const place = (iso: string, en: string) => ({ country: { iso_code: iso }, city: { names: { en } } });
      const nets = [
        { network: '203.0.113.0/24', data: place('DE', 'Berlin') },
        { network: '10.0.0.0/8', data: place('XX', 'Made Up') },
      ];
      writeFileSync(cityDb, buildMmdb(nets, { ipVersion: 6, recordSize: 24, databaseType: 'GeoLite2-City' }));
      const n = await namer({ cityDb });
      assert.deepEqual(n.peek('203.0.113.7'), { country: 'DE', city: 'Berlin' });
      assert.equal(n.peek('10.1.2.3'), null, 'private: no GeoIP, and no name yet');
      await n.settle(['203.0.113.7', '10.1.2.3']);
      assert.deepEqual(n.peek('203.0.113.7'), { dns: 'web.example.test', country: 'DE', city: 'Berlin' });
      assert.deepEqual(n.peek('10.1.2.3'), { dns: 'gw.internal.test' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an IPv4-mapped IPv6 address is looked up as its IPv4 address', async () => {
    const n = await namer();
    await n.settle(['::ffff:203.0.113.7']);
    assert.deepEqual(n.peek('::ffff:203.0.113.7'), { dns: 'web.example.test' });
  });

  test('answers, names and NXDOMAIN alike, are cached: asking again sends nothing', async () => {
    const n = await namer();
    const ips = ['203.0.113.7', '203.0.113.98'];
    await n.settle(ips);
    const sent = await queriesFor(inAddrArpa('203.0.113.98'));
    assert.equal(sent, 1);
    const hits = n.stats().cacheHits;
    for (let i = 0; i < 100; i++) for (const ip of ips) n.peek(ip);
    await n.settle(ips);
    assert.equal(await queriesFor(inAddrArpa('203.0.113.98')), 1, 'the negative answer was cached');
    const s = n.stats();
    assert.equal(s.lookups, 2);
    assert.equal(s.cacheHits, hits + 202);
    assert.deepEqual(n.peek('203.0.113.98'), {});
  });

  test('peek never waits: synchronous, and a cached answer creates no async resource at all', async () => {
    const n = await namer();
    await n.settle(['203.0.113.7', '203.0.113.97']);
    // The type says it (a Promise would not be assignable), and so does the value.
    const answer: ExternalName | null = n.peek('203.0.113.7');
    assert.ok(!(answer instanceof Promise));
    // No promise, timer, socket or DNS request is created while cached answers are read.
    let created = 0;
    const hook = createHook({
      init() {
        created++;
      },
    });
    hook.enable();
    const t0 = performance.now();
    for (let i = 0; i < 50_000; i++) {
      n.peek('203.0.113.7');
      n.peek('203.0.113.97');
    }
    const elapsed = performance.now() - t0;
    hook.disable();
    assert.equal(created, 0);
    assert.ok(elapsed < 500, `100k cached peeks took ${elapsed.toFixed(0)} ms`);
    assert.equal(n.stats().lookups, 2);
  });

  test('answers expire: a name after ttlMs, "no name" after negativeTtlMs; the stale name is served meanwhile', async () => {
    const n = await namer({ ttlMs: 400, negativeTtlMs: 200 });
    const name = inAddrArpa('203.0.113.7');
    const none = inAddrArpa('203.0.113.96');
    const [name0, none0] = [await queriesFor(name), await queriesFor(none)];
    await n.settle(['203.0.113.7', '203.0.113.96']);
    await sleep(250); // past the negative TTL only
    n.peek('203.0.113.7');
    n.peek('203.0.113.96');
    assert.equal(await queriesFor(name), name0 + 1);
    assert.equal(await queriesFor(none), none0 + 2);
    await sleep(200); // now past the positive TTL too
    assert.deepEqual(n.peek('203.0.113.7'), { dns: 'web.example.test' }, 'stale while the refresh runs');
    await n.settle(['203.0.113.7']);
    assert.equal(await queriesFor(name), name0 + 2);
    assert.deepEqual(n.peek('203.0.113.7'), { dns: 'web.example.test' });
  });

  test('the rate limit holds: at most N queries start in any second, the rest wait their turn', async () => {
    const rate = 10;
    const n = await namer({ maxLookupsPerSecond: rate });
    const ips = Array.from({ length: 25 }, (_, i) => `198.51.100.${i + 1}`);
    const arpas = new Set(ips.map(inAddrArpa));
    const logged = () => dns.ptrQueries().filter((q) => arpas.has(q)).length;
    const t0 = performance.now();
    for (const ip of ips) n.peek(ip);
    assert.equal(n.stats().queued, 15);
    const samples: { t: number; count: number }[] = [];
    while (performance.now() - t0 < 6000) {
      const count = logged();
      samples.push({ t: performance.now() - t0, count });
      if (count === ips.length) break;
      await sleep(20);
    }
    const last = samples.at(-1)!;
    assert.equal(last.count, 25, 'every query was sent in the end');
    // The 11th start waits for the 1st to be a second old, the 21st for the 11th.
    for (const s of samples) {
      if (s.t < 1000) assert.ok(s.count <= rate, `${s.count} queries by ${s.t.toFixed(0)} ms`);
      if (s.t < 2000) assert.ok(s.count <= 2 * rate, `${s.count} queries by ${s.t.toFixed(0)} ms`);
    }
    assert.ok(last.t >= 2000, `25 queries at 10/s took only ${last.t.toFixed(0)} ms`);
    assert.ok(last.t < 3500, `25 queries at 10/s took ${last.t.toFixed(0)} ms`);
    // The first burst of N went at once.
    assert.ok(samples.some((s) => s.t < 500 && s.count === rate));
    await n.settle(ips);
    assert.equal(n.stats().lookups, 25);
  });

  test('the queue is bounded: lookups past it are dropped and counted, not sent', async () => {
    const n = await namer({ maxLookupsPerSecond: 5, queueSize: 3 });
    const ips = Array.from({ length: 12 }, (_, i) => `198.51.100.${100 + i}`);
    const arpas = new Set(ips.map(inAddrArpa));
    for (const ip of ips) n.peek(ip);
    let s = n.stats();
    assert.equal(s.rateLimitedDrops, 4);
    assert.equal(s.queued, 3);
    const t0 = performance.now();
    await n.settle(ips); // waits for the 8 under way (the queued 3 a second later), not the dropped 4
    const waited = performance.now() - t0;
    assert.ok(waited >= 900 && waited < 2500, `settle waited ${waited.toFixed(0)} ms`);
    await sleep(100);
    assert.equal(dns.ptrQueries().filter((q) => arpas.has(q)).length, 8);
    s = n.stats();
    assert.equal(s.lookups, 8);
    assert.equal(s.queued, 0);
  });

  test('reverseDns: false sends no query at all', async () => {
    const n = await namer({ reverseDns: false });
    const before = dns.ptrQueries().length;
    const ips = ['203.0.113.7', '2001:db8::7', '10.1.2.3'];
    for (const ip of ips) assert.deepEqual(n.peek(ip), {});
    await n.settle(ips);
    await sleep(150);
    assert.equal(dns.ptrQueries().length, before);
    assert.equal(n.stats().lookups, 0);
  });

  test('private ranges: looked up by default, skipped on request; multicast and unspecified never', async () => {
    const arpa = inAddrArpa('10.1.2.3');
    const n1 = await namer();
    const q0 = await queriesFor(arpa);
    await n1.settle(['10.1.2.3']);
    assert.deepEqual(n1.peek('10.1.2.3'), { dns: 'gw.internal.test' });
    assert.equal(await queriesFor(arpa), q0 + 1);

    const n2 = await namer({ privateRanges: 'skip' });
    const before = dns.ptrQueries().length;
    const ips = ['10.1.2.3', '192.168.1.1', '172.16.0.1', '100.64.0.1', '127.0.0.1', '169.254.1.1'];
    ips.push('fd00::1', 'fe80::1', '::1', '224.0.0.251', '255.255.255.255', '0.0.0.0', 'ff02::fb', '::');
    for (const ip of ips) assert.deepEqual(n2.peek(ip), {});
    await n2.settle(ips);
    await sleep(150);
    assert.equal(dns.ptrQueries().length, before);
    assert.equal(n2.stats().lookups, 0);
  });

  test('something that is not an address is answered null and never looked up', async () => {
    const n = await namer();
    for (const x of ['', 'example.com', '1.2.3', '1.2.3.4.5', '2001:db8::g', '::ffff:1.2.3']) {
      assert.equal(n.peek(x), null);
    }
    assert.equal(n.stats().lookups, 0);
    assert.equal(n.stats().cached, 0);
  });

  test('the cache is bounded: least recently used addresses go first', async () => {
    const n = await namer({ cacheSize: 3 });
    const ips = ['203.0.113.7', '203.0.113.8', '203.0.113.95'];
    await n.settle(ips);
    n.peek('203.0.113.7'); // most recent now: .8 is the oldest
    await n.settle(['203.0.113.94']);
    const s = n.stats();
    assert.equal(s.cached, 3);
    assert.equal(s.evictions, 1);
    const arpa8 = inAddrArpa('203.0.113.8');
    const arpa7 = inAddrArpa('203.0.113.7');
    const [q8, q7] = [await queriesFor(arpa8), await queriesFor(arpa7)];
    await n.settle(['203.0.113.7']); // kept
    await n.settle(['203.0.113.8']); // evicted: asked again
    assert.equal(await queriesFor(arpa7), q7);
    assert.equal(await queriesFor(arpa8), q8 + 1);
  });

  test('close ends waiting and running lookups; settle returns at once after it', async () => {
    const n = await namer({ maxLookupsPerSecond: 1 });
    const ips = ['198.51.100.200', '198.51.100.201', '198.51.100.202'];
    for (const ip of ips) n.peek(ip);
    assert.equal(n.stats().queued, 2);
    const settled = n.settle(ips);
    n.close();
    const t0 = performance.now();
    await settled;
    assert.ok(performance.now() - t0 < 200);
    assert.equal(n.stats().queued, 0);
    // After close, peek answers from the cache and starts nothing.
    n.peek('198.51.100.203');
    assert.equal(n.stats().lookups, 1);
  });
});

describe('reverse DNS against a server that does not answer', { skip }, () => {
  let silent: SilentServer;
  let silent2: SilentServer;
  before(async () => {
    silent = await SilentServer.start();
    silent2 = await SilentServer.start();
  });
  after(async () => {
    await silent?.stop();
    await silent2?.stop();
  });

  test('each lookup fails after timeoutMs, settle returns then, and the failure is cached', async () => {
    const n = await createExternalNamer({ dnsServers: [silent.server], timeoutMs: 300 });
    try {
      const ips = ['203.0.113.7', '203.0.113.8', '2001:db8::7'];
      const t0 = performance.now();
      for (const ip of ips) n.peek(ip);
      await n.settle(ips);
      const waited = performance.now() - t0;
      assert.ok(waited >= 280 && waited < 800, `settle waited ${waited.toFixed(0)} ms`);
      await until(() => silent.received >= 3, 500, 'the queries to reach the silent server');
      for (const ip of ips) assert.deepEqual(n.peek(ip), {});
      const s = n.stats();
      assert.equal(s.failures, 3, JSON.stringify(s));
      assert.equal(s.timeouts, 3);
      assert.equal(s.inFlight, 0);
      // Cached as a failure (negative TTL): no new query.
      const received = silent.received;
      await n.settle(ips);
      await sleep(100);
      assert.equal(silent.received, received);
    } finally {
      n.close();
    }
  });

  test('with several silent servers the wait is still one timeout, not one per server', async () => {
    const n = await createExternalNamer({ dnsServers: [silent.server, silent2.server], timeoutMs: 300 });
    try {
      const t0 = performance.now();
      await n.settle(['198.51.100.77']);
      const waited = performance.now() - t0;
      assert.ok(waited >= 280 && waited < 550, `settle waited ${waited.toFixed(0)} ms`);
      assert.equal(n.stats().timeouts, 1);
    } finally {
      n.close();
    }
  });
});
