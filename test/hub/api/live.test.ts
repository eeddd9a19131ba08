import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../../../src/dissect/entry.js';
import { LiveFeed } from '../../../src/hub/live.js';

function entry(i: number, protocol: Entry['protocol'] = 'http'): Entry {
  return {
    type: 'entry',
    id: `1-${i}`,
    protocol,
    timestamp: 1_764_752_400_000_000 + i,
    elapsedMs: 1,
    src: { ip: '10.0.0.1', port: 40000 },
    dst: { ip: '10.0.0.2', port: 80 },
    method: 'GET',
    path: `/${i}`,
    status: 200,
    request: {},
    response: {},
    requestSize: 10,
    responseSize: 10,
    connectionId: 1,
    error: null,
  };
}

test('each subscriber gets the entries its filter accepts, in publish order', () => {
  const feed = new LiveFeed();
  const all: string[] = [];
  const even: string[] = [];
  feed.subscribe(null, (e) => all.push(e.id));
  feed.subscribe(
    (e) => Number(e.id.split('-')[1]) % 2 === 0,
    (e) => even.push(e.id),
  );
  for (let i = 0; i < 6; i++) feed.publish(entry(i));
  assert.deepEqual(all, ['1-0', '1-1', '1-2', '1-3', '1-4', '1-5']);
  assert.deepEqual(even, ['1-0', '1-2', '1-4']);
  assert.deepEqual(feed.stats(), {
    subscribers: 2,
    published: 6,
    delivered: 9,
    filterErrors: 0,
    sinkErrors: 0,
  });
});

test('setFilter applies from the next publish; unsubscribe stops delivery, even from inside a sink', () => {
  const feed = new LiveFeed();
  const got: string[] = [];
  const other: string[] = [];
  const sub = feed.subscribe(null, (e) => {
    got.push(e.id);
    if (got.length === 3) sub.unsubscribe();
  });
  const sub2 = feed.subscribe(null, (e) => other.push(e.id));
  feed.publish(entry(0, 'redis'));
  sub2.setFilter((e) => e.protocol === 'redis');
  for (let i = 1; i < 6; i++) feed.publish(entry(i, i % 2 ? 'http' : 'redis'));
  assert.deepEqual(got, ['1-0', '1-1', '1-2']);
  assert.deepEqual(other, ['1-0', '1-2', '1-4']);
  assert.equal(sub.delivered, 3);
  sub.unsubscribe();
  assert.equal(feed.stats().subscribers, 1);
});

test('a throwing filter or sink is counted and does not stop the others', () => {
  const feed = new LiveFeed();
  const got: string[] = [];
  feed.subscribe(
    () => {
      throw new Error('bad filter');
    },
    () => {},
  );
  feed.subscribe(null, () => {
    throw new Error('bad sink');
  });
  feed.subscribe(null, (e) => got.push(e.id));
  feed.publish(entry(0));
  assert.deepEqual(got, ['1-0']);
  const s = feed.stats();
  assert.equal(s.filterErrors, 1);
  assert.equal(s.sinkErrors, 1);
});

test('publishing with no subscribers costs next to nothing', () => {
  const feed = new LiveFeed();
  const e = entry(0);
  const n = 2_000_000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) feed.publish(e);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  assert.equal(feed.stats().published, n);
  // Typically a few ns; 100 ns leaves room for a loaded 2-core machine.
  assert.ok(ns < 100, `${ns.toFixed(1)} ns per publish`);
});
