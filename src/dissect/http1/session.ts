/**
 * One HTTP/1.x connection: a reader per direction, the exchange queue between them, and the hand-
 * over when the connection stops being HTTP/1.x (101 Switching Protocols to WebSocket or h2c, RFC
 * 9110 §7.8; a CONNECT tunnel, RFC 9110 §9.3.6).
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import type { UpgradedRequest } from '../http2/session.js';
import type { WebSocketUpgrade } from '../websocket/session.js';
import type { BodyCollector } from './body.js';
import { type Exchange, ExchangeQueue, newExchange } from './matcher.js';
import {
  type HeaderList,
  header,
  headerTokens,
  lowerName,
  type RequestHead,
  type ResponseHead,
} from './messages.js';
import { type BodyFraming, MessageReader, type ReaderEvents } from './parser.js';
import { buildEntry } from './summary.js';

/** Interim (1xx) responses kept per exchange. */
const MAX_INTERIM = 8;

// Framings without a length, shared (the reader only reads them).
const NONE: BodyFraming = { kind: 'none' };
const CHUNKED: BodyFraming = { kind: 'chunked' };
const CLOSE: BodyFraming = { kind: 'close' };
const SWITCH: BodyFraming = { kind: 'switch' };
/** No Upgrade asked for (Exchange.upgrade; never written to). */
const NO_UPGRADE: string[] = [];

export class Http1Session implements TcpSession {
  private readonly queue = new ExchangeQueue();
  private readonly readers: readonly [MessageReader, MessageReader];
  /** The exchange whose request / response the readers are filling. */
  private reqEx: Exchange | null = null;
  private respEx: Exchange | null = null;
  private respInterim = false;
  /** Bodies holding views of the chunk being read: copied when the call ends (BodyCollector.add). */
  private readonly volatile: BodyCollector[] = [];
  /** A request with Upgrade or CONNECT whose final response has not come: client bytes are held. */
  private waiting: Exchange | null = null;
  /** After a CONNECT's 2xx: bytes are a tunnel's; the first client bytes say whether it is TLS. */
  private tunnel: 'no' | 'open' | 'opaque' = 'no';

  /** Entries get request and response (SessionContext.detail). */
  private readonly detail: boolean;

  constructor(private readonly ctx: SessionContext) {
    this.detail = ctx.detail !== false;
    this.readers = [new MessageReader(0, this.requestEvents()), new MessageReader(1, this.responseEvents())];
  }

