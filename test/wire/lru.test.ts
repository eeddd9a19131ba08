/**
 * The least-recently-used map: its order (exact but for the youngest quarter), the capacity, delete,
 * clear, peek, iteration, and onEvict (called for an entry dropped for room, and only then).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Lru } from '../../src/wire/lru.js';

describe('LRU', () => {
  test('a hit keeps an entry; the least recently used goes when full', () => {
    const l = new Lru<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    assert.equal(l.get('a'), 1);
    l.set('c', 3);
    assert.equal(l.has('b'), false);
    assert.equal(l.get('a'), 1);
    assert.equal(l.get('c'), 3);
    assert.equal(l.size, 2);
    assert.equal(l.evictions, 1);
    l.set('a', 10); // replacing is not growing
    assert.equal(l.size, 2);
    assert.equal(l.evictions, 1);
  });
  test('a hit on one of the youngest quarter is not moved; an older one is', () => {
    const l = new Lru<string, number>(8);
    for (let i = 0; i < 8; i++) l.set(`k${i}`, i);
    l.get('k0'); // oldest: moved to the young end
    l.get('k7'); // youngest: stays
    l.set('k8', 8);
    assert.equal(l.has('k0'), true);
    assert.equal(l.has('k1'), false, 'k1 is the least recently used now');
    // Every key survives as long as it is asked about more often than a quarter of the capacity turns over.
    for (let i = 9; i < 200; i++) {
      l.set(`k${i}`, i);
      assert.equal(l.get('k0'), 0);
    }
  });
});

/** An Lru that records its onEvict calls, with the map's state seen from inside each call. */
function recording<K, V>(capacity: number) {
  const calls: { key: K; value: V; present: boolean; size: number }[] = [];
  const l: Lru<K, V> = new Lru<K, V>(capacity, (key, value) =>
    calls.push({ key, value, present: l.has(key), size: l.size }),
  );
  return { l, calls };
}

describe('LRU: dropping entries', () => {
  test('the capacity must be a whole number of at least 1', () => {
    assert.throws(() => new Lru(0), RangeError);
    assert.throws(() => new Lru(-1), RangeError);
    assert.throws(() => new Lru(1.5), RangeError);
    assert.equal(new Lru(1).capacity, 1);
  });

  test('onEvict gets the dropped key and value, once, after it left the map, only when full', () => {
    const { l, calls } = recording<string, number>(3);
    l.set('a', 1);
    l.set('b', 2);
    l.set('c', 3);
    assert.equal(calls.length, 0, 'nothing dropped while there is room');
    l.set('d', 4);
    assert.deepEqual(calls, [{ key: 'a', value: 1, present: false, size: 3 }]);
    assert.equal(l.evictions, 1);
    assert.equal(l.size, 3);
    assert.deepEqual([...l.keys()], ['b', 'c', 'd']);
    l.set('e', 5);
    assert.deepEqual(
      calls.map((c) => [c.key, c.value]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    assert.equal(l.evictions, 2);
  });

  test('onEvict gets the latest value stored under the key', () => {
    const { l, calls } = recording<string, string>(2);
    l.set('a', 'first');
    l.set('b', 'b');
    l.set('a', 'second'); // replacing: no call, and 'a' is the most recent now
    assert.equal(calls.length, 0);
    assert.equal(l.size, 2);
    l.set('c', 'c');
    assert.deepEqual(
      calls.map((c) => [c.key, c.value]),
      [['b', 'b']],
    );
    l.set('d', 'd');
    assert.deepEqual(
      calls.map((c) => [c.key, c.value]),
      [
        ['b', 'b'],
        ['a', 'second'],
      ],
    );
  });

  test('a capacity of 1 keeps the last entry only', () => {
    const { l, calls } = recording<number, number>(1);
    l.set(1, 10);
    l.set(2, 20);
    assert.deepEqual([...l], [[2, 20]]);
    assert.deepEqual(
      calls.map((c) => [c.key, c.value]),
      [[1, 10]],
    );
    assert.equal(l.get(1), undefined);
  });

  test('delete removes an entry without onEvict, and makes room', () => {
    const { l, calls } = recording<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    assert.equal(l.delete('a'), true);
    assert.equal(l.delete('a'), false, 'gone already');
    assert.equal(l.delete('zz'), false, 'never there');
    assert.equal(l.has('a'), false);
    assert.equal(l.get('a'), undefined);
    assert.equal(l.size, 1);
    l.set('c', 3); // fills the room delete made: nothing dropped
    assert.equal(calls.length, 0);
    assert.equal(l.evictions, 0);
    assert.deepEqual([...l.keys()], ['b', 'c']);
    l.set('d', 4);
    assert.deepEqual(
      calls.map((c) => [c.key, c.value]),
      [['b', 2]],
    );
  });

  test('clear removes everything without onEvict and keeps the count of evictions', () => {
    const { l, calls } = recording<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    l.set('c', 3);
    assert.equal(calls.length, 1);
    l.clear();
    assert.equal(calls.length, 1, 'clear calls no onEvict');
    assert.equal(l.size, 0);
    assert.equal(l.has('b'), false);
    assert.equal(l.get('c'), undefined);
    assert.deepEqual([...l], []);
    assert.equal(l.evictions, 1, 'clear does not reset the count');
    l.set('x', 9);
    l.set('y', 8);
    assert.equal(calls.length, 1, 'the full capacity is there again');
    l.set('z', 7);
    assert.deepEqual(calls.at(-1), { key: 'x', value: 9, present: false, size: 2 });
    assert.equal(l.evictions, 2);
  });

  test('peek answers without making an entry more recent', () => {
    const { l, calls } = recording<string, number>(2);
    l.set('a', 1);
    l.set('b', 2);
    assert.equal(l.peek('a'), 1);
    assert.equal(l.peek('zz'), undefined);
    l.set('c', 3);
    assert.deepEqual(
      calls.map((c) => c.key),
      ['a'],
      'peeked at, still the least recently used',
    );
  });

  test('a hit within the youngest quarter keeps its place; the order shows it', () => {
    const l = new Lru<string, number>(8); // young: put at the end within the last 8/4 = 2 operations
    for (let i = 0; i < 8; i++) l.set(`k${i}`, i);
    l.get('k5'); // 2 operations old: young, stays before k6 and k7
    assert.deepEqual([...l.keys()], ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
    l.get('k4'); // 3 operations old: moved to the end
    assert.deepEqual([...l.keys()], ['k0', 'k1', 'k2', 'k3', 'k5', 'k6', 'k7', 'k4']);
  });

  test('keys, values, entries and the iterator go least recently used first', () => {
    const l = new Lru<string, number>(3);
    l.set('a', 1);
    l.set('b', 2);
    l.set('c', 3);
    l.get('a'); // capacity 3: no young quarter, a hit always moves
    assert.deepEqual([...l.keys()], ['b', 'c', 'a']);
    assert.deepEqual([...l.values()], [2, 3, 1]);
    assert.deepEqual(
      [...l.entries()],
      [
        ['b', 2],
        ['c', 3],
        ['a', 1],
      ],
    );
    assert.deepEqual([...l], [...l.entries()]);
    for (const k of l.keys()) if (k !== 'c') l.delete(k); // deleting while walking
    assert.deepEqual([...l], [['c', 3]]);
  });
});

type Op = { op: 'set'; key: number; value: number } | { op: 'get' | 'delete'; key: number } | { op: 'clear' };
const ops = fc.array(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.nat(20), value: fc.nat() }),
    },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), key: fc.nat(20) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat(20) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
  ),
  { maxLength: 300 },
) as fc.Arbitrary<Op[]>;

