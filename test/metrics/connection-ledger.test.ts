/**
 * The connection ledger's caps against a plain model: an array in least-recently-updated order for
 * open connections, one in insertion order for closed ones. Random sequences of updates and closes
 * (fast-check) must leave the same connections open and closed, with the same evictions — the
 * ledger finds its oldest key with one long-lived Map iterator, which this checks is the oldest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConnectionLedger } from '../../src/metrics/connection-ledger.js';

type Op = { kind: 'update' | 'close'; key: number };

test('open and closed connections match an array model under random updates and closes', () => {
  const op = fc.record({
    kind: fc.constantFrom<'update' | 'close'>('update', 'update', 'close'),
    key: fc.nat(30),
  });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 8 }), (ops: Op[], cap) => {
      const ledger = new ConnectionLedger(cap, cap);
      const open: string[] = [];
      const closed: string[] = [];
      let evicted = 0;
      for (const { kind, key } of ops) {
        const k = `k${key}`;
        if (closed.includes(k)) continue; // the hub ignores records of closed connections
        if (kind === 'update') {
          ledger.state(k, 0, 0);
          const i = open.indexOf(k);
          if (i >= 0) open.splice(i, 1);
          else if (open.length >= cap) {
            open.shift();
            evicted++;
          }
          open.push(k);
        } else {
          ledger.close(k, 0);
          const i = open.indexOf(k);
          if (i >= 0) open.splice(i, 1);
          if (closed.length >= cap) closed.shift();
          closed.push(k);
        }
      }
      assert.equal(ledger.evicted, evicted);
      assert.equal(ledger.openCount, open.length);
      for (let key = 0; key <= 30; key++) {
        const k = `k${key}`;
        assert.equal(ledger.isOpen(k), open.includes(k), `open ${k}`);
        assert.equal(ledger.isClosed(k), closed.includes(k), `closed ${k}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('the TTL drops open and closed connections not seen for that long, oldest first', () => {
  const ledger = new ConnectionLedger(100, 100);
  ledger.state('a', 0, 1_000);
  ledger.state('b', 0, 2_000);
  ledger.close('c', 2_500);
  ledger.state('a', 0, 3_000); // a updated: now newer than b
  ledger.expire(5_500, 3_000); // drops what was last seen before 2,500
  assert.equal(ledger.isOpen('a'), true);
  assert.equal(ledger.isOpen('b'), false);
  assert.equal(ledger.isClosed('c'), true);
  ledger.expire(5_501, 3_000);
  assert.equal(ledger.isClosed('c'), false);
  assert.equal(ledger.openCount, 1);
});
