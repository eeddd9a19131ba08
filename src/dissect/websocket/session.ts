/**
 * A WebSocket connection (RFC 6455) after its opening handshake, or from its first frame when forced
 * by decode-as. Each direction is read frame by frame; a message (a data frame and its
 * continuations, §5.4, or one control frame, §5.5) becomes one entry, linked to the upgrade entry.
 * Control frames may come between the fragments of a data message.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { type DeflateParams, MessageInflater, parseDeflateExtension } from './deflate.js';
import {
  type FrameHeader,
  MAX_HEADER_BYTES,
  OPCODE,
  OPCODE_NAMES,
  parseFrameHeader,
  unmask,
} from './frame.js';

/** Payload bytes kept per message: enough to inflate a compressed one; shown up to DISPLAY. */
export const MAX_KEPT_PAYLOAD = 256 * 1024;
export const MAX_DISPLAY_PAYLOAD = 64 * 1024;

/** What the HTTP/1.x dissector knows of the handshake (RFC 6455 §4). */
export interface WebSocketUpgrade {
  upgradeEntryId: string | null;
  /** The request-target of the upgrade request. */
  path: string;
  /** Sec-WebSocket-Extensions as the server accepted it. */
  extensions: string | undefined;
  subprotocol: string | undefined;
}

interface Message {
  opcode: number;
  ts: number;
  /** Wire bytes of its frames, headers included. */
  wire: number;
  frames: number;
  size: number;
  kept: Uint8Array[];
  keptBytes: number;
  compressed: boolean;
  masked: boolean;
  errors: string[];
}

interface DirState {
  /** Header bytes waiting for the rest (at most MAX_HEADER_BYTES, copied). */
  head: Uint8Array | null;
  frame: FrameHeader | null;
  /** Payload bytes of the current frame still to come, and how many came. */
  remaining: number;
  offset: number;
  /** The data message being assembled, and the control frame being read. */
  data: Message | null;
  control: Message | null;
  stopped: boolean;
  inflater: MessageInflater | null;
}

export class WebSocketSession implements TcpSession {
  private upgrade: WebSocketUpgrade | null = null;
  private readonly dirs: [DirState, DirState] = [newDir(), newDir()];
  /** Without an upgrade (decode-as), RSV1 is taken as permessage-deflate with context takeover. */
  private deflate: [DeflateParams, DeflateParams] | null = null;

  constructor(private readonly ctx: SessionContext) {}

  /** Called by the HTTP/1.x session right after the switch, before any frame. */
  attachUpgrade(u: WebSocketUpgrade): void {
    this.upgrade = u;
    this.deflate = parseDeflateExtension(u.extensions);
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    const st = this.dirs[dir];
    let off = 0;
    while (off < data.length && !st.stopped) {
      if (!st.frame) {
        off = this.readHeader(dir, st, data, off, ts);
        continue;
      }
      const take = Math.min(st.remaining, data.length - off);
      this.payload(st, data.subarray(off, off + take));
      off += take;
      if (st.remaining === 0) this.endFrame(dir, st);
    }
    if (st.frame && st.remaining === 0) this.endFrame(dir, st);
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    const st = this.dirs[dir];
    if (st.stopped) return;
    const msg = st.frame && st.frame.opcode >= 0x8 ? st.control : st.data;
    if (st.frame && !st.head && bytes <= st.remaining) {
      // A hole inside a payload of known length: the framing holds, the message is marked.
      st.remaining -= bytes;
      st.offset += bytes;
      // (The frame's header already counted these bytes in the message's sizes.)
      msg?.errors.push(`${bytes} payload bytes lost in a gap`);
      if (st.remaining === 0) this.endFrame(dir, st);
      return;
    }
    // The frame boundary is lost and WebSocket has no marker to find the next: stop this direction.
    for (const m of [st.control, st.data]) {
      if (!m) continue;
      m.errors.push(`${bytes} bytes lost in a gap; the message's end was not seen`);
      this.emitMessage(dir, m);
    }
    st.control = null;
    st.data = null;
    st.stopped = true;
  }

