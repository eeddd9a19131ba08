/**
 * The detail log (src/store/detail-log.ts): what is appended reads back byte for byte, from the
 * file and from memory, across segments, block boundaries and a reopen; a write that fails leaves
 * the segment as it was; details whose bytes are gone read as DETAIL_LOST; segments go whole. Then
 * through the store: retention removes the segments no row points into any more, and an entry
 * whose segment was removed by hand comes back with its summary and `detailLost`.
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DETAIL_LOST, DetailFiles, DetailLog, detailDirectory } from '../../src/store/detail-log.js';
import { Store } from '../../src/store/index.js';
import { holds } from '../support/properties.js';
import { tempDir } from './fixtures.js';
import { makeEntry } from './records.js';

const dir = tempDir();
let n = 0;
const fresh = () => join(dir, `d${++n}.db`);
const segmentsOf = (store: string) => readdirSync(detailDirectory(store)).sort();

describe('the detail log', () => {
  for (const where of ['file', 'memory'] as const) {
    test(`reads back what was appended, across segments and blocks (${where})`, () => {
      holds(
        fc.property(
          fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 3000 })), {
            maxLength: 200,
            size: 'max',
          }),
          fc.integer({ min: 1, max: 40 }),
          (texts, flushEvery) => {
            const path = where === 'file' ? fresh() : ':memory:';
            const log = new DetailLog(path, { segmentBytes: 16 << 10 });
            const refs = texts.map((t, i) => {
              const ref = log.append(t);
              if (i % flushEvery === 0) log.flush();
              return ref;
            });
            log.flush();
            refs.forEach((r, i) => {
              assert.equal(log.read(...r), texts[i]);
            });
            // Bytes land where the refs say: lengths are UTF-8 byte lengths.
            refs.forEach((r, i) => {
              assert.equal(r[2], Buffer.byteLength(texts[i] as string));
            });
            log.close();
            if (where === 'file') {
              // Reopened: the same bytes, and appending goes on after them.
              const again = new DetailLog(path, { segmentBytes: 16 << 10 });
              refs.forEach((r, i) => {
                assert.equal(again.read(...r), texts[i]);
              });
              const more = again.append('{"after":true}');
              again.flush();
              assert.equal(again.read(...more), '{"after":true}');
              again.close();
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  test('a detail longer than a segment gets a segment of its own; a read past the end is lost', () => {
    const log = new DetailLog(fresh(), { segmentBytes: 1024 });
    const small = log.append('{"a":1}');
    const big = log.append(`{"b":"${'x'.repeat(5000)}"}`);
    const after = log.append('{"c":3}');
    log.flush();
    assert.equal(small[0], 1);
    assert.equal(big[0], 2);
    assert.equal(big[1], 0);
    assert.equal(after[0], 3);
    assert.equal(log.read(...big).length, 5008);
    assert.equal(log.read(after[0], after[1], after[2] + 1), DETAIL_LOST);
    assert.equal(log.read(99, 0, 1), DETAIL_LOST);
    log.close();
  });

  test('bytes() and dropBefore(): whole segments, never the head', () => {
    const path = fresh();
    const log = new DetailLog(path, { segmentBytes: 1024 });
    const refs = Array.from({ length: 20 }, (_, i) => log.append(`{"n":${i},"pad":"${'p'.repeat(300)}"}`));
    log.flush();
    const head = log.headSegment;
    assert.ok(head >= 5, `${head}`);
    assert.equal(
      log.bytes(),
      refs.reduce((s, r) => s + r[2], 0),
    );
    assert.equal(log.dropBefore(3), 2);
    assert.equal(log.read(...(refs[0] as [number, number, number])), DETAIL_LOST);
    assert.equal(log.read(...(refs[19] as [number, number, number])), `{"n":19,"pad":"${'p'.repeat(300)}"}`);
    // Asked to drop everything: the head stays.
    log.dropBefore(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(segmentsOf(path), [`${String(head).padStart(10, '0')}.seg`]);
    // The writer thread's view of the same files agrees, and keeps what it was told to keep.
    const files = new DetailFiles(path, head);
    assert.equal(files.bytes(0), log.bytes());
    assert.equal(files.dropBefore(Number.MAX_SAFE_INTEGER), 0);
    log.close();
  });

  test('a failed write leaves the segment as it was and throws', () => {
    const log = new DetailLog(fresh());
    const ok = log.append('{"ok":1}');
    log.flush();
    // The descriptor goes bad under it (as a disk that fails): the flush throws, nothing is kept.
    const head = (log as unknown as { head: { fd: number } }).head;
    const fd = head.fd;
    head.fd = 1 << 20;
    log.append('{"lost":2}');
    assert.throws(() => log.flush());
    head.fd = fd;
    const next = log.append('{"next":3}');
    log.flush();
    assert.equal(next[1], ok[2], 'the next detail goes where the failed one would have');
    assert.equal(log.read(...next), '{"next":3}');
    log.close();
  });
});

describe('the detail log in the store', () => {
  test('retention removes the segments no row points into; size counts what rows point at', () => {
    const path = fresh();
    const T0 = 1_700_000_000_000_000;
    const store = Store.open({ path, maxAgeMs: 1000, maxBytes: 8 << 20 });
    const body = 'b'.repeat(4000);
    for (let b = 0; b < 20; b++)
      store.ingest(
        null,
        Array.from({ length: 100 }, (_, i) => makeEntry(T0 + (b * 100 + i) * 1000, { request: { body } })),
        [],
      );
    const before = segmentsOf(path).length;
    assert.ok(before >= 10, `${before} segments`);
    // Half the entries are older than the age limit.
    const gone = store.retention(T0 + 1000 * 1000 + 1_000_000);
    assert.equal(gone.entries, 1000);
    const after = segmentsOf(path).length;
    assert.ok(after < before && after >= before / 2 - 1, `${before} -> ${after} segments`);
    // The newest entries still read whole.
    const newest = store.entries({ limit: 1 }).entries[0]!;
    assert.equal((store.entry(newest.id)?.request as { body?: string } | undefined)?.body, body);
    assert.ok(store.stats().dataBytes < 8 << 20);
    store.close();
  });

  test('an entry whose detail is gone comes back with its summary and detailLost', () => {
    const path = fresh();
    const store = Store.open({ path });
    const ids: (string | null)[] = [];
    store.ingest(null, [makeEntry(1, { id: 'a-1', request: { body: 'x' } })], [], ids);
    store.close();
    // The segment is cut (a power cut before it reached the disk).
    truncateSync(join(detailDirectory(path), '0000000001.seg'), 0);
    const again = Store.open({ path });
    const e = again.entry(ids[0] as string) as unknown as Record<string, unknown>;
    assert.equal(e.localId, 'a-1');
    assert.equal(e.timestamp, 1);
    assert.equal(e.detailLost, true);
    // Filters on the JSON still run (the lost detail is valid JSON).
    const hits = again.entries({
      where: { sql: `json_extract(${again.sqlTarget.json}, '$.detailLost') = 1`, params: [] },
    });
    assert.equal(hits.entries.length, 1);
    again.close();
    rmSync(detailDirectory(path), { recursive: true });
    const gone = Store.open({ path });
    assert.equal((gone.entry(ids[0] as string) as unknown as Record<string, unknown>).detailLost, true);
    gone.close();
  });
});
