/**
 * A few seconds of fuzzing (test/fuzz/long-fuzz.ts runs the same loop for minutes), and
 * fast-check properties of the capture parser. Random and mutated bytes never make anything but a
 * CaptureFormatError leave the parser, never make readCaptureFile reject, and never push the
 * pipeline's bounded structures or the heap past their bounds. Feeding a file in chunks, split
 * anywhere, gives exactly what one whole-buffer parse gives.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { readCaptureFile } from '../../src/capture/file-source.js';
import { LinkType } from '../../src/capture/packet.js';
import { CaptureFormatError } from '../../src/capture/pcap-parser.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import { copyPacket, type ParsedBuffer, parseChunks, type ReadPacket } from '../capture/helpers.js';
import { frame, ipPacket } from '../capture/samples.js';
import { CAPTURES } from '../support/paths.js';
import { type CaptureBytes, PcapngWriter, tempDir, writeFile, writePcap } from '../support/pcap-writer.js';
import { checkBounds, fuzzPipeline, loadCorpus, makeCase, replayHint, runCase } from './fuzz-core.js';

const { dir, cleanup } = tempDir('podwire-fuzz-');
after(cleanup);
const corpus = loadCorpus(CAPTURES, 16 * 1024);

/** A garbage collection on demand (node --test gives no --expose-gc). */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const BASE_SEED = 0x5eed0000;

