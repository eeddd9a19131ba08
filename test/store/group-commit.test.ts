/**
 * groupWait, the writer thread's group commit decision (src/store/writer.ts): how long the writes at
 * the head of its queue wait for more to share their transaction. The thread itself is tested in
 * writer-thread.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type GroupCommit,
  groupWait,
  type PreparedBatch,
  type WriterRequest,
} from '../../src/store/writer.js';

const g: GroupCommit = { rows: 1000, lingerMs: 20 };
const batch = (rows: number): PreparedBatch => ({
  source: null,
  rows: Array.from({ length: rows }, () => []),
  connections: [],
});
const write = (...rows: number[]): WriterRequest => ({ n: 0, kind: 'write', batches: rows.map(batch) });
const retention: WriterRequest = { n: 0, kind: 'retention', limits: {}, nowUs: 0, keepSegmentsFrom: 0 };

test('no waiting when the writes do not keep coming (the last commit is older than the linger)', () => {
  assert.equal(groupWait([write(10)], 1000, Number.NEGATIVE_INFINITY, 1000, g), 0);
  assert.equal(groupWait([write(10)], 1000, 980, 1000, g), 0);
});

test('under load, a small transaction waits what is left of the linger since its oldest write', () => {
  assert.equal(groupWait([write(10)], 1000, 990, 1000, g), 20);
  assert.equal(groupWait([write(10), write(300, 300)], 1005, 990, 1000, g), 15);
  // Waited long enough already.
  assert.equal(groupWait([write(10)], 1020, 1010, 1000, g), 0);
  assert.equal(groupWait([write(10)], 1030, 1025, 1000, g), 0);
});

test('no waiting once the queued writes hold enough rows', () => {
  assert.equal(groupWait([write(500), write(499)], 1000, 995, 1000, g), 20);
  assert.equal(groupWait([write(500), write(500)], 1000, 995, 1000, g), 0);
  assert.equal(groupWait([write(1000)], 1000, 995, 1000, g), 0);
});

test('never in front of a retention or a close, never with a linger of 0', () => {
  assert.equal(groupWait([write(10), retention], 1000, 995, 1000, g), 0);
  assert.equal(groupWait([write(10), { n: 0, kind: 'close' }], 1000, 995, 1000, g), 0);
  assert.equal(groupWait([write(10)], 1000, 995, 1000, { rows: 1000, lingerMs: 0 }), 0);
});
