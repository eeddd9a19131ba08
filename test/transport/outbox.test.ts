/**
 * The agent's queue of unacknowledged batches (src/transport/outbox.ts) over a real spool
 * directory (src/transport/spool.ts): order across memory and disk, acks, replay after a rewind,
 * the watermark of a welcome, rebase, survival across a restart, torn and corrupt files, and
 * drops that are counted when memory or the spool is full.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BatchBuilder } from '../../src/transport/batch.js';
import { SpoolError } from '../../src/transport/errors.js';
import { MEM_OVERHEAD, Outbox, type OutgoingBatch } from '../../src/transport/outbox.js';
import { Spool } from '../../src/transport/spool.js';
import { removeDir, segmentFiles, tempDir } from './fixtures.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});
function dir(): string {
  const d = tempDir('outbox');
  dirs.push(d);
  return d;
}

/**
 * A sealed batch (head room and body) of `records` records, each `pad` characters of payload,
 * tagged with `tag` to find it again.
 */
function body(tag: number, records = 1, pad = 100): Buffer {
  const b = new BatchBuilder(1 << 20);
  for (let i = 0; i < records; i++) b.add('entry', JSON.stringify({ tag, i, pad: 'x'.repeat(pad) }));
  return b.seal()!.room;
}

/** What a sent frame carries, parsed as the hub would. */
function parse(b: OutgoingBatch): { seq: number; tag: number; entries: number } {
  const text = b.frame.toString('utf8');
  const m = JSON.parse(text) as {
    type: string;
    seq: number;
    entries: { tag: number }[];
    connections: unknown[];
  };
  assert.equal(m.type, 'batch');
  assert.equal(m.seq, b.seq);
  assert.deepEqual(m.connections, []);
  return { seq: m.seq, tag: m.entries[0]!.tag, entries: m.entries.length };
}

function drain(o: Outbox, max = 1_000_000): OutgoingBatch[] {
  const out: OutgoingBatch[] = [];
  for (let b = o.next(); b && out.length < max; b = out.length < max ? o.next() : null) out.push(b);
  return out;
}

const log = () => {};

function open(root: string, agent = 'a1', segmentBytes = 4096) {
  return Spool.open(root, agent, segmentBytes);
}

