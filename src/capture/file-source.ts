/**
 * Offline source: streams a pcap or pcapng file, plain or gzipped, of any size through one bounded
 * buffer. Packets are delivered synchronously, as views into that buffer, while a chunk is parsed;
 * the buffer is reused for the next chunk.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { ErrorCounters } from '../wire/errors.js';
import type { PacketHandler } from './packet.js';
import { CaptureFormatError, CapturePacketParser } from './pcap-parser.js';

export interface FileSourceOptions {
  /** Called now and then with bytes of the file read so far and the file's size. */
  onProgress?: (readBytes: number, totalBytes: number) => void;
  /** Read size; the buffer grows past it only for a record that is larger. */
  chunkSize?: number;
  /**
   * Backpressure from the sinks: asked after each chunk; when it returns a promise (stdout's pipe
   * is full), reading waits for it, so a slow reader of the output cannot make memory grow.
   */
  pace?: () => Promise<void> | undefined;
}

export interface FileSourceResult {
  packets: number;
  format: string;
  linkTypes: number[];
  /** Set when the file ended early or is corrupt; every packet before `error.offset` was delivered. */
  error?: CaptureFormatError;
}

/** Reads a capture file, calling `onPacket` for each packet in order. Errors in the file's contents
 * come back in the result (after all good packets); I/O errors (missing file, permissions) throw. */
export async function readCaptureFile(
  path: string,
  onPacket: PacketHandler,
  errors: ErrorCounters,
  options: FileSourceOptions = {},
): Promise<FileSourceResult> {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  const st = await stat(path);
  if (st.isDirectory()) {
    // Reading a directory fails with an EISDIR that names no path: say which.
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${path}'`), {
      code: 'EISDIR',
      path,
    });
  }
  const total = st.size;
  const parser = new CapturePacketParser(onPacket, errors);
  const fh = await open(path, 'r');
  let gzipped = false;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    gzipped = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    if (!gzipped) return await readPlain(fh, parser, errors, total, chunkSize, options);
  } finally {
    await fh.close();
  }
  return readGzip(path, parser, errors, total, options);
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/**
 * Packets are handed out as views of a plain Uint8Array over the Buffer's memory. Fix: they were
 * views of the Buffer itself, and Buffer#slice does not copy (it is subarray), so a consumer that
 * kept `data.slice(...)` as its copy (IP fragments, out-of-order TCP segments) kept a view of the
 * buffer that the next read overwrites. On a Uint8Array, slice copies, as CapturedPacket promises.
 */
