/**
 * Request/response pairing for HTTP/1.x: responses come back in request order (RFC 9112 §9.3.2,
 * pipelining), so exchanges wait in a FIFO and each final response takes the oldest one without a
 * final response; 1xx responses other than 101 are interim and stay with it (RFC 9110 §15.2).
 * Entries leave in order once both halves are complete.
 */
import { BodyCollector } from './body.js';
import type { RequestHead, ResponseHead } from './messages.js';

/** Exchanges waiting at once on one connection; past it the oldest leaves unanswered. */
export const MAX_PENDING_EXCHANGES = 32;

export interface Exchange {
  /** Null when the response's request was not seen (capture started late, or a gap ate it). */
  req: RequestHead | null;
  reqTs: number;
  reqSize: number;
  reqBody: BodyCollector;
  reqDone: boolean;
  interim: ResponseHead[];
  resp: ResponseHead | null;
  /** First byte of the final response. */
  respTs: number;
  /** Wire bytes of the interim and final responses. */
  respSize: number;
  respBody: BodyCollector;
  respDone: boolean;
  errors: string[];
  /** Upgrade tokens asked for (RFC 9110 §7.8), `connect` for CONNECT; empty for neither. */
  upgrade: string[];
  /** The id the entry got when emitted (for WebSocket messages to link to). */
  entryId?: string;
}

export function newExchange(req: RequestHead | null, ts: number, upgrade: string[] = []): Exchange {
  return {
    req,
    upgrade,
    reqTs: ts,
    reqSize: 0,
    reqBody: new BodyCollector(),
    reqDone: req === null,
    interim: [],
    resp: null,
    respTs: 0,
    respSize: 0,
    respBody: new BodyCollector(),
    respDone: false,
    errors: [],
  };
}

export class ExchangeQueue {
  private readonly items: Exchange[] = [];

  get length(): number {
    return this.items.length;
  }

  /** A request started; returns any exchange pushed out by the cap (to be emitted unanswered). */
  push(ex: Exchange): Exchange | null {
    this.items.push(ex);
    if (this.items.length <= MAX_PENDING_EXCHANGES) return null;
    const old = this.items.shift()!;
    old.errors.push(`more than ${MAX_PENDING_EXCHANGES} requests waiting; no response paired`);
    return old;
  }

  /**
   * The exchange a response starting at `ts` answers: the oldest without a final response, unless
   * that request started after the response did (then the response's own request was never seen,
   * and an exchange without request is put before it).
   */
  answerFor(ts: number): Exchange {
    const i = this.items.findIndex((e) => e.resp === null && !e.respDone);
    const ex = i < 0 ? undefined : this.items[i];
    if (ex && ex.reqTs <= ts) return ex;
    const orphan = newExchange(null, ts);
    orphan.errors.push('request not captured');
    this.items.splice(i < 0 ? this.items.length : i, 0, orphan);
    return orphan;
  }

  /** The exchange at the head of the queue if it is complete, removed; else undefined. */
  takeNext(): Exchange | undefined {
    const ex = this.items[0];
    if (!ex || !(ex.reqDone && ex.respDone)) return undefined;
    return this.items.shift();
  }

  /** Complete exchanges at the head of the queue, removed in order. */
  takeReady(): Exchange[] {
    const out: Exchange[] = [];
    while (this.items.length > 0) {
      const ex = this.items[0]!;
      if (!(ex.reqDone && ex.respDone)) break;
      out.push(this.items.shift()!);
    }
    return out;
  }

  drain(): Exchange[] {
    return this.items.splice(0);
  }
}