describe('fuzzing the reader and the decoder', () => {
  test('the corpus to mutate is there', () => {
    assert.ok(corpus.length >= 50, `${corpus.length} captures`);
  });

  test('4,000 random, mutated and synthetic captures through parser and pipeline: nothing escapes, bounds hold, heap stays flat', () => {
    const pipeline = fuzzPipeline();
    const kinds = new Map<string, number>();
    let packets = 0;
    let formatErrors = 0;
    let baseline = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) {
      if (i === N / 4) baseline = heapAfterGc();
      const c = makeCase(BASE_SEED + i, corpus);
      const out = runCase(c, pipeline);
      if (out.failure)
        assert.fail(`seed ${c.seed} (${c.kind}): ${out.failure}\nreplay: ${replayHint(c.seed)}`);
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      packets += out.packets;
      if (out.error) formatErrors++;
    }
    pipeline.finish();
    const growth = heapAfterGc() - baseline;
    // The run must have done real work: packets of every kind, format errors, decode errors.
    assert.equal(kinds.size, 5, [...kinds.keys()].join());
    assert.ok(packets > 30_000, `${packets} packets`);
    assert.ok(formatErrors > 200, `${formatErrors} format errors`);
    const s = pipeline.stats;
    assert.ok(
      s.tcpPackets > 1000 && s.udpPackets > 100 && s.badPackets > 200 && s.fragments > 100,
      JSON.stringify(s),
    );
    assert.ok(pipeline.errors.get('fragment.bad') > 0, 'fragment.bad reached');
    assert.ok(pipeline.errors.get('flows.table_full') > 0, 'flows.table_full reached');
    assert.ok(growth < 48 * 1024 * 1024, `heap grew ${Math.round(growth / 1024)} KiB over 3,000 cases`);
  });

  test('200 hostile files through readCaptureFile (plain, gzipped, gzip cut): it never rejects, and agrees with the parser', async () => {
    for (let i = 0; i < 200; i++) {
      const c = makeCase(BASE_SEED + 100_000 + i, corpus);
      const mode = i % 4; // 0, 1: plain; 2: gzip; 3: gzip cut short
      let bytes: Uint8Array = c.bytes;
      if (mode >= 2) {
        bytes = gzipSync(c.bytes);
        if (mode === 3) bytes = bytes.subarray(0, Math.floor(bytes.length * 0.7));
      }
      const path = writeFile(dir, `fuzz-${i % 8}.bin`, bytes);
      const pipeline = fuzzPipeline();
      const chunkSize = [1, 16, 333, 65536][i % 4]!;
      let result: Awaited<ReturnType<typeof readCaptureFile>>;
      try {
        result = await readCaptureFile(path, pipeline.onPacket, pipeline.errors, { chunkSize });
      } catch (err) {
        assert.fail(
          `seed ${c.seed}: readCaptureFile rejected: ${(err as Error).stack}\nreplay: ${replayHint(c.seed)}`,
        );
      }
      assert.ok(result.error === undefined || result.error instanceof CaptureFormatError);
      assert.equal(checkBounds(pipeline), undefined);
      if (mode === 3) continue;
      // The same bytes parsed in memory, whole: same packets, same error.
      const whole = parseChunks([c.bytes], () => {});
      assert.equal(result.packets, whole.parser.packets, `seed ${c.seed}: packets`);
      const want =
        whole.error ??
        (whole.consumed < c.bytes.length ? { code: 'capture.truncated', offset: whole.consumed } : undefined);
      assert.equal(result.error?.code, want?.code, `seed ${c.seed}: ${result.error?.message}`);
      assert.equal(result.error?.offset, want?.offset, `seed ${c.seed}: error offset`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// fast-check properties of the parser

const LINKS = [
  LinkType.ETHERNET,
  LinkType.LINUX_SLL,
  LinkType.LINUX_SLL2,
  LinkType.NULL,
  LinkType.RAW,
  LinkType.LOOP,
];

const arbPcap = fc
  .record({
    byteOrder: fc.constantFrom<'le' | 'be'>('le', 'be'),
    nanos: fc.boolean(),
    linkType: fc.constantFrom(...LINKS),
    packets: fc.array(
      fc.record({
        size: fc.integer({ min: 0, max: 400 }),
        sec: fc.integer({ min: 0, max: 0xffffffff }),
        frac: fc.integer({ min: 0, max: 999_999_999 }),
        snap: fc.integer({ min: 0, max: 100 }),
      }),
      { maxLength: 12 },
    ),
  })
  .map(({ byteOrder, nanos, linkType, packets }) =>
    writePcap(
      { byteOrder, nanos, linkType },
      packets.map((p, i) => {
        const data = frame(linkType, ipPacket(i, p.size));
        const cut = p.snap < 20 ? Math.min(data.length, p.snap * 4) : data.length;
        return {
          data: data.subarray(0, cut),
          wirelen: data.length,
          sec: p.sec,
          frac: nanos ? p.frac : p.frac % 1_000_000,
        };
      }),
    ),
  );

const TSRESOL = [undefined, 6, 9, 3, 7, 0x94, 0x8a, 0x80 | 30];

const arbPcapng = fc
  .array(
    fc.record({
      byteOrder: fc.constantFrom<'le' | 'be'>('le', 'be'),
      interfaces: fc.array(
        fc.record({
          linkType: fc.constantFrom(...LINKS),
          tsresol: fc.constantFrom(...TSRESOL),
          tsoffset: fc.option(fc.integer({ min: -100_000_000, max: 100_000_000 }), { nil: undefined }),
          snaplen: fc.constantFrom(0, 0, 80, 65535),
        }),
        { minLength: 1, maxLength: 4 },
      ),
      blocks: fc.array(
        fc.record({
          kind: fc.constantFrom('epb', 'epb', 'epb', 'spb', 'opb', 'custom', 'nrb', 'isb', 'dsb', 'unknown'),
          iface: fc.nat(),
          size: fc.integer({ min: 0, max: 300 }),
          sec: fc.integer({ min: 0, max: 0xffffffff }),
          nanos: fc.integer({ min: 0, max: 999_999_999 }),
        }),
        { maxLength: 12 },
      ),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((sections) => {
    const w = new PcapngWriter();
    for (const s of sections) {
      w.section(s.byteOrder);
      const ids = s.interfaces.map((i) => w.interface(i));
      s.blocks.forEach((b, n) => {
        const id = ids[b.iface % ids.length]!;
        const iface = s.interfaces[id]!;
        const data = frame(iface.linkType, ipPacket(n, b.size));
        const ticks = w.ticks(id, b.sec, b.nanos);
        switch (b.kind) {
          case 'epb':
            w.epb({ interfaceId: id, ticks: ticks < 0n ? 0n : ticks, data });
            break;
          case 'opb':
            w.opb({ interfaceId: id, ticks: ticks < 0n ? 0n : ticks, data });
            break;
          case 'spb': {
            const snap = s.interfaces[0]!.snaplen;
            w.spb({
              data: snap > 0 ? data.subarray(0, Math.min(snap, data.length)) : data,
              wirelen: data.length,
            });
            break;
          }
          case 'custom':
            w.custom(b.sec, data.subarray(0, b.size % 50), b.size % 2 === 0);
            break;
          case 'nrb':
            w.nrb([{ address: Uint8Array.of(10, 0, 0, b.size & 0xff), names: [`h${b.size}.example`] }]);
            break;
          case 'isb':
            w.isb(id, ticks < 0n ? 0n : ticks);
            break;
          case 'dsb':
            w.dsb(0x544c534b, data.subarray(0, b.size % 64));
            break;
          default:
            w.block(0x7fff0000 + (b.size & 0xff), data.subarray(0, b.size % 64));
        }
      });
    }
    return w.result();
  });

const arbCapture = fc.oneof(arbPcap, arbPcapng);

/** Split points for a buffer of `n` bytes, from arbitrary numbers. */
function splitAt(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function meta(p: ReadPacket) {
  const { data: _data, ...rest } = p;
  return rest;
}

function sameParse(a: ParsedBuffer, b: ParsedBuffer): void {
  assert.deepEqual(a.packets, b.packets);
  assert.equal(a.consumed, b.consumed);
  assert.equal(a.error?.code, b.error?.code);
  assert.equal(a.error?.offset, b.error?.offset);
  assert.equal(a.error?.message, b.error?.message);
}

describe('CapturePacketParser properties (fast-check)', () => {
  test('a valid file split anywhere into chunks parses exactly as the whole buffer, and as written', () => {
    fc.assert(
      fc.property(arbCapture, fc.array(fc.nat(), { maxLength: 40 }), (c: CaptureBytes, points) => {
        const whole = parseChunks([c.bytes]);
        assert.equal(whole.error, undefined, whole.error?.message);
        assert.equal(whole.consumed, c.bytes.length);
        assert.deepEqual(
          whole.packets.map(meta),
          c.packets.map((p) => ({
            tsMicros: p.tsMicros,
            caplen: p.caplen,
            wirelen: p.wirelen,
            linkType: p.linkType,
            interfaceId: p.interfaceId,
            recordOffset: p.recordOffset,
          })),
        );
        sameParse(parseChunks(splitAt(c.bytes, points)), whole);
      }),
      { numRuns: 300 },
    );
  });

  test('one byte at a time parses exactly as the whole buffer', () => {
    fc.assert(
      fc.property(arbCapture, (c: CaptureBytes) => {
        const bytes = Array.from({ length: c.bytes.length }, (_, i) => c.bytes.subarray(i, i + 1));
        sameParse(parseChunks(bytes), parseChunks([c.bytes]));
      }),
      { numRuns: 40 },
    );
  });

  test('damaged bytes split anywhere give the same packets, stopping point and error as the whole buffer', () => {
    fc.assert(
      fc.property(
        arbCapture,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 30 }),
        (c: CaptureBytes, pokes, cut, points) => {
          const bytes = c.bytes.slice(0, c.bytes.length - (cut % Math.max(1, c.bytes.length >> 2)));
          for (const [at, v] of pokes) if (bytes.length) bytes[at % bytes.length] = v;
          let whole: ParsedBuffer;
          try {
            whole = parseChunks([bytes]);
          } catch (err) {
            throw new Error(`parser threw ${(err as Error).stack}`);
          }
          sameParse(parseChunks(splitAt(bytes, points)), whole);
        },
      ),
      { numRuns: 400 },
    );
  });

  test('readCaptureFile with any chunk size reads a file as one whole-buffer parse does', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        arbCapture,
        fc.integer({ min: 1, max: 2000 }),
        fc.boolean(),
        async (c: CaptureBytes, chunkSize, gz) => {
          const path = writeFile(
            dir,
            `prop-${n++ % 4}.${gz ? 'gz' : 'bin'}`,
            gz ? gzipSync(c.bytes) : c.bytes,
          );
          const packets: ReadPacket[] = [];
          const result = await readCaptureFile(
            path,
            (p) => packets.push(copyPacket(p)),
            new ErrorCounters(),
            { chunkSize },
          );
          assert.equal(result.error, undefined);
          assert.deepEqual(packets, parseChunks([c.bytes]).packets);
        },
      ),
      { numRuns: 60 },
    );
  });
});
