/**
 * One HTTP/2 connection (RFC 9113): a frame parser and an HPACK decoder per direction, header
 * blocks reassembled from HEADERS/PUSH_PROMISE and CONTINUATION, frames dispatched to streams,
 * and each finished stream emitted as an entry.
 *
 * Direction 0 is the client. It may start with the client preface (prior knowledge, or the bytes
 * after an h2c upgrade) or not (joined mid-connection): then the HPACK tables hold entries never
 * seen, and header blocks that need them are decoded as far as possible and marked.
 */
import type { Direction } from '../../flows/stream.js';
import { u32be } from '../../wire/bytes.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import type { GrpcSchema } from '../grpc/schema.js';
import { type HeaderField, HpackDecoder } from './hpack.js';
import { addError, applyData, applyHeaders, newStream, type Stream } from './matcher.js';
import {
  errorCodeName,
  Flag,
  FRAME_HEADER_SIZE,
  FRAME_TYPE_NAMES,
  type FrameHeader,
  FrameType,
  SETTING_NAMES,
} from './messages.js';
import { FrameParser, type FrameSink } from './parser.js';
import { toEntry } from './summary.js';

/** Largest header block collected across CONTINUATION frames (RFC 9113 §6.10 sets no bound). */
export const MAX_HEADER_BLOCK = 256 * 1024;
/** Streams followed at once; past this the oldest is emitted as is (RFC 9113 §5.1.2 lets peers cap them). */
export const MAX_OPEN_STREAMS = 1024;
/** Closed stream ids remembered, so late frames on them (WINDOW_UPDATE, trailing DATA) are ignored. */
const MAX_CLOSED_REMEMBERED = 4096;

interface PendingBlock {
  streamId: number;
  /** The stream the block's headers belong to: the frame's, or PUSH_PROMISE's promised stream. */
  target: number;
  promise: boolean;
  endStream: boolean;
  ts: number;
  chunks: Uint8Array[];
  size: number;
  wireBytes: number;
  tooLarge: boolean;
}

/** What an HTTP/1.1 dissector knows of a request it upgraded to h2c (RFC 7540 §3.2). */
export interface UpgradedRequest {
  method: string;
  path: string;
  headers: HeaderField[];
  /** Timestamp (µs) of the request's first byte, and its size on the wire. */
  ts: number;
  size: number;
}

/** What a session is configured with (per pipeline: the dissector's factory hands it over). */
export interface Http2Options {
  /** Decodes gRPC messages with field names (analyze --proto); without it, schema-less. */
  grpcSchema?: GrpcSchema | null;
}

export class Http2Session implements TcpSession {
  private readonly parsers: [FrameParser, FrameParser];
  private readonly decoders: [HpackDecoder, HpackDecoder] = [new HpackDecoder(), new HpackDecoder()];
  private readonly pending: [PendingBlock | null, PendingBlock | null] = [null, null];
  private readonly streams = new Map<number, Stream>();
  private readonly closed = new Set<number>();
  private readonly settings: [Record<string, number>, Record<string, number>] = [{}, {}];
  private goaway: { by: 'client' | 'server'; lastStreamId: number; code: string } | null = null;
  /** The current DATA frame's stream per direction (null: ignored). */
  private readonly dataStream: [Stream | null, Stream | null] = [null, null];
  /** Data bytes delivered of the current DATA frame per direction (wire bytes count what was seen). */
  private readonly dataSeen: [number, number] = [0, 0];

  constructor(
    private readonly ctx: SessionContext,
    private readonly options: Http2Options = {},
  ) {
    this.parsers = [new FrameParser(this.sink(0), true), new FrameParser(this.sink(1), false)];
  }

  /**
   * An h2c upgrade (RFC 7540 §3.2; RFC 9113 §3.1 deprecates it but servers still answer it): the
   * HTTP/1.1 request becomes stream 1, half-closed from the client, and its response arrives here.
   */
  upgradeRequest(req: UpgradedRequest): void {
    const s = newStream(1);
    s.upgraded = true;
    s.request.ts = req.ts;
    s.request.wireBytes = req.size;
    s.request.ended = true;
    applyHeaders(s, 'request', [
      [':method', req.method],
      // h2c is HTTP/2 over cleartext TCP (RFC 7540 §3.2): the scheme is "http".
      [':scheme', 'http'],
      [':path', req.path],
      ...req.headers.map(([n, v]) => [n.toLowerCase(), v] as HeaderField),
    ]);
    this.streams.set(1, s);
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    this.parsers[dir].feed(data, ts);
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    this.parsers[dir].gap(bytes);
  }