function asUint8Array(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function finish(
  parser: CapturePacketParser,
  errors: ErrorCounters,
  error?: CaptureFormatError,
): FileSourceResult {
  if (error) errors.add(error.code);
  return {
    packets: parser.packets,
    format: parser.format,
    linkTypes: parser.linkTypes(),
    ...(error ? { error } : {}),
  };
}

function truncated(parser: CapturePacketParser, offset: number, left: number): CaptureFormatError {
  const what = parser.format === 'unknown' ? 'file header' : 'record';
  return new CaptureFormatError(
    'capture.truncated',
    offset,
    `capture file cut short at offset ${offset}: ${left} bytes of an incomplete ${what} (${parser.needed} needed); ${parser.packets} packets read before it`,
  );
}

/** Room before each chunk for the previous chunk's unfinished record (a record of a 262,144 snap length fits). */
const RESERVE = 320 * 1024;

/**
 * Two buffers in turn: while the parser works through one chunk, the next is already being read into
 * the other (the read runs on libuv's thread pool), so the file's I/O overlaps the pipeline instead
 * of adding to it. Each buffer keeps RESERVE bytes in front of its chunk: the unfinished record at
 * the end of the previous chunk is copied there, just before the new chunk, and parsing goes on
 * from it. A record longer than that (a huge pcapng block) is joined in a buffer of its own.
 */
async function readPlain(
  fh: FileHandle,
  parser: CapturePacketParser,
  errors: ErrorCounters,
  total: number,
  chunkSize: number,
  options: FileSourceOptions,
): Promise<FileSourceResult> {
  const bufs: [Buffer, Buffer] = [
    Buffer.allocUnsafe(RESERVE + chunkSize),
    Buffer.allocUnsafe(RESERVE + chunkSize),
  ];
  let cur: 0 | 1 = 0;
  let readAt = 0; // file offset of the next read
  let pending: Promise<{ bytesRead: number }> = fh.read(bufs[0], RESERVE, chunkSize, readAt);
  // The unconsumed end of the previous chunk: tail[tailStart, tailEnd), at file offset tailOffset.
  let tail: Buffer = bufs[1];
  let tailStart = 0;
  let tailEnd = 0;
  let tailOffset = 0;
  for (;;) {
    const { bytesRead } = await pending;
    const tailLen = tailEnd - tailStart;
    if (bytesRead === 0) {
      return finish(parser, errors, tailLen > 0 ? truncated(parser, tailOffset, tailLen) : undefined);
    }
    readAt += bytesRead;
    let buf: Buffer = bufs[cur];
    let start = RESERVE - tailLen;
    let end = RESERVE + bytesRead;
    if (tailLen <= RESERVE) {
      tail.copy(buf, start, tailStart, tailEnd);
    } else {
      // Longer than the room in front: the record and the new bytes in one buffer of their own.
      const joined = Buffer.allocUnsafe(tailLen + bytesRead);
      tail.copy(joined, 0, tailStart, tailEnd);
      buf.copy(joined, tailLen, RESERVE, RESERVE + bytesRead);
      buf = joined;
      start = 0;
      end = joined.length;
    }
    // The other buffer's tail has been copied: it can take the next chunk now.
    const next: 0 | 1 = cur === 0 ? 1 : 0;
    pending = fh.read(bufs[next], RESERVE, chunkSize, readAt);
    let used: number;
    try {
      used = parser.parse(asUint8Array(buf), start, end, tailOffset);
    } catch (err) {
      await pending.catch(() => {});
      if (err instanceof CaptureFormatError) return finish(parser, errors, err);
      throw err;
    }
    tailOffset += used - start;
    tail = buf;
    tailStart = used;
    tailEnd = end;
    options.onProgress?.(readAt, total);
    const wait = options.pace?.();
    if (wait) await wait;
    cur = next;
  }
}

async function readGzip(
  path: string,
  parser: CapturePacketParser,
  errors: ErrorCounters,
  total: number,
  options: FileSourceOptions,
): Promise<FileSourceResult> {
  const raw = createReadStream(path, { highWaterMark: 1024 * 1024 });
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  raw.pipe(gunzip);
  let tail: Buffer = Buffer.alloc(0);
  let offset = 0; // decompressed offset of tail[0]
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      let used: number;
      try {
        used = parser.parse(asUint8Array(buf), 0, buf.length, offset);
      } catch (err) {
        if (err instanceof CaptureFormatError) return finish(parser, errors, err);
        throw err;
      }
      // The tail outlives this chunk, so it is copied (it is at most one record).
      tail = Buffer.from(buf.subarray(used));
      offset += used;
      options.onProgress?.(raw.bytesRead, total);
      const wait = options.pace?.();
      if (wait) await wait;
    }
  } catch (err) {
    // zlib reports a cut-off or corrupt gzip stream here; the packets before it were delivered.
    const message = err instanceof Error ? err.message : String(err);
    return finish(
      parser,
      errors,
      new CaptureFormatError(
        'capture.truncated',
        offset,
        `gzip stream ends early or is corrupt after decompressed offset ${offset} (${message}); ${parser.packets} packets read before it`,
      ),
    );
  } finally {
    raw.destroy();
  }
  return finish(parser, errors, tail.length > 0 ? truncated(parser, offset, tail.length) : undefined);
}