describe('outbox in memory', () => {
  test('sends in seq order, acks are cumulative, a rewind sends the unacknowledged again', () => {
    const o = new Outbox({ maxMemoryBytes: 1 << 20, maxSpoolBytes: 0, spool: null, log });
    for (let t = 1; t <= 5; t++) o.push(body(t, 2), 2);
    assert.equal(o.queuedRecords, 10);
    const first = drain(o, 3).map(parse);
    assert.deepEqual(
      first.map((b) => [b.seq, b.tag]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    );
    assert.equal(o.inFlight, 3);
    assert.equal(o.ack(2), 4); // seqs 1 and 2
    assert.equal(o.inFlight, 1);
    assert.equal(o.acked, 4);
    o.rewind();
    assert.deepEqual(
      drain(o).map((b) => parse(b).seq),
      [3, 4, 5],
    );
    o.ack(5);
    assert.equal(o.queuedRecords, 0);
    assert.ok(o.empty);
    assert.equal(o.memBytes, 0);
  });

  test('without a spool, a full memory drops the oldest batch not in flight, and counts it', () => {
    // Room for three batches of this size.
    const o = new Outbox({
      maxMemoryBytes: 3 * (body(1, 1, 150).length + MEM_OVERHEAD),
      spool: null,
      maxSpoolBytes: 0,
      log,
    });
    o.push(body(1, 1, 150), 1);
    o.push(body(2, 1, 150), 1);
    assert.equal(parse(o.next()!).tag, 1); // seq 1 is in flight: never dropped
    o.push(body(3, 1, 150), 1);
    o.push(body(4, 1, 150), 1); // no room: the oldest not in flight (tag 2) goes
    assert.equal(o.dropped, 1);
    assert.equal(o.droppedBatches, 1);
    assert.match(o.lastDrop ?? '', /memory full/);
    assert.deepEqual(
      drain(o).map((b) => parse(b).tag),
      [3, 4],
    );
    o.ack(4);
    assert.equal(o.acked, 3);
    assert.equal(o.acked + o.dropped, 4);
  });

  test('a welcome releases what the hub has; a watermark beyond every seq renumbers the queue after it', () => {
    const o = new Outbox({ maxMemoryBytes: 1 << 20, maxSpoolBytes: 0, spool: null, log });
    for (let t = 1; t <= 4; t++) o.push(body(t), 1);
    drain(o);
    assert.deepEqual(o.welcome(2), { released: 2, rebased: false });
    assert.deepEqual(
      drain(o).map((b) => [b.seq, parse(b).tag]),
      [
        [3, 3],
        [4, 4],
      ],
    );
    // The hub knows seq 100 for this id, which this outbox never issued (its state was lost).
    assert.deepEqual(o.welcome(100), { released: 0, rebased: true });
    assert.deepEqual(
      drain(o).map((b) => [b.seq, parse(b).tag]),
      [
        [101, 3],
        [102, 4],
      ],
    );
    o.push(body(5), 1);
    assert.equal(o.nextSeq, 104);
  });
});

describe('outbox with a spool', () => {
  test('memory fills, then batches go to disk in order; acks delete the segment files', () => {
    const root = dir();
    const { spool } = open(root);
    const o = new Outbox({ maxMemoryBytes: 1000, maxSpoolBytes: 1 << 20, spool, log });
    for (let t = 1; t <= 40; t++) o.push(body(t, 1, 200), 1);
    assert.ok(o.memBytes <= 1000, `memory ${o.memBytes} over its cap`);
    assert.ok(o.spooledBytes > 0);
    const files = segmentFiles(root, 'a1');
    assert.ok(files.length >= 2, `segments: ${files}`);
    const sent = drain(o).map(parse);
    assert.deepEqual(
      sent.map((b) => b.tag),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.deepEqual(
      sent.map((b) => b.seq),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    o.ack(20);
    assert.ok(segmentFiles(root, 'a1').length < files.length, 'acked segments are deleted');
    o.ack(40);
    assert.deepEqual(segmentFiles(root, 'a1'), []);
    assert.equal(o.spooledBytes, 0);
    assert.equal(o.acked, 40);
    // The spool drained, memory takes new batches again.
    o.push(body(41), 1);
    assert.equal(o.spooledBytes, 0);
    assert.ok(o.memBytes > 0);
    o.persist();
  });

  test('what is unacknowledged at close comes back after a restart, under the same seqs', () => {
    const root = dir();
    let { spool } = open(root);
    let o = new Outbox({ maxMemoryBytes: 2000, maxSpoolBytes: 1 << 20, spool, log });
    for (let t = 1; t <= 30; t++) o.push(body(t, 2), 2);
    drain(o, 10);
    o.ack(7);
    assert.deepEqual(o.persist(), { unacked: 46, lost: 0 });

    ({ spool } = open(root));
    o = new Outbox({ maxMemoryBytes: 2000, maxSpoolBytes: 1 << 20, spool, log });
    assert.ok(o.nextSeq > 30, `nextSeq ${o.nextSeq} would reuse a seq`);
    // Acks inside a segment are not written down: the batches of the head segment that were
    // acknowledged come back too, and the hub's watermark releases them at the welcome.
    assert.ok(o.queuedRecords >= 46 && o.queuedRecords <= 60, `queued ${o.queuedRecords}`);
    o.welcome(7);
    assert.equal(o.queuedRecords, 46);
    const again = drain(o).map(parse);
    assert.deepEqual(
      again.map((b) => [b.seq, b.tag]),
      Array.from({ length: 23 }, (_, i) => [i + 8, i + 8]),
    );
    o.ack(30);
    assert.equal(o.queuedRecords, 0);
    assert.deepEqual(segmentFiles(root, 'a1'), []);
    o.persist();
  });

  test('the spool is locked while in use, and a lock left by a dead process is taken over', () => {
    const root = dir();
    const { spool } = open(root);
    assert.throws(
      () => open(root),
      (err: Error) => err instanceof SpoolError && /already open in this process/.test(err.message),
    );
    spool.close();
    // Another live process of this host holds it (the test runner, our parent).
    const lock = join(root, 'a1', 'lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: hostname() }));
    assert.throws(
      () => open(root),
      (err: Error) => err instanceof SpoolError && err.message.includes(`in use by process ${process.ppid}`),
    );
    // pid 2^22+1 is above Linux's largest pid_max: no such process, the lock is stale.
    writeFileSync(lock, JSON.stringify({ pid: 4194305, host: hostname() }));
    const again = open(root);
    assert.deepEqual(JSON.parse(readFileSync(lock, 'utf8')), { pid: process.pid, host: hostname() });
    again.spool.close();
  });

  test('a torn batch at the end of a segment (a crash mid-write) is cut; the batches before it stay', () => {
    const root = dir();
    const { spool } = open(root, 'a1', 1 << 20);
    const o = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1 << 20, spool, log });
    for (let t = 1; t <= 3; t++) o.push(body(t), 1);
    const [file] = segmentFiles(root, 'a1');
    const path = join(root, 'a1', file!);
    const size = statSync(path).size;
    o.persist();
    appendFileSync(path, Buffer.from([0, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3, 4, 123, 34])); // claims 256 bytes, has 2
    const reopened = open(root, 'a1', 1 << 20);
    assert.deepEqual(reopened.recovered, { lostBatches: 1, lostBytes: 14 });
    assert.equal(statSync(path).size, size);
    const o2 = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1 << 20, spool: reopened.spool, log });
    assert.deepEqual(
      drain(o2).map((b) => parse(b).tag),
      [1, 2, 3],
    );
    o2.persist();
  });

  test('a corrupt batch (bad CRC) ends its segment: the loss is counted, later segments still go', () => {
    const root = dir();
    const { spool } = open(root, 'a1', 600);
    const o = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1 << 20, spool, log });
    for (let t = 1; t <= 6; t++) o.push(body(t, 1, 200), 1); // ~250 bytes each: segments of 3
    const files = segmentFiles(root, 'a1');
    assert.equal(files.length, 2);
    // Flip a byte inside the second batch of the first segment.
    const path = join(root, 'a1', files[0]!);
    const bytes = readFileSync(path);
    const second = 12 + bytes.readUInt32BE(0);
    const at = second + 12 + 20;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0xff, at);
    writeFileSync(path, bytes);
    const tags = drain(o).map((b) => parse(b).tag);
    assert.deepEqual(tags, [1, 4, 5, 6]);
    assert.equal(o.dropped, 2); // tags 2 and 3
    assert.match(o.lastDrop ?? '', /CRC/);
    o.ack(6);
    assert.equal(o.acked + o.dropped, 6);
    assert.deepEqual(segmentFiles(root, 'a1'), []);
    o.persist();
  });

  test('a full spool drops its oldest segment not in flight, and counts every record in it', () => {
    const root = dir();
    const { spool } = open(root, 'a1', 600);
    const o = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1600, spool, log });
    for (let t = 1; t <= 3; t++) o.push(body(t, 2, 100), 2); // one segment (~3 x 260 bytes)
    assert.equal(parse(o.next()!).tag, 1); // the first segment is in flight now
    for (let t = 4; t <= 12; t++) o.push(body(t, 2, 100), 2);
    assert.ok(o.spooledBytes <= 1600, `spool ${o.spooledBytes} over its cap`);
    assert.ok(o.dropped > 0);
    assert.match(o.lastDrop ?? '', /spool full/);
    const rest = drain(o).map((b) => parse(b).tag);
    assert.equal(rest[0], 2, 'the in-flight segment was kept');
    assert.equal(rest[rest.length - 1], 12, 'the newest batch was kept');
    o.ack(o.nextSeq - 1);
    assert.equal(1 + rest.length + o.droppedBatches, 12);
    assert.equal(o.acked + o.dropped, 24, 'every record is either acknowledged or counted as dropped');
    o.persist();
  });

  test('a welcome releases spooled batches up to the watermark; a rebase renames the segments', () => {
    const root = dir();
    const { spool } = open(root, 'a1', 600);
    const o = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1 << 20, spool, log });
    for (let t = 1; t <= 6; t++) o.push(body(t, 1, 200), 1);
    assert.deepEqual(o.welcome(4), { released: 4, rebased: false });
    assert.deepEqual(segmentFiles(root, 'a1'), ['0000000000000004.seg']);
    assert.deepEqual(
      drain(o).map((b) => [b.seq, parse(b).tag]),
      [
        [5, 5],
        [6, 6],
      ],
    );
    assert.deepEqual(o.welcome(5000), { released: 0, rebased: true });
    // Batch 4 (acked) keeps its place before the renumbered 5 and 6: 5000, then 5001 and 5002.
    assert.deepEqual(segmentFiles(root, 'a1'), ['0000000000005000.seg']);
    assert.deepEqual(
      drain(o).map((b) => [b.seq, parse(b).tag]),
      [
        [5001, 5],
        [5002, 6],
      ],
    );
    o.persist();
    const again = open(root, 'a1', 600);
    const o2 = new Outbox({ maxMemoryBytes: 0, maxSpoolBytes: 1 << 20, spool: again.spool, log });
    assert.equal(o2.nextSeq, 5003);
    // After a restart the acked batch 4 (now 5000) is sent again; the hub's watermark (5002 or
    // more by then) releases it at the welcome.
    assert.deepEqual(o2.welcome(5000), { released: 1, rebased: false });
    assert.deepEqual(
      drain(o2).map((b) => b.seq),
      [5001, 5002],
    );
    o2.persist();
  });
});
