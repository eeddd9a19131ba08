/**
 * The namer's small parts: address scopes (by the RFCs' ranges), the rate limiter's window and queue
 * (its LRU cache is tested in test/wire/lru.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressScope, lookupAddress } from '../../../src/enrich/external/addresses.js';
import { RateLimiter } from '../../../src/enrich/external/rate-limiter.js';

describe('address scopes', () => {
  const table: [string, 'public' | 'private' | 'special'][] = [
    ['203.0.113.7', 'public'],
    ['8.8.8.8', 'public'],
    ['10.0.0.1', 'private'], // RFC 1918
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['192.168.0.1', 'private'],
    ['192.169.0.1', 'public'],
    ['100.64.0.0', 'private'], // RFC 6598
    ['100.127.255.255', 'private'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'private'],
    ['169.254.169.254', 'private'], // RFC 3927 (cloud metadata lives here)
    ['0.0.0.0', 'special'],
    ['224.0.0.251', 'special'],
    ['239.255.255.250', 'special'],
    ['255.255.255.255', 'special'],
    ['2001:db8::1', 'public'],
    ['2a00:1450::1', 'public'],
    ['fc00::1', 'private'], // RFC 4193
    ['fdff:ffff::1', 'private'],
    ['fe80::1', 'private'],
    ['febf::1', 'private'],
    ['fec0::1', 'public'], // deprecated site-local: not in the list, looked up
    ['::1', 'private'],
    ['0:0:0:0:0:0:0:1', 'private'],
    ['::', 'special'],
    ['ff02::fb', 'special'],
    ['fe80::1%eth0', 'private'],
  ];
  for (const [ip, scope] of table) {
    test(`${ip} is ${scope}`, () => assert.equal(addressScope(lookupAddress(ip)!), scope));
  }
  test('IPv4-mapped IPv6 addresses are looked up as IPv4', () => {
    assert.equal(lookupAddress('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(lookupAddress('::ffff:cb00:7107'), '203.0.113.7');
    assert.equal(lookupAddress('0:0:0:0:0:ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(lookupAddress('::ffff:0:203.0.113.7'), '::ffff:0:203.0.113.7'); // SIIT, not mapped
    assert.equal(lookupAddress('2001:db8::7'), '2001:db8::7');
    assert.equal(lookupAddress('example.com'), null);
    assert.equal(lookupAddress('1.2.3.256'), null);
  });
});

describe('rate limiter', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  function tasks(n: number) {
    const ran: number[] = [];
    const cancelled: number[] = [];
    const list = Array.from({ length: n }, (_, i) => ({
      run: () => ran.push(i),
      cancel: () => cancelled.push(i),
    }));
    return { ran, cancelled, list };
  }

  test('N at once, the queue next, the rest refused; the queue runs when the window moves', async () => {
    const l = new RateLimiter(20, 5);
    const { ran, list } = tasks(30);
    const accepted = list.map((t) => l.submit(t));
    assert.deepEqual(
      ran,
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.equal(accepted.filter(Boolean).length, 25);
    assert.equal(l.queued, 5);
    await sleep(500);
    assert.equal(ran.length, 20, 'nothing more within the second');
    await sleep(650);
    assert.deepEqual(ran.slice(20), [20, 21, 22, 23, 24], 'the queue in order');
    assert.equal(l.queued, 0);
    l.close();
  });

  test('a fractional rate: 2.5/s is 2 per 800 ms', async () => {
    const l = new RateLimiter(2.5, 10);
    const { ran, list } = tasks(4);
    const t0 = performance.now();
    for (const t of list) l.submit(t);
    assert.equal(ran.length, 2);
    while (ran.length < 4 && performance.now() - t0 < 2000) await sleep(10);
    const took = performance.now() - t0;
    assert.equal(ran.length, 4);
    assert.ok(took >= 790 && took < 1500, `${took.toFixed(0)} ms`);
    l.close();
  });

  test('close cancels what waits and refuses more', () => {
    const l = new RateLimiter(1, 5);
    const { ran, cancelled, list } = tasks(3);
    for (const t of list) l.submit(t);
    l.close();
    assert.deepEqual(ran, [0]);
    assert.deepEqual(cancelled, [1, 2]);
    assert.equal(l.submit({ run: () => ran.push(9), cancel: () => {} }), false);
  });
});
