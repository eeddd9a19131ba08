/**
 * Drives a dissector session without the pipeline: a SessionContext that records entries and parse
 * errors, follows `switchTo` (so an HTTP/1.1 Upgrade lands in the WebSocket session as in the
 * router), and a feeder that cuts each message at given points.
 */

import type { SessionContext, TcpDissector, TcpSession } from '../../../src/dissect/dissector.js';
import type { Entry } from '../../../src/dissect/entry.js';
import { http1Dissector } from '../../../src/dissect/http1/index.js';
import { websocketDissector } from '../../../src/dissect/websocket/index.js';
import type { Direction } from '../../../src/flows/stream.js';

export type Emitted = Omit<Entry, 'type' | 'connectionId'>;

/** One message of a conversation: who sent it, its bytes, when (µs). */
export interface Wire {
  dir: Direction;
  data: Uint8Array;
  ts: number;
}

export class FakeContext implements SessionContext {
  readonly connectionId = 1;
  readonly client = { ip: '198.18.11.10', port: 40000 };
  readonly server = { ip: '198.18.11.11', port: 8080 };
  readonly entries: Emitted[] = [];
  readonly errors: string[] = [];
  readonly switches: string[] = [];
  session: TcpSession;
  private seq = 0;

  constructor(
    first: TcpDissector,
    private readonly others: TcpDissector[] = [http1Dissector, websocketDissector],
  ) {
    this.session = first.createSession(this);
  }

  emit(e: Parameters<SessionContext['emit']>[0]): string {
    const id = `1-${++this.seq}`;
    // A whole entry (SessionContext.emit) comes with an empty id, which the router sets: so here.
    this.entries.push({ ...e, id, src: e.src ?? this.client, dst: e.dst ?? this.server });
    return id;
  }

  parseError(detail: string): void {
    this.errors.push(detail);
  }

  annotate(): void {}

  switchTo(name: string): TcpSession | null {
    this.switches.push(name);
    const d = this.others.find((x) => x.name === name);
    if (!d) return null;
    this.session = d.createSession(this);
    return this.session;
  }
}

/**
 * Feeds a conversation to a fresh session of `first`, each message cut at `cuts` (offsets into the
 * message, any order, out-of-range ones ignored); each piece is a fresh copy, as the capture
 * buffer would be reused. Ends both directions and closes.
 */
export function run(
  first: TcpDissector,
  convo: Wire[],
  cuts: number[][] = [],
  others?: TcpDissector[],
): FakeContext {
  const ctx = new FakeContext(first, others);
  for (const [i, w] of convo.entries()) {
    const points = [...new Set((cuts[i] ?? []).filter((c) => c > 0 && c < w.data.length))].sort(
      (a, b) => a - b,
    );
    let at = 0;
    for (const p of [...points, w.data.length]) {
      const piece = w.data.slice(at, p);
      ctx.session.onData(w.dir, piece, w.ts);
      piece.fill(0xee); // the reused buffer: the session must have copied what it keeps
      at = p;
    }
  }
  const last = convo[convo.length - 1]?.ts ?? 0;
  ctx.session.onEnd(0, last);
  ctx.session.onEnd(1, last);
  ctx.session.onClose(last);
  return ctx;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

export function bytes(...parts: (string | Uint8Array)[]): Uint8Array {
  return Uint8Array.from(
    Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))),
  );
}