  onEnd(_dir: Direction, _ts: number): void {}

  onClose(_ts: number): void {
    for (const s of [...this.streams.values()]) this.finish(s, this.closingReason(s));
    const [client, server] = this.parsers;
    const count = (p: FrameParser) =>
      Object.fromEntries(p.counts.map((n, t) => [FRAME_TYPE_NAMES[t]!, n] as const).filter(([, n]) => n > 0));
    this.ctx.annotate('http2', {
      prefaceSeen: client.sawPreface,
      clientSettings: this.settings[0],
      serverSettings: this.settings[1],
      clientFrames: count(client),
      serverFrames: count(server),
      ...(this.goaway ? { goaway: this.goaway } : {}),
    });
  }

  private closingReason(s: Stream): string {
    if (this.goaway && s.id > this.goaway.lastStreamId && s.response.ts === null)
      return `not processed: GOAWAY with last-stream-id ${this.goaway.lastStreamId}`;
    if (s.response.ts === null) return 'no response seen';
    return 'response incomplete (the stream had not ended)';
  }

  private sink(dir: Direction): FrameSink {
    return {
      frame: (h, payload, ts) => this.onFrame(dir, h, payload, ts),
      dataStart: (h, ts) => this.onDataStart(dir, h, ts),
      data: (_h, chunk) => {
        const s = this.dataStream[dir];
        this.dataSeen[dir] += chunk.length;
        if (!s) return;
        (dir === 0 ? s.request : s.response).wireBytes += chunk.length;
        applyData(s, dir === 0 ? 'request' : 'response', chunk);
      },
      dataEnd: (h) => {
        const s = this.dataStream[dir];
        this.dataStream[dir] = null;
        if (!s) return;
        // Padding (and bytes lost in a gap inside the frame) count as wire bytes once the frame is whole.
        (dir === 0 ? s.request : s.response).wireBytes += h.length - this.dataSeen[dir];
        if (h.flags & Flag.END_STREAM) this.endSide(s, dir);
      },
      lostFrame: (h, detail) => this.onLostFrame(dir, h, detail),
      lostSync: (skipped, detail) => {
        // A gap that ended on a frame boundary is no parse error (the gap itself is counted by reassembly).
        if (skipped !== 0) this.ctx.parseError(`HTTP/2 ${dir === 0 ? 'client' : 'server'}: ${detail}`);
        this.decoders[dir].lose();
        this.pending[dir] = null;
        this.dataStream[dir] = null;
        for (const s of this.streams.values()) addError(s, 'bytes lost in a gap');
      },
      malformed: (detail) => this.ctx.parseError(detail),
    };
  }

  private onLostFrame(dir: Direction, h: FrameHeader, detail: string): void {
    this.ctx.parseError(`HTTP/2 ${FRAME_TYPE_NAMES[h.type] ?? h.type} frame: ${detail}`);
    const s = this.streams.get(h.streamId);
    if (
      h.type === FrameType.HEADERS ||
      h.type === FrameType.CONTINUATION ||
      h.type === FrameType.PUSH_PROMISE
    ) {
      // The header block is gone, and with it the HPACK table changes it made (RFC 7541 §2.3.2).
      this.decoders[dir].lose();
      this.pending[dir] = null;
      if (s) addError(s, 'header block lost');
    } else if (h.type === FrameType.DATA && s) {
      addError(s, 'DATA lost in a gap');
      (dir === 0 ? s.request : s.response).grpc?.gap();
    }
  }