  /** Bytes held copied across calls by both readers (for tests and stats). */
  get buffered(): number {
    return this.readers[0].buffered + this.readers[1].buffered;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.tunnel !== 'no') {
      this.tunnelData(dir, data, ts);
      return;
    }
    this.readers[dir].feed(data, ts);
    // Bodies whose exchange was emitted within the call were released; the rest outlive `data`.
    const volatile = this.volatile;
    if (volatile.length > 0) {
      for (const body of volatile) body.secure();
      volatile.length = 0;
    }
  }

  onGap(dir: Direction, bytes: number, ts: number): void {
    this.readers[dir].onGap(bytes, ts);
    this.flush();
  }

  onEnd(dir: Direction, _ts: number): void {
    this.readers[dir].onEnd();
    this.flush();
  }

  onClose(_ts: number): void {
    for (const r of this.readers) r.onEnd();
    this.flush();
    for (const ex of this.queue.drain()) {
      if (!ex.reqDone) ex.errors.push('request incomplete');
      else if (ex.resp && !ex.respDone) ex.errors.push('response incomplete');
      this.emit(ex);
    }
  }

  private emit(ex: Exchange): void {
    const entry = buildEntry(ex, this.ctx, this.detail);
    ex.reqBody.release();
    ex.respBody.release();
    // The router returns the entry's id (SessionContext.emit is declared void for older callers).
    const id = this.ctx.emit(entry) as unknown;
    if (typeof id === 'string') ex.entryId = id;
  }

  private bodyData(body: BodyCollector | undefined, chunk: Uint8Array): void {
    if (body?.add(chunk)) this.volatile.push(body);
  }

  private flush(): void {
    for (let ex = this.queue.takeNext(); ex; ex = this.queue.takeNext()) this.emit(ex);
  }

  private requestEvents(): ReaderEvents {
    return {
      onHead: (head, ts) => {
        if (head.kind !== 'request') return NONE;
        const ex = newExchange(head, ts, upgradeOf(head));
        const evicted = this.queue.push(ex);
        if (evicted) this.emit(evicted);
        this.reqEx = ex;
        return this.requestFraming(head);
      },
      onBody: (chunk) => this.bodyData(this.reqEx?.reqBody, chunk),
      onBodyGap: (bytes) => {
        if (!this.reqEx) return;
        this.reqEx.reqBody.gap(bytes);
        this.reqEx.errors.push(`${bytes} bytes of the request body lost in a gap`);
      },
      onMessageEnd: (wire, error) => {
        const ex = this.reqEx;
        if (!ex) return;
        ex.reqSize += wire;
        ex.reqDone = true;
        if (error) ex.errors.push(`request: ${error}`);
        if (ex.upgrade.length > 0 && ex.resp === null) {
          // RFC 9110 §7.8: after an Upgrade request the client speaks the new protocol only once
          // the 101 came; hold its next bytes until the response says which protocol they are.
          this.waiting = ex;
          this.readers[0].pause();
        }
        this.flush();
      },
      onLostHead: (ts, bytes, why) => {
        const ex = newExchange(null, ts);
        ex.reqSize = bytes;
        ex.errors.push(`request lost: ${why}`);
        const evicted = this.queue.push(ex);
        if (evicted) this.emit(evicted);
      },
      onMalformed: (detail) => this.ctx.parseError(`http1 request: ${detail}`),
      onSwitch: () => {},
    };
  }

  private responseEvents(): ReaderEvents {
    return {
      onHead: (head, ts) => {
        if (head.kind !== 'response') return NONE;
        const ex = this.queue.answerFor(ts);
        this.respEx = ex;
        if (head.status >= 100 && head.status < 200 && head.status !== 101) {
          // RFC 9110 §15.2: interim responses precede the final one; they have no body.
          if (ex.interim.length < MAX_INTERIM) ex.interim.push(head);
          this.respInterim = true;
          return NONE;
        }
        this.respInterim = false;
        ex.resp = head;
        ex.respTs = ts;
        const framing = this.responseFraming(ex, head);
        if (framing.kind === 'switch') {
          // The 101 (or CONNECT's 2xx) ends HTTP here: its exchange is complete now, before the
          // hand-over, so the new protocol's messages can name its entry.
          ex.respSize += head.size;
          ex.respDone = true;
          this.flush();
        } else if (this.waiting === ex) {
          // Upgrade refused (or ignored): the held client bytes are HTTP after all.
          this.waiting = null;
          this.readers[0].resume();
        }
        return framing;
      },
      // Without detail a response body is never shown (a request's may still be GraphQL).
      onBody: (chunk) => {
        if (this.detail) this.bodyData(this.respEx?.respBody, chunk);
      },
      onBodyGap: (bytes) => {
        if (!this.respEx) return;
        this.respEx.respBody.gap(bytes);
        this.respEx.errors.push(`${bytes} bytes of the response body lost in a gap`);
      },
      onMessageEnd: (wire, error) => {
        const ex = this.respEx;
        if (!ex) return;
        ex.respSize += wire;
        if (this.respInterim) {
          this.respInterim = false;
          return;
        }
        ex.respDone = true;
        if (error) ex.errors.push(`response: ${error}`);
        this.flush();
      },
      onLostHead: (ts, bytes, why) => {
        const ex = this.queue.answerFor(ts);
        ex.respSize += bytes;
        ex.respDone = true;
        ex.errors.push(`response lost: ${why}`);
        this.flush();
      },
      onMalformed: (detail) => this.ctx.parseError(`http1 response: ${detail}`),
      onSwitch: (rest, ts) => this.handOver(rest, ts),
    };
  }

  /** RFC 9112 §6.3 rules 4-6 for requests: chunked, Content-Length, else no body. */
  private requestFraming(head: RequestHead): BodyFraming {
    const te = headerTokens(head.headers, 'transfer-encoding');
    if (te.length > 0) {
      if (te[te.length - 1] === 'chunked') return CHUNKED;
      // Rule 4: a request whose final coding is not chunked cannot be framed; the server closes.
      this.ctx.parseError('http1 request: RFC 9112 §6.3: Transfer-Encoding without final chunked');
      return CLOSE;
    }
    const cl = contentLength(head.headers);
    if (cl === 'invalid') {
      this.ctx.parseError('http1 request: RFC 9112 §6.3: invalid Content-Length');
      return CLOSE;
    }
    return cl === null ? NONE : { kind: 'length', length: cl };
  }

  /** RFC 9112 §6.3 rules 1-8 for responses; the request's method matters (HEAD, CONNECT). */
  private responseFraming(ex: Exchange, head: ResponseHead): BodyFraming {
    const method = ex.req?.method;
    if (head.status === 101) return SWITCH;
    if (method === 'CONNECT' && head.status >= 200 && head.status < 300) return SWITCH;
    if (method === 'HEAD' || head.status === 204 || head.status === 304 || head.status < 200) return NONE;
    const te = headerTokens(head.headers, 'transfer-encoding');
    if (te.length > 0) return te[te.length - 1] === 'chunked' ? CHUNKED : CLOSE;
    const cl = contentLength(head.headers);
    if (cl === 'invalid') {
      this.ctx.parseError('http1 response: RFC 9112 §6.3: invalid Content-Length');
      return CLOSE;
    }
    return cl === null ? CLOSE : { kind: 'length', length: cl };
  }

  /** After a 101 or a CONNECT's 2xx: the rest of the connection is another protocol's. */
  private handOver(rest: Uint8Array, ts: number): void {
    const ex = this.respEx;
    this.waiting = null;
    const held = this.readers[0].release();
    this.readers[1].stop();
    // Nothing left in the queue can complete on this connection any more.
    for (const left of this.queue.drain()) {
      if (!left.respDone) left.errors.push('no response before the protocol switch');
      this.emit(left);
    }
    if (!ex) return;
    if (ex.req?.method === 'CONNECT') {
      this.tunnel = 'open';
      for (const h of held) this.tunnelData(0, h.data, h.ts);
      return;
    }
    const offered = ex.upgrade;
    const chosen = (header(ex.resp?.headers ?? [], 'upgrade') ?? '').trim().toLowerCase();
    const isWs = chosen === 'websocket' || (chosen === '' && offered.includes('websocket'));
    const isH2c = chosen === 'h2c' || (chosen === '' && offered.includes('h2c'));
    const next = isWs ? this.ctx.switchTo('websocket') : isH2c ? this.ctx.switchTo('http2') : null;
    if (!next) return; // an upgrade to something we do not dissect: stop here
    if (isWs && 'attachUpgrade' in next) {
      const upgrade: WebSocketUpgrade = {
        upgradeEntryId: ex.entryId ?? null,
        path: ex.req?.target ?? '',
        extensions: header(ex.resp?.headers ?? [], 'sec-websocket-extensions'),
        subprotocol: header(ex.resp?.headers ?? [], 'sec-websocket-protocol'),
      };
      (next as { attachUpgrade(u: WebSocketUpgrade): void }).attachUpgrade(upgrade);
    }
    if (isH2c && ex.req && acceptsUpgradedRequest(next)) {
      // RFC 7540 §3.2: the upgraded request is stream 1; its response comes over HTTP/2.
      next.upgradeRequest({
        method: ex.req.method,
        path: ex.req.target,
        headers: ex.req.headers,
        ts: ex.reqTs,
        size: ex.reqSize,
      });
    }
    for (const h of held) next.onData(0, h.data, h.ts);
    if (rest.length > 0) next.onData(1, rest, ts);
  }

  private tunnelData(dir: Direction, data: Uint8Array, ts: number): void {
    if (this.tunnel !== 'open' || dir !== 0 || data.length === 0) return;
    // A tunnel usually carries TLS (RFC 8446 §5.1: a handshake record, 0x16 0x03 ...).
    this.tunnel = 'opaque';
    if (data[0] === 0x16 && data[1] === 0x03) this.ctx.switchTo('tls')?.onData(dir, data, ts);
  }
}

