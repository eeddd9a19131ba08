/**
 * The fuzz loop of test/fuzz/fuzz.test.ts, for a long time: `npm run fuzz` (or
 * `node dist/test/fuzz/long-fuzz.js` after a build).
 *
 *   FUZZ_SECONDS=300   how long to run (default 300)
 *   FUZZ_SEED=n        first seed (default: random); case i uses seed FUZZ_SEED + i
 *   FUZZ_REPLAY=n      run only the case of seed n, print what it did, save its bytes, and exit
 *
 * Every case goes through CapturePacketParser into one long-lived Pipeline; every 25th also goes
 * through readCaptureFile from a temporary file (plain or gzipped). It prints iterations per
 * second as it goes and, for each failure (an exception other than CaptureFormatError, a broken
 * bound, readCaptureFile rejecting, the heap growing without bound), the seed that reproduces it.
 * Exits 1 if anything failed.
 *
 * Not named *.test.ts: it is not part of `npm test`. `node --test dist/test/` still runs every
 * .js file under a test/ directory, so when loaded by the test runner it does nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { readCaptureFile } from '../../src/capture/file-source.js';
import { CaptureFormatError } from '../../src/capture/pcap-parser.js';
import { CAPTURES } from '../support/paths.js';
import {
  checkBounds,
  type FuzzCase,
  fuzzPipeline,
  loadCorpus,
  makeCase,
  replayHint,
  runCase,
} from './fuzz-core.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMiB(): number {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function throughFile(c: FuzzCase, dir: string, gz: boolean): Promise<string | undefined> {
  const path = join(dir, gz ? 'case.gz' : 'case.bin');
  writeFileSync(path, gz ? gzipSync(c.bytes) : c.bytes);
  const pipeline = fuzzPipeline();
  try {
    const r = await readCaptureFile(path, pipeline.onPacket, pipeline.errors, {
      chunkSize: 1 + (c.seed % 5000),
    });
    if (r.error && !(r.error instanceof CaptureFormatError))
      return `result.error is not a CaptureFormatError: ${r.error}`;
  } catch (err) {
    return `readCaptureFile rejected: ${(err as Error)?.stack ?? String(err)}`;
  }
  return checkBounds(pipeline);
}

async function replay(seed: number, corpus: Uint8Array[]): Promise<number> {
  const c = makeCase(seed, corpus);
  const out = runCase(c, fuzzPipeline());
  const file = join(tmpdir(), `podwire-fuzz-${seed}.bin`);
  writeFileSync(file, c.bytes);
  console.log(
    `seed ${seed}: ${c.kind}, ${c.bytes.length} bytes in ${c.chunks.length + 1} chunks, saved to ${file}`,
  );
  console.log(`  ${out.packets} packets${out.error ? `, ${out.error.code}: ${out.error.message}` : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'podwire-fuzz-'));
  try {
    const plain = await throughFile(c, dir, false);
    const gz = await throughFile(c, dir, true);
    for (const f of [out.failure, plain && `plain file: ${plain}`, gz && `gzipped file: ${gz}`]) {
      if (f) console.log(`  FAILURE ${f}`);
    }
    return out.failure || plain || gz ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  const corpus = loadCorpus(CAPTURES, 64 * 1024);
  if (process.env.FUZZ_REPLAY !== undefined) return replay(Number(process.env.FUZZ_REPLAY) >>> 0, corpus);

  const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
  const base =
    process.env.FUZZ_SEED !== undefined
      ? Number(process.env.FUZZ_SEED) >>> 0
      : (Math.random() * 2 ** 32) >>> 0;
  console.log(`podwire fuzz: ${seconds} s from seed ${base}, ${corpus.length} captures to mutate`);
  const dir = mkdtempSync(join(tmpdir(), 'podwire-fuzz-'));
  const pipeline = fuzzPipeline();
  const failures: string[] = [];
  const started = Date.now();
  const deadline = started + seconds * 1000;
  let i = 0;
  let packets = 0;
  let formatErrors = 0;
  let lastReport = started;
  let lastCount = 0;
  let baseline = -1;
  let peakGrowth = 0;
  const fail = (seed: number, what: string) => {
    const line = `FAILURE seed ${seed}: ${what}\n  replay: ${replayHint(seed)}`;
    failures.push(line);
    console.log(line);
  };
  try {
    while (Date.now() < deadline && failures.length < 20) {
      const seed = (base + i) >>> 0;
      const c = makeCase(seed, corpus);
      const out = runCase(c, pipeline);
      if (out.failure) fail(seed, `${c.kind}: ${out.failure}`);
      packets += out.packets;
      if (out.error) formatErrors++;
      if (i % 25 === 0) {
        const f = await throughFile(c, dir, i % 50 === 0);
        if (f) fail(seed, `${c.kind} through readCaptureFile: ${f}`);
      }
      i++;
      const now = Date.now();
      if (now - lastReport >= 5000) {
        const heap = heapMiB();
        if (baseline < 0) baseline = heap;
        peakGrowth = Math.max(peakGrowth, heap - baseline);
        const rate = ((i - lastCount) * 1000) / (now - lastReport);
        console.log(
          `${Math.round((now - started) / 1000)} s: ${i} cases (${Math.round(rate)}/s), ${packets} packets, ` +
            `${formatErrors} format errors, ${pipeline.tracker.table.size} connections, ` +
            `${pipeline.decoder.defrag.size} datagrams held, heap ${heap.toFixed(1)} MiB`,
        );
        if (heap - baseline > 256)
          fail(seed, `heap grew ${(heap - baseline).toFixed(0)} MiB since the first report`);
        lastReport = now;
        lastCount = i;
      }
    }
    pipeline.finish();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const secs = (Date.now() - started) / 1000;
  console.log(
    `done: ${i} cases in ${secs.toFixed(0)} s (${Math.round(i / secs)}/s), ${packets} packets, ` +
      `${formatErrors} format errors, heap growth at most ${peakGrowth.toFixed(1)} MiB, ${failures.length} failures`,
  );
  console.log(`errors counted: ${JSON.stringify(pipeline.errors.toJSON())}`);
  return failures.length ? 1 : 0;
}

if (!process.env.NODE_TEST_CONTEXT) process.exitCode = await main();