describe('LRU against a model', () => {
  test('below a capacity of 4 (no young quarter) it is an exact LRU, onEvict included', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), ops, (capacity, script) => {
        const { l, calls } = recording<number, number>(capacity);
        const model = new Map<number, number>(); // insertion order = least recently used first
        const dropped: [number, number][] = [];
        for (const o of script) {
          if (o.op === 'set') {
            model.delete(o.key);
            model.set(o.key, o.value);
            if (model.size > capacity) {
              const [k, v] = model.entries().next().value as [number, number];
              model.delete(k);
              dropped.push([k, v]);
            }
            l.set(o.key, o.value);
          } else if (o.op === 'get') {
            const v = model.get(o.key);
            if (v !== undefined) {
              model.delete(o.key);
              model.set(o.key, v);
            }
            assert.equal(l.get(o.key), v);
          } else if (o.op === 'delete') {
            assert.equal(l.delete(o.key), model.delete(o.key));
          } else {
            model.clear();
            l.clear();
          }
          assert.deepEqual([...l], [...model]);
          assert.deepEqual(
            calls.map((c) => [c.key, c.value]),
            dropped,
          );
          assert.equal(l.evictions, dropped.length);
        }
      }),
    );
  });

  test('at any capacity: never more than it, and every entry gone was deleted, cleared or passed to onEvict', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), ops, (capacity, script) => {
        const { l, calls } = recording<number, number>(capacity);
        const live = new Map<number, number>(); // what should be there: key -> last value stored
        for (const o of script) {
          const before = calls.length;
          if (o.op === 'set') {
            const full = !live.has(o.key) && live.size === capacity;
            live.set(o.key, o.value);
            l.set(o.key, o.value);
            assert.equal(calls.length - before, full ? 1 : 0, 'onEvict exactly when a new key finds it full');
            if (full) {
              const c = calls.at(-1)!;
              assert.notEqual(c.key, o.key, 'never the entry just stored');
              assert.equal(c.value, live.get(c.key), 'the value it held');
              assert.equal(c.present, false);
              assert.equal(c.size, capacity);
              live.delete(c.key);
            }
          } else if (o.op === 'get') {
            assert.equal(l.get(o.key), live.get(o.key));
          } else if (o.op === 'delete') {
            assert.equal(l.delete(o.key), live.delete(o.key));
          } else {
            live.clear();
            l.clear();
          }
          if (o.op !== 'set') assert.equal(calls.length, before, `no onEvict on ${o.op}`);
          assert.ok(l.size <= capacity);
          assert.equal(l.size, live.size);
          assert.deepEqual(new Map(l), live);
          assert.equal(l.evictions, calls.length);
        }
      }),
    );
  });
});
