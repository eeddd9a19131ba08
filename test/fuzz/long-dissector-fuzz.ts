/**
 * test/fuzz/dissectors.test.ts for a long time: `npm run fuzz:dissectors` (or
 * `node dist/test/fuzz/long-dissector-fuzz.js` after a build). Every registered TCP dissector in
 * turn gets mutated real streams of its protocol (test/fuzz/dissector-core.ts), round robin, until
 * the time is up.
 *
 *   FUZZ_SECONDS=300   how long to run (default 300)
 *   FUZZ_SEED=n        first seed (default: random); case i of a stream uses seed FUZZ_SEED + i
 *   FUZZ_ONLY=name     fuzz one dissector only
 *
 * Prints cases per second per dissector and, for each failure (an exception out of a session, a
 * malformed entry), the dissector, the capture and the seed that reproduce it. Exits 1 if anything
 * failed. Not named *.test.ts: when loaded by the test runner it does nothing.
 */
import { TCP_DISSECTORS } from '../../src/dissect/registry.js';
import { CAPTURES } from '../support/paths.js';
import { byName, FUZZ_SOURCES, mutate, type RecordedStream, replay, streamsFor } from './dissector-core.js';

async function main(): Promise<number> {
  const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
  const base =
    process.env.FUZZ_SEED !== undefined
      ? Number(process.env.FUZZ_SEED) >>> 0
      : (Math.random() * 2 ** 32) >>> 0;
  const only = process.env.FUZZ_ONLY;
  const targets = TCP_DISSECTORS.filter((d) => !only || d.name === only);
  if (targets.length === 0) {
    console.error(`no dissector named '${only}' (have: ${TCP_DISSECTORS.map((d) => d.name).join(', ')})`);
    return 2;
  }
  const plans: {
    name: string;
    streams: RecordedStream[];
    cases: number;
    start: ReturnType<typeof byName>;
  }[] = [];
  for (const d of targets) {
    const streams = await streamsFor(CAPTURES, d.name, 32);
    plans.push({ name: d.name, streams, cases: 0, start: byName(FUZZ_SOURCES[d.name]?.via ?? d.name) });
  }
  console.log(
    `podwire dissector fuzz: ${seconds} s from seed ${base}; ` +
      plans.map((p) => `${p.name} ${p.streams.length} streams`).join(', '),
  );
  const failures: string[] = [];
  const deadline = Date.now() + seconds * 1000;
  let round = 0;
  while (Date.now() < deadline && failures.length < 20) {
    for (const p of plans) {
      for (const s of p.streams) {
        const seed = (base + round) >>> 0;
        try {
          replay(p.start, mutate(s, seed));
        } catch (err) {
          const line = `${p.name}: ${s.file} seed ${seed}: ${(err as Error).message}`;
          failures.push(line);
          console.log(`FAIL ${line}`);
        }
        p.cases++;
      }
    }
    round++;
  }
  for (const p of plans) console.log(`${p.name}: ${p.cases} cases`);
  console.log(`done: ${round} rounds, ${failures.length} failures`);
  return failures.length ? 1 : 0;
}

if (!process.env.NODE_TEST_CONTEXT) process.exitCode = await main();
