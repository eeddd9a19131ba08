/**
 * Shared by the capture, decode and fuzz tests: read a capture file into plain objects, read the
 * same file with tshark (the independent reference), and compare. Not a test file itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  type FileSourceOptions,
  type FileSourceResult,
  readCaptureFile,
} from '../../src/capture/file-source.js';
import type { CapturedPacket } from '../../src/capture/packet.js';
import { CaptureFormatError, CapturePacketParser } from '../../src/capture/pcap-parser.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import type { WrittenPacket } from '../support/pcap-writer.js';

const run = promisify(execFile);

/** A packet as the reader delivered it, copied out of the reader's buffer. */
export interface ReadPacket {
  tsMicros: number;
  caplen: number;
  wirelen: number;
  linkType: number;
  interfaceId: number;
  recordOffset: number;
  data: Uint8Array;
}

export function copyPacket(p: CapturedPacket): ReadPacket {
  return {
    tsMicros: p.tsMicros,
    caplen: p.caplen,
    wirelen: p.wirelen,
    linkType: p.linkType,
    interfaceId: p.interfaceId,
    recordOffset: p.recordOffset,
    // A real copy: on a Buffer, slice() would be a view of the reader's reused buffer.
    data: new Uint8Array(p.data.subarray(p.offset, p.offset + p.caplen)),
  };
}

export interface ReadAll {
  packets: ReadPacket[];
  result: FileSourceResult;
  errors: ErrorCounters;
}

/** readCaptureFile, collecting every packet. */
export async function readAll(path: string, options: FileSourceOptions = {}): Promise<ReadAll> {
  const packets: ReadPacket[] = [];
  const errors = new ErrorCounters();
  const result = await readCaptureFile(path, (p) => packets.push(copyPacket(p)), errors, options);
  return { packets, result, errors };
}

export interface ParsedBuffer {
  packets: ReadPacket[];
  /** Bytes consumed from the start of the input; the rest is an incomplete record. */
  consumed: number;
  error?: CaptureFormatError;
  parser: CapturePacketParser;
}

/**
 * Feeds `chunks` to a CapturePacketParser the way file-source.ts's gzip path does: each chunk is
 * appended to the unconsumed tail of the previous ones, and parsing restarts at the tail.
 */
export function parseChunks(chunks: Uint8Array[], onPacket?: (p: CapturedPacket) => void): ParsedBuffer {
  const packets: ReadPacket[] = [];
  const parser = new CapturePacketParser(
    onPacket ?? ((p) => packets.push(copyPacket(p))),
    new ErrorCounters(),
  );
  let tail = new Uint8Array(0);
  let offset = 0;
  for (const chunk of chunks) {
    const buf = new Uint8Array(tail.length + chunk.length);
    buf.set(tail);
    buf.set(chunk, tail.length);
    let used: number;
    try {
      used = parser.parse(buf, 0, buf.length, offset);
    } catch (err) {
      // Every record before the bad one was parsed: that is where reading stopped.
      if (err instanceof CaptureFormatError) return { packets, consumed: err.offset, error: err, parser };
      throw err;
    }
    tail = buf.slice(used);
    offset += used;
  }
  return { packets, consumed: offset, parser };
}

/** What tshark reports for one frame. */
export interface TsharkFrame {
  /** null when the record has no time stamp (a pcapng Simple Packet Block). */
  tsMicros: number | null;
  len: number;
  caplen: number;
  /** null for pcap files and for pcapng records that are not packets (Custom Blocks). */
  interfaceId: number | null;
}

/** "1362692526.869344123" -> whole microseconds, truncated (tshark prints nanoseconds). */
export function epochToMicros(s: string): number | null {
  if (!s) return null;
  const [sec = '0', frac = ''] = s.split('.');
  return Number(sec) * 1_000_000 + Number(frac.padEnd(9, '0').slice(0, 6));
}

/** `tshark -r F -T fields -e frame.time_epoch -e frame.len -e frame.cap_len -e frame.interface_id`. */
export async function tsharkFrames(path: string): Promise<TsharkFrame[]> {
  const { stdout } = await run(
    'tshark',
    [
      '-n',
      '-r',
      path,
      '-T',
      'fields',
      '-e',
      'frame.time_epoch',
      '-e',
      'frame.len',
      '-e',
      'frame.cap_len',
      '-e',
      'frame.interface_id',
    ],
    { maxBuffer: 256 << 20 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [ts = '', len = '', cap = '', ifid = ''] = line.split('\t');
      return {
        tsMicros: epochToMicros(ts),
        len: Number(len),
        caplen: Number(cap),
        interfaceId: ifid === '' ? null : Number(ifid),
      };
    });
}

/** tshark's frames that are packets: in pcapng it also lists Custom Blocks, which have no interface. */
export function tsharkPackets(frames: TsharkFrame[], format: string): TsharkFrame[] {
  return format === 'pcapng' ? frames.filter((f) => f.interfaceId !== null) : frames;
}

/** Asserts that the reader's packets equal tshark's frame for frame (time to the microsecond). */
export function assertSameAsTshark(
  ours: ReadPacket[],
  frames: TsharkFrame[],
  format: string,
  what: string,
): void {
  const theirs = tsharkPackets(frames, format);
  assert.equal(ours.length, theirs.length, `${what}: packet count vs tshark`);
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i]!;
    const t = theirs[i]!;
    const where = `${what}: packet ${i + 1} (record at offset ${o.recordOffset})`;
    // A Simple Packet Block has no time stamp: tshark prints none, podwire keeps the previous one.
    if (t.tsMicros !== null) assert.equal(o.tsMicros, t.tsMicros, `${where}: timestamp (µs)`);
    assert.equal(o.wirelen, t.len, `${where}: frame.len`);
    assert.equal(o.caplen, t.caplen, `${where}: frame.cap_len`);
    assert.equal(o.interfaceId, t.interfaceId ?? 0, `${where}: frame.interface_id`);
  }
}

/** Asserts that the reader's packets are exactly those the writer wrote. */
export function assertSameAsWritten(ours: ReadPacket[], written: WrittenPacket[], what: string): void {
  assert.equal(ours.length, written.length, `${what}: packet count`);
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i]!;
    const w = written[i]!;
    assert.deepEqual(
      {
        tsMicros: o.tsMicros,
        caplen: o.caplen,
        wirelen: o.wirelen,
        linkType: o.linkType,
        interfaceId: o.interfaceId,
        recordOffset: o.recordOffset,
      },
      {
        tsMicros: w.tsMicros,
        caplen: w.caplen,
        wirelen: w.wirelen,
        linkType: w.linkType,
        interfaceId: w.interfaceId,
        recordOffset: w.recordOffset,
      },
      `${what}: packet ${i + 1}`,
    );
    assert.ok(Buffer.from(o.data).equals(Buffer.from(w.data)), `${what}: packet ${i + 1} bytes`);
  }
}

/** Runs `fn` over `items` with at most `limit` at once (tshark runs are slow to start). */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