/** An HTTP/2 session that takes the request of an h2c upgrade as its stream 1. */
interface H2cSession extends TcpSession {
  upgradeRequest(req: UpgradedRequest): void;
}

function acceptsUpgradedRequest(s: TcpSession): s is H2cSession {
  return typeof (s as Partial<H2cSession>).upgradeRequest === 'function';
}

/** What a request asks to switch to: Upgrade tokens when Connection lists "upgrade", or CONNECT. */
function upgradeOf(head: RequestHead): string[] {
  if (head.method === 'CONNECT') return ['connect'];
  if (!headerTokens(head.headers, 'connection').includes('upgrade')) return NO_UPGRADE;
  return headerTokens(head.headers, 'upgrade').map((t) => t.split('/')[0]!);
}

/**
 * Content-Length (RFC 9110 §8.6): 1*DIGIT; a list of identical values is accepted as one (RFC 9112
 * §6.3 rule 5); anything else is invalid. Null when absent.
 */
function contentLength(headers: HeaderList): number | null | 'invalid' {
  let value: number | null = null;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const n = h[0];
    if (n.length !== 14 || lowerName(n) !== 'content-length') continue;
    const v = h[1];
    if (!v.includes(',')) {
      // The usual single value (parsed as the loop below would).
      const x = digits(v.trim());
      if (x < 0 || (value !== null && value !== x)) return 'invalid';
      value = x;
      continue;
    }
    for (const part of v.split(',')) {
      const x = digits(part.trim());
      if (x < 0 || (value !== null && value !== x)) return 'invalid';
      value = x;
    }
  }
  return value;
}

/** 1 to 15 ASCII digits as a number (exact below 2^53), else -1. */
function digits(t: string): number {
  const len = t.length;
  if (len === 0 || len > 15) return -1;
  let x = 0;
  for (let i = 0; i < len; i++) {
    const d = t.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    x = x * 10 + d;
  }
  return x;
}