  onEnd(dir: Direction, _ts: number): void {
    const st = this.dirs[dir];
    for (const m of [st.control, st.data]) {
      if (!m) continue;
      m.errors.push('the stream ended inside the message');
      this.emitMessage(dir, m);
    }
    st.control = null;
    st.data = null;
    st.frame = null;
    st.head = null;
    st.stopped = true;
  }

  onClose(ts: number): void {
    for (const dir of [0, 1] as const) if (!this.dirs[dir].stopped) this.onEnd(dir, ts);
  }

  private readHeader(dir: Direction, st: DirState, data: Uint8Array, off: number, ts: number): number {
    let buf = data.subarray(off);
    const had = st.head?.length ?? 0;
    if (st.head) {
      const joined = new Uint8Array(had + Math.min(buf.length, MAX_HEADER_BYTES));
      joined.set(st.head, 0);
      joined.set(buf.subarray(0, joined.length - had), had);
      buf = joined;
    }
    const r = parseFrameHeader(buf, 0);
    if (r.kind === 'need-more') {
      // Outlives the call: copied, fewer than MAX_HEADER_BYTES bytes.
      st.head = buf.slice(0, MAX_HEADER_BYTES);
      if (!st.head.length) st.head = null;
      return data.length;
    }
    st.head = null;
    if (r.kind === 'malformed') {
      this.ctx.parseError(`websocket: ${r.detail}`);
      this.onEnd(dir, ts);
      return data.length;
    }
    const h = r.header;
    this.startFrame(dir, st, h, ts);
    return off + (h.headerLength - had);
  }

  private startFrame(dir: Direction, st: DirState, h: FrameHeader, ts: number): void {
    st.frame = h;
    st.remaining = h.payloadLength;
    st.offset = 0;
    if (this.upgrade) {
      // §5.1: a client masks every frame, a server none. Only known when the handshake was seen.
      if ((dir === 0) !== (h.mask !== null))
        this.ctx.parseError(
          `websocket: RFC 6455 §5.1: ${dir === 0 ? 'client frame not masked' : 'server frame masked'}`,
        );
      // §5.2: RSV bits are 0 unless an extension says otherwise (RFC 7692 §6: RSV1 on a first frame).
      const rsv1Allowed = this.deflate !== null && h.opcode !== OPCODE.CONTINUATION && h.opcode < 0x8;
      if (h.rsv & 0x3 || (h.rsv & 0x4 && !rsv1Allowed))
        this.ctx.parseError('websocket: RFC 6455 §5.2: RSV bit set without an extension defining it');
    }
    const fresh = (): Message => ({
      opcode: h.opcode,
      ts,
      wire: 0,
      frames: 0,
      size: 0,
      kept: [],
      keptBytes: 0,
      compressed: (h.rsv & 0x4) !== 0 && h.opcode < 0x8,
      masked: h.mask !== null,
      errors: [],
    });
    let msg: Message;
    if (h.opcode >= 0x8) {
      msg = fresh();
      st.control = msg;
    } else if (h.opcode === OPCODE.CONTINUATION) {
      if (!st.data) {
        // §5.4: a continuation without a message to continue (or one begun before the capture).
        this.ctx.parseError('websocket: RFC 6455 §5.4: continuation frame without a message start');
        st.data = fresh();
        st.data.errors.push('message start not seen');
      }
      msg = st.data;
    } else {
      if (st.data) {
        this.ctx.parseError('websocket: RFC 6455 §5.4: data frame inside a fragmented message');
        st.data.errors.push('message end not seen: a new message began');
        this.emitMessage(dir, st.data);
      }
      msg = fresh();
      st.data = msg;
    }
    msg.frames++;
    msg.wire += h.headerLength + h.payloadLength;
    msg.size += h.payloadLength;
  }