  /** The stream a frame belongs to, created when a frame may open it; null for closed or unknown. */
  private stream(id: number, create: boolean): Stream | null {
    const s = this.streams.get(id);
    if (s) return s;
    if (!create || id === 0 || this.closed.has(id)) return null;
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      const oldest = this.streams.values().next().value as Stream;
      this.finish(oldest, `more than ${MAX_OPEN_STREAMS} open streams: emitted early`);
    }
    const n = newStream(id);
    this.streams.set(id, n);
    return n;
  }

  private onDataStart(dir: Direction, h: FrameHeader, ts: number): void {
    if (this.pending[dir]) this.continuationExpected(dir, h);
    const s = this.stream(h.streamId, true);
    this.dataStream[dir] = s;
    this.dataSeen[dir] = 0;
    if (!s) return;
    const side = dir === 0 ? s.request : s.response;
    side.ts ??= ts;
    side.wireBytes += FRAME_HEADER_SIZE;
  }

  private continuationExpected(dir: Direction, h: FrameHeader): void {
    // RFC 9113 §6.10: nothing but CONTINUATION may follow a header block that did not end.
    const p = this.pending[dir]!;
    this.ctx.parseError(
      `RFC 9113 §6.10: ${FRAME_TYPE_NAMES[h.type] ?? h.type} frame while the header block of stream ${p.streamId} awaits CONTINUATION`,
    );
    this.pending[dir] = null;
    this.decoders[dir].lose();
    const cut = this.streams.get(p.target);
    if (cut) addError(cut, 'header block cut short');
  }

  private onFrame(dir: Direction, h: FrameHeader, payload: Uint8Array, ts: number): void {
    if (this.pending[dir] && h.type !== FrameType.CONTINUATION) this.continuationExpected(dir, h);
    switch (h.type) {
      case FrameType.HEADERS: {
        this.onHeaders(dir, h, payload, ts);
        return;
      }
      case FrameType.PUSH_PROMISE: {
        this.onPushPromise(dir, h, payload, ts);
        return;
      }
      case FrameType.CONTINUATION: {
        this.onContinuation(dir, h, payload);
        return;
      }
      case FrameType.RST_STREAM: {
        if (h.length !== 4) {
          this.ctx.parseError('RFC 9113 §6.4: RST_STREAM length is not 4');
          return;
        }
        const s = this.streams.get(h.streamId);
        if (!s) return;
        s.reset = { by: dir === 0 ? 'client' : 'server', code: u32be(payload, 0) };
        this.finish(s, null);
        return;
      }
      case FrameType.SETTINGS: {
        if (h.flags & Flag.ACK) return;
        if (h.length % 6 !== 0) {
          this.ctx.parseError('RFC 9113 §6.5: SETTINGS length is not a multiple of 6');
          return;
        }
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = (payload[i]! << 8) | payload[i + 1]!;
          this.settings[dir][SETTING_NAMES[id] ?? `0x${id.toString(16)}`] = u32be(payload, i + 2);
        }
        return;
      }
      case FrameType.GOAWAY: {
        if (h.length < 8) {
          this.ctx.parseError('RFC 9113 §6.8: GOAWAY shorter than 8 bytes');
          return;
        }
        this.goaway = {
          by: dir === 0 ? 'client' : 'server',
          lastStreamId: u32be(payload, 0) & 0x7fffffff,
          code: errorCodeName(u32be(payload, 4)),
        };
        return;
      }
      default:
        // PRIORITY, PING, WINDOW_UPDATE carry nothing an entry shows; unknown types are ignored
        // (RFC 9113 §4.1, §5.5).
        return;
    }
  }

  /** RFC 9113 §6.2: [Pad Length], [E + Stream Dependency, Weight], fragment, padding. */
  private onHeaders(dir: Direction, h: FrameHeader, p: Uint8Array, ts: number): void {
    if (h.streamId === 0) {
      this.ctx.parseError('RFC 9113 §6.2: HEADERS on stream 0');
      return;
    }
    let start = 0;
    let pad = 0;
    if (h.flags & Flag.PADDED) {
      if (p.length < 1) {
        this.ctx.parseError('RFC 9113 §6.2: PADDED HEADERS without Pad Length');
        return;
      }
      pad = p[0]!;
      start = 1;
    }
    if (h.flags & Flag.PRIORITY) start += 5;
    if (start + pad > p.length) {
      this.ctx.parseError(`RFC 9113 §6.2: HEADERS padding (${pad}) exceeds the frame payload`);
      return;
    }
    this.beginBlock(dir, h, h.streamId, false, p.subarray(start, p.length - pad), ts);
  }

  /** RFC 9113 §6.6: [Pad Length], R + Promised Stream ID, fragment, padding. */
  private onPushPromise(dir: Direction, h: FrameHeader, p: Uint8Array, ts: number): void {
    let start = 0;
    let pad = 0;
    if (h.flags & Flag.PADDED) {
      if (p.length < 1) {
        this.ctx.parseError('RFC 9113 §6.6: PADDED PUSH_PROMISE without Pad Length');
        return;
      }
      pad = p[0]!;
      start = 1;
    }
    if (start + 4 + pad > p.length) {
      this.ctx.parseError('RFC 9113 §6.6: PUSH_PROMISE shorter than its fields and padding');
      return;
    }
    const promised = u32be(p, start) & 0x7fffffff;
    this.beginBlock(dir, h, promised, true, p.subarray(start + 4, p.length - pad), ts);
  }

  private beginBlock(
    dir: Direction,
    h: FrameHeader,
    target: number,
    promise: boolean,
    fragment: Uint8Array,
    ts: number,
  ): void {
    const block: PendingBlock = {
      streamId: h.streamId,
      target,
      promise,
      endStream: !promise && (h.flags & Flag.END_STREAM) !== 0,
      ts,
      chunks: [],
      size: 0,
      wireBytes: FRAME_HEADER_SIZE + h.length,
      tooLarge: false,
    };
    this.addFragment(block, fragment);
    if (h.flags & Flag.END_HEADERS) this.endBlock(dir, block);
    else this.pending[dir] = block;
  }

  private onContinuation(dir: Direction, h: FrameHeader, p: Uint8Array): void {
    const block = this.pending[dir];
    if (!block || block.streamId !== h.streamId) {
      this.ctx.parseError(
        `RFC 9113 §6.10: CONTINUATION on stream ${h.streamId} without a header block to continue`,
      );
      if (block) this.continuationExpected(dir, h);
      return;
    }
    block.wireBytes += FRAME_HEADER_SIZE + h.length;
    this.addFragment(block, p);
    if (h.flags & Flag.END_HEADERS) {
      this.pending[dir] = null;
      this.endBlock(dir, block);
    }
  }

  private addFragment(block: PendingBlock, fragment: Uint8Array): void {
    if (block.size + fragment.length > MAX_HEADER_BLOCK) {
      block.tooLarge = true;
      block.chunks = [];
      return;
    }
    // Frame payloads handed to onFrame are the parser's own copies, so keeping views is safe.
    block.chunks.push(fragment);
    block.size += fragment.length;
  }

  private endBlock(dir: Direction, block: PendingBlock): void {
    const decoder = this.decoders[dir];
    const client = this.parsers[0];
    if (!client.sawPreface && client.started) decoder.unknownState = true;
    let fields: HeaderField[] = [];
    let error: string | null = null;
    if (block.tooLarge) {
      decoder.lose();
      error = `header block over ${MAX_HEADER_BLOCK} bytes: not decoded`;
    } else {
      const bytes = block.chunks.length === 1 ? block.chunks[0]! : Buffer.concat(block.chunks);
      const r = decoder.decode(bytes);
      fields = r.headers;
      if (r.error) {
        error = `HPACK: ${r.error}`;
        if (!r.error.startsWith('HPACK index')) {
          // A malformed block (not just an unknown entry): the table is out of step from here.
          this.ctx.parseError(`${error} (stream ${block.streamId})`);
          decoder.lose();
        }
      }
    }
    if (block.promise) {
      // RFC 9113 §8.4: the promised request; its response comes on the promised stream.
      const s = this.stream(block.target, true);
      if (!s) return;
      s.pushed = true;
      s.request.ts = block.ts;
      s.request.wireBytes += block.wireBytes;
      s.request.ended = true;
      if (error) addError(s, error);
      applyHeaders(s, 'request', fields);
      return;
    }
    const s = this.stream(block.target, true);
    if (!s) return;
    const sideName = dir === 0 ? 'request' : 'response';
    const side = s[sideName];
    side.ts ??= block.ts;
    side.wireBytes += block.wireBytes;
    if (error) addError(s, error);
    applyHeaders(s, sideName, fields);
    if (block.endStream) this.endSide(s, dir);
  }

  private endSide(s: Stream, dir: Direction): void {
    (dir === 0 ? s.request : s.response).ended = true;
    // The server ending its side ends the exchange (a request still open is cut by it).
    if (dir === 1) this.finish(s, null);
  }

  private finish(s: Stream, closing: string | null): void {
    if (!this.streams.delete(s.id)) return;
    this.closed.add(s.id);
    if (this.closed.size > MAX_CLOSED_REMEMBERED) {
      const first = this.closed.values().next().value as number;
      this.closed.delete(first);
    }
    for (const d of [0, 1] as const) if (this.dataStream[d] === s) this.dataStream[d] = null;
    // A stream that showed nothing but flow control (no headers, no data) is not an exchange.
    if (s.request.ts === null && s.response.ts === null) return;
    // RFC 7540 §3.2: after an h2c upgrade (the client preface follows it), stream 1 is the HTTP/1.1
    // request's response; its request never appears as HTTP/2 frames.
    if (s.id === 1 && s.request.headers === null && !s.upgraded && this.parsers[0].sawPreface)
      s.upgradedUnknown = true;
    for (const side of [s.request, s.response])
      if (side.grpc?.partial && side.ended) addError(s, 'gRPC message cut short by END_STREAM');
    this.ctx.emit(toEntry(s, closing, this.options.grpcSchema ?? null));
  }
}
