/**
 * Fixture builders for HTTP/2 tests: exact frame bytes (RFC 9113 §4.1) with real HPACK blocks from
 * the encoder in src (whose output the RFC 7541 Appendix C tests pin down), and a SessionContext
 * that records what a session reports.
 */
import type { SessionContext, TcpSession } from '../../../src/dissect/dissector.js';
import type { Entry } from '../../../src/dissect/entry.js';
import { type HeaderField, HpackEncoder } from '../../../src/dissect/http2/hpack.js';
import { CLIENT_PREFACE } from '../../../src/dissect/http2/messages.js';

export const PREFACE = CLIENT_PREFACE;

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array | number[],
): Uint8Array {
  const p = Uint8Array.from(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >> 16) & 0xff;
  out[1] = (p.length >> 8) & 0xff;
  out[2] = p.length & 0xff;
  out[3] = type;
  out[4] = flags;
  out[5] = (stream >>> 24) & 0x7f;
  out[6] = (stream >>> 16) & 0xff;
  out[7] = (stream >>> 8) & 0xff;
  out[8] = stream & 0xff;
  out.set(p, 9);
  return out;
}

export const settings = (entries: [number, number][] = []) =>
  frame(
    4,
    0,
    0,
    entries.flatMap(([id, v]) => [
      id >> 8,
      id & 0xff,
      (v >>> 24) & 0xff,
      (v >>> 16) & 0xff,
      (v >>> 8) & 0xff,
      v & 0xff,
    ]),
  );
export const settingsAck = () => frame(4, 1, 0, []);

/** DATA (RFC 9113 §6.1), optionally padded. */
export function data(stream: number, body: Uint8Array | string, endStream = false, pad = -1): Uint8Array {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  const flags = (endStream ? 1 : 0) | (pad >= 0 ? 8 : 0);
  const payload = pad >= 0 ? [pad, ...b, ...new Array(pad).fill(0)] : [...b];
  return frame(0, flags, stream, payload);
}

export const rst = (stream: number, code: number) =>
  frame(3, 0, stream, [(code >>> 24) & 0xff, (code >>> 16) & 0xff, (code >>> 8) & 0xff, code & 0xff]);

/** gRPC Length-Prefixed-Message. */
export function grpcMessage(msg: Uint8Array, compressed = false): Uint8Array {
  const out = new Uint8Array(5 + msg.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, msg.length);
  out.set(msg, 5);
  return out;
}

/** One side's HPACK state: HEADERS (+CONTINUATION) frames for a header list. */
export class HeaderWriter {
  readonly encoder: HpackEncoder;
  constructor(huffman = true) {
    this.encoder = new HpackEncoder(huffman);
  }

  /** HEADERS, split into `pieces` fragments (CONTINUATION after the first), optional padding and priority. */
  headers(
    stream: number,
    fields: HeaderField[],
    opts: { endStream?: boolean; pieces?: number; pad?: number; priority?: boolean } = {},
  ): Uint8Array {
    const block = this.encoder.encode(fields);
    const pieces = Math.max(1, Math.min(opts.pieces ?? 1, block.length));
    const cut = Math.ceil(block.length / pieces);
    const frags: Uint8Array[] = [];
    for (let i = 0; i < block.length; i += cut) frags.push(block.subarray(i, i + cut));
    if (frags.length === 0) frags.push(new Uint8Array(0));
    const out: Uint8Array[] = [];
    for (const [i, f] of frags.entries()) {
      const last = i === frags.length - 1;
      if (i === 0) {
        let flags = (opts.endStream ? 1 : 0) | (last ? 4 : 0);
        const pre: number[] = [];
        const post: number[] = [];
        if (opts.pad !== undefined) {
          flags |= 8;
          pre.push(opts.pad);
          post.push(...new Array(opts.pad).fill(0));
        }
        if (opts.priority) {
          flags |= 0x20;
          pre.push(0, 0, 0, 0, 15);
        }
        out.push(frame(1, flags, stream, [...pre, ...f, ...post]));
      } else out.push(frame(9, last ? 4 : 0, stream, f));
    }
    return Buffer.concat(out);
  }

  pushPromise(stream: number, promised: number, fields: HeaderField[]): Uint8Array {
    const block = this.encoder.encode(fields);
    return frame(5, 4, stream, [
      (promised >>> 24) & 0x7f,
      (promised >>> 16) & 0xff,
      (promised >>> 8) & 0xff,
      promised & 0xff,
      ...block,
    ]);
  }
}

/** A SessionContext that records entries, parse errors and annotations. */
export class RecordingContext implements SessionContext {
  readonly connectionId = 1;
  readonly client = { ip: '198.18.12.10', port: 40000 };
  readonly server = { ip: '198.18.12.11', port: 8080 };
  readonly entries: Parameters<SessionContext['emit']>[0][] = [];
  readonly errors: string[] = [];
  readonly annotations: Record<string, unknown> = {};
  emit(e: Parameters<SessionContext['emit']>[0]): void {
    this.entries.push(e);
  }
  parseError(detail: string): void {
    this.errors.push(detail);
  }
  annotate(key: string, value: unknown): void {
    this.annotations[key] = value;
  }
  switchTo(_name: string): TcpSession | null {
    return null;
  }
}

export type EmittedEntry = Omit<Entry, 'type' | 'id' | 'src' | 'dst' | 'connectionId'>;

/** Entry detail as tests read it (JSON-shaped: request/response fields vary by protocol). */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON-shaped detail by known paths
export type Detail = any;
