/**
 * Every registered TCP dissector under fuzz (test/fuzz/dissector-core.ts): real streams of its
 * protocol, mutated from seeds, never make a session throw or emit a malformed entry; random bytes
 * after a valid start are counted as parse errors; and megabytes of garbage do not grow the heap
 * (sessions skip or drop what they cannot frame instead of buffering it).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TCP_DISSECTORS } from '../../src/dissect/registry.js';
import { CAPTURES } from '../support/paths.js';
import { byName, FUZZ_SOURCES, fuzzContext, garbage, mutate, replay, streamsFor } from './dissector-core.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const CASES_PER_STREAM = Number(process.env.FUZZ_DISSECTOR_CASES ?? 40);
const BASE_SEED = 0xd155ec70;

describe('fuzzing every dissector', () => {
  test('every registered TCP dissector has real streams to fuzz', () => {
    for (const d of TCP_DISSECTORS) assert.ok(FUZZ_SOURCES[d.name], `add '${d.name}' to FUZZ_SOURCES`);
  });

  for (const d of TCP_DISSECTORS) {
    describe(d.name, () => {
      test('mutated real streams: no exception, entries are plain JSON', async () => {
        const streams = await streamsFor(CAPTURES, d.name);
        assert.ok(streams.length > 0, `no stream of ${d.name} found in ${FUZZ_SOURCES[d.name]?.dirs}`);
        const start = byName(FUZZ_SOURCES[d.name]?.via ?? d.name);
        for (const [si, s] of streams.entries()) {
          for (let c = 0; c < CASES_PER_STREAM; c++) {
            const seed = (BASE_SEED + si * 0x10000 + c) >>> 0;
            try {
              replay(start, mutate(s, seed));
            } catch (err) {
              assert.fail(`${s.file} seed 0x${seed.toString(16)}: ${(err as Error).stack}`);
            }
          }
        }
      });

      test('random bytes after a valid start are counted as parse errors, and the heap stays flat', async () => {
        const [s] = await streamsFor(CAPTURES, d.name, 1);
        assert.ok(s);
        const start = byName(FUZZ_SOURCES[d.name]?.via ?? d.name);
        const small = replay(start, garbage(s, BASE_SEED, 64, 4096));
        if (FUZZ_SOURCES[d.name]?.via) {
          // Reached through another protocol: the garbage may never get past the first one.
          assert.ok(small.parseErrors > 0 || small.switched.length === 0, 'garbage is counted');
        } else assert.ok(small.parseErrors > 0, `${d.name}: 256 KiB of random bytes, no parse error`);

        // 16 MiB of garbage through one session: what it keeps must not grow with it.
        const { ctx, current } = fuzzContext();
        const session = start.createSession(ctx);
        const events = garbage(s, BASE_SEED + 1, 4096, 4096);
        const before = heapAfterGc();
        for (const e of events) {
          const target = current() ?? session;
          if (e.kind === 'data') target.onData(e.dir, e.data, e.ts);
        }
        const grown = heapAfterGc() - before;
        (current() ?? session).onClose(0);
        assert.ok(
          grown < 8 * 1024 * 1024,
          `${d.name}: heap grew ${(grown / 1048576).toFixed(1)} MiB on 16 MiB of garbage`,
        );
      });
    });
  }
});
