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

async function readPlain(
  fh: FileHandle,
  parser: CapturePacketParser,
  errors: ErrorCounters,
  total: number,
  chunkSize: number,
  options: FileSourceOptions,
): Promise<FileSourceResult> {
  let buf = Buffer.allocUnsafe(chunkSize);
  let view = asUint8Array(buf);
  let filled = 0; // bytes in buf, starting with the unconsumed tail of the previous chunk
  let fileOffset = 0; // file offset of buf[0]
  for (;;) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, fileOffset + filled);
    if (bytesRead === 0) {
      return finish(parser, errors, filled > 0 ? truncated(parser, fileOffset, filled) : undefined);
    }
    filled += bytesRead;
    let used: number;
    try {
      used = parser.parse(view, 0, filled, fileOffset);
    } catch (err) {
      if (err instanceof CaptureFormatError) return finish(parser, errors, err);
      throw err;
    }
    options.onProgress?.(fileOffset + filled, total);
    const wait = options.pace?.();
    if (wait) await wait;
    // Keep the incomplete tail at the start of the buffer for the next read.
    buf.copy(buf, 0, used, filled);
    fileOffset += used;
    filled -= used;
    if (parser.needed > buf.length) {
      const bigger = Buffer.allocUnsafe(parser.needed + chunkSize);
      buf.copy(bigger, 0, 0, filled);
      buf = bigger;
      view = asUint8Array(buf);
    }
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