  private payload(st: DirState, chunk: Uint8Array): void {
    const h = st.frame!;
    const msg = h.opcode >= 0x8 ? st.control : st.data;
    if (msg) {
      const cap = msg.compressed ? MAX_KEPT_PAYLOAD : MAX_DISPLAY_PAYLOAD;
      const room = cap - msg.keptBytes;
      if (room > 0 && chunk.length > 0 && msg.errors.length === 0) {
        // The chunk is a view into the capture buffer: the kept part is copied, then unmasked.
        const part = chunk.slice(0, room);
        if (h.mask) unmask(part, h.mask, st.offset);
        msg.kept.push(part);
        msg.keptBytes += part.length;
      }
    }
    st.offset += chunk.length;
    st.remaining -= chunk.length;
  }

  private endFrame(dir: Direction, st: DirState): void {
    const h = st.frame!;
    st.frame = null;
    if (h.opcode >= 0x8) {
      const m = st.control;
      st.control = null;
      if (m) this.emitMessage(dir, m);
      return;
    }
    if (h.fin && st.data) {
      const m = st.data;
      st.data = null;
      this.emitMessage(dir, m);
    }
  }

  private inflater(dir: Direction): MessageInflater {
    const st = this.dirs[dir];
    st.inflater ??= new MessageInflater(this.deflate?.[dir] ?? { noContextTakeover: false });
    return st.inflater;
  }

  private emitMessage(dir: Direction, m: Message): void {
    let payload = joinParts(m.kept, m.keptBytes);
    let decodeError: string | undefined;
    let inflatedSize: number | undefined;
    if (m.compressed) {
      const r = this.inflater(dir).inflate(payload, m.keptBytes === m.size && m.errors.length === 0);
      if ('data' in r) {
        payload = r.data;
        inflatedSize = r.data.length;
      } else decodeError = r.error;
    }
    const truncated = payload.length > MAX_DISPLAY_PAYLOAD || (!m.compressed && m.keptBytes < m.size);
    const shown = payload.subarray(0, MAX_DISPLAY_PAYLOAD);
    const request: Record<string, unknown> = {
      opcode: m.opcode,
      fromClient: dir === 0,
      payloadSize: m.size,
      frames: m.frames,
      masked: m.masked,
      upgradeEntryId: this.upgrade?.upgradeEntryId ?? null,
    };
    let status: number | null = null;
    if (m.opcode === OPCODE.CLOSE) {
      // §5.5.1: an optional 2-byte status code, then a UTF-8 reason.
      if (shown.length >= 2) {
        status = (shown[0]! << 8) | shown[1]!;
        request.closeReason = new TextDecoder().decode(shown.subarray(2));
      }
    } else if (m.opcode === OPCODE.TEXT && !decodeError) {
      request.payload = new TextDecoder('utf-8').decode(shown, { stream: true });
      request.payloadEncoding = 'utf8';
    } else if (shown.length > 0) {
      request.payload = Buffer.from(shown.buffer, shown.byteOffset, shown.length).toString('base64');
      request.payloadEncoding = 'base64';
    }
    if (m.compressed) request.compressed = true;
    if (inflatedSize !== undefined) request.inflatedSize = inflatedSize;
    if (decodeError) request.decodeError = decodeError;
    if (truncated) request.payloadTruncated = true;
    if (this.upgrade?.subprotocol) request.subprotocol = this.upgrade.subprotocol;
    const [src, dst] = dir === 0 ? [this.ctx.client, this.ctx.server] : [this.ctx.server, this.ctx.client];
    this.ctx.emit({
      protocol: 'websocket',
      timestamp: m.ts,
      elapsedMs: null,
      src,
      dst,
      method: OPCODE_NAMES[m.opcode] ?? `opcode-${m.opcode}`,
      path: this.upgrade?.path ?? '',
      status,
      request,
      response: null,
      requestSize: m.wire,
      responseSize: 0,
      error: m.errors.length > 0 ? m.errors.join('; ') : null,
    });
  }
}

function newDir(): DirState {
  return {
    head: null,
    frame: null,
    remaining: 0,
    offset: 0,
    data: null,
    control: null,
    stopped: false,
    inflater: null,
  };
}

function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
