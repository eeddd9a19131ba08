/**
 * One Kafka connection: requests from the client, responses from the broker, paired by correlation id.
 *
 * Kafka protocol guide, "Network": the broker processes a connection's requests in the order sent and
 * answers in that order; clients pipeline (Java's max.in.flight.requests.per.connection is 5 by
 * default). So a response answers the pending request with its correlation id, and every request sent
 * before that one which is still pending will never be answered (its response was lost, or the broker
 * dropped it). Produce with acks=0 gets no response at all: it is an entry as soon as it is read.
 */
import type { Direction } from '../../flows/stream.js';
import type { SessionContext, TcpSession } from '../dissector.js';
import { apiName } from './apis.js';
import { parseRequestBody, parseResponseBody } from './bodies.js';
import {
  looksLikeRequest,
  MAX_REQUEST_SIZE,
  MAX_RESPONSE_SIZE,
  MIN_REQUEST_SIZE,
  MIN_RESPONSE_SIZE,
} from './detect.js';
import { type Framed, KafkaFramer } from './framer.js';
import { emptyBody, readRequestHeader, readResponseHeader } from './messages.js';
import { KafkaReader } from './reader.js';
import { buildEntry, type SeenRequest, type SeenResponse } from './summary.js';

/** Bytes of each message held and parsed (headers, topics, partitions, record batch headers). */
export const KEEP_BYTES = 256 * 1024;
/**
 * Requests waiting for their response per connection, by count and by the wire bytes read of them
 * (their decoded form is bounded by the lists' caps); the oldest leaves first, as unanswered.
 */
export const PENDING_CAP = 1024;
export const PENDING_BYTES = 4 << 20;
/** Bytes of one direction held while it is not yet known which side is the client. */
const HOLD_BYTES = 64 * 1024;

export class KafkaSession implements TcpSession {
  /** By role: 0 reads requests, 1 responses. */
  private readonly framers: readonly [KafkaFramer, KafkaFramer];
  /** Insertion order is send order, which is answer order. */
  private readonly pending = new Map<number, SeenRequest>();
  private pendingBytes = 0;
  /** Per role: framing was lost (garbage, or a gap between messages); waiting for a message start. */
  private readonly lost = [false, false];
  /**
   * The direction that carries requests. Normally the client's (0), but a capture that starts
   * mid-connection can only guess who opened it (the tracker takes the higher port's side), so the
   * first bytes decide: a direction whose first bytes read as a request is the client's.
   */
  private requestDir: Direction | null = null;
  /** The direction whose bytes came first while the roles could not be told yet. */
  private undecided: Direction | null = null;
  /** Its bytes, held until the roles are known. */
  private held: { data: Uint8Array; ts: number }[] = [];
  private heldBytes = 0;
  /** Some of them were lost (a gap, or past HOLD_BYTES). */
  private heldLost = false;

  constructor(private readonly ctx: SessionContext) {
    this.framers = [
      new KafkaFramer(
        MAX_REQUEST_SIZE,
        MIN_REQUEST_SIZE,
        KEEP_BYTES,
        (head) => {
          const v = looksLikeRequest(head, false);
          return v === 'yes' ? 'ok' : v === 'no' ? 'bad' : 'more';
        },
        (m) => this.safely(() => this.onRequest(m)),
      ),
      new KafkaFramer(
        MAX_RESPONSE_SIZE,
        MIN_RESPONSE_SIZE,
        KEEP_BYTES,
        () => 'ok',
        (m) => this.safely(() => this.onResponse(m)),
      ),
    ];
  }

  /** Bytes held across calls by both framers (for tests and bounds). */
  get buffered(): number {
    return this.framers[0].buffered + this.framers[1].buffered;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  onData(dir: Direction, data: Uint8Array, ts: number): void {
    if (data.length === 0) return;
    if (this.requestDir === null && !this.decide(dir, data, ts)) return;
    const role = dir === this.requestDir ? 0 : 1;
    if (this.lost[role]) {
      // Kafka has no sync marker. Messages are usually written, hence sent, from a segment start: resume
      // at the first segment that starts like one — a request that detection would accept, or a
      // response whose correlation id a pending request carries.
      if (!this.startsMessage(role, data)) return;
      this.lost[role] = false;
    }
    if (!this.framers[role].push(data, ts)) {
      this.ctx.parseError(
        role === 0 ? 'kafka: bytes that do not start a request' : 'kafka: bytes that do not start a response',
      );
      this.lost[role] = true;
    }
  }

  onGap(dir: Direction, bytes: number, _ts: number): void {
    if (this.requestDir === null) {
      // Before the roles are known: what was held of this direction no longer starts a message.
      if (this.undecided === dir) {
        this.held = [];
        this.heldBytes = 0;
        this.heldLost = true;
      }
      return;
    }
    const role = dir === this.requestDir ? 0 : 1;
    // A gap inside a message whose Size is known leaves the framing intact; otherwise resynchronise.
    if (!this.framers[role].gap(bytes)) this.lost[role] = true;
  }

  onEnd(dir: Direction, _ts: number): void {
    if (this.requestDir !== null) this.framers[dir === this.requestDir ? 0 : 1].end();
  }

  onClose(_ts: number): void {
    if (this.requestDir === null && this.undecided !== null) {
      // Only one direction spoke, and not with a request: the broker's responses (each becomes an
      // entry whose request was not captured), or bytes that are not Kafka's.
      this.decide(this.undecided === 0 ? 1 : 0, new Uint8Array(0), 0);
    }
    this.framers[0].end();
    this.framers[1].end();
    for (const q of this.pending.values()) this.emit(q, null, 'no response');
    this.pending.clear();
    this.pendingBytes = 0;
  }

  /**
   * Settles which direction carries requests. The tracker's guess (direction 0 is the client's) holds
   * when direction 0 starts like a request. Otherwise the first bytes of both directions decide: one
   * that starts like a request (strictly: known version, printable client_id) is the client's. A
   * response can look like a request (correlation id 0..13 reads as Produce v0..v13), so when both do,
   * the one whose correlation id the other repeats is the request. The first direction seen is held
   * (bounded) until then. Returns whether `data` can be handled now.
   */
  private decide(dir: Direction, data: Uint8Array, ts: number): boolean {
    if (this.undecided === null || this.undecided === dir) {
      if (dir === 0 && this.undecided === null && looksLikeRequest(data, false) !== 'no') {
        this.requestDir = 0;
        return true;
      }
      this.hold(dir, data, ts);
      // One side alone for long (a producer with acks=0 is never answered): settle without the other.
      if (this.heldBytes >= HOLD_BYTES) this.decide(dir === 0 ? 1 : 0, new Uint8Array(0), ts);
      return false;
    }
    const heldDir = this.undecided;
    const held = this.held;
    const head = Buffer.concat(held.map((h) => h.data)).subarray(0, 64);
    const [first0, first1] = dir === 0 ? [data, head] : [head, data];
    this.requestDir = requestDirection(first0, first1);
    const requestFirst = this.requestDir === 0 ? first0 : first1;
    if (looksLikeRequest(requestFirst, false) === 'no') {
      // Picked up mid-message (or not Kafka): requests are looked for from the next segment on.
      this.ctx.parseError('kafka: bytes that do not start a request');
      this.lost[0] = true;
    }
    if (this.heldLost) this.lost[heldDir === this.requestDir ? 0 : 1] = true;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) this.onData(heldDir, h.data, h.ts);
    return true;
  }

  private hold(dir: Direction, data: Uint8Array, ts: number): void {
    this.undecided = dir;
    const room = HOLD_BYTES - this.heldBytes;
    if (room > 0) {
      // Held bytes outlive the capture buffer: copied, at most HOLD_BYTES.
      this.held.push({ data: data.slice(0, room), ts });
      this.heldBytes += Math.min(room, data.length);
    }
    if (data.length > room) this.heldLost = true;
  }

  private startsMessage(role: 0 | 1, data: Uint8Array): boolean {
    if (role === 0) return looksLikeRequest(data, true) === 'yes';
    if (data.length < 8) return false;
    const size = i32(data, 0);
    const correlationId = i32(data, 4);
    return size >= MIN_RESPONSE_SIZE && size <= MAX_RESPONSE_SIZE && this.pending.has(correlationId);
  }

  /** Bad input must never throw out of a session; a bug in a parser becomes a counted parse error. */
  private safely(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.ctx.parseError(`kafka: internal error: ${(e as Error).message}`);
    }
  }

  private onRequest(m: Framed): void {
    const r = new KafkaReader(m.bytes, 4);
    const header = readRequestHeader(r);
    const partial = m.bytes.length < m.size;
    const body = r.ok ? parseRequestBody(r, header.apiKey, header.apiVersion) : null;
    const what = `${apiName(header.apiKey)} v${header.apiVersion} request`;
    const error = r.ok ? (body?.error ?? null) : r.error;
    // A message read only in part fails where its kept bytes end: that is not malformed.
    const malformed = error && !partial ? error : null;
    if (malformed) this.ctx.parseError(`kafka: ${what}: ${malformed}`);
    const q: SeenRequest = {
      header,
      body: body ?? { ...emptyBody(), error },
      ts: m.ts,
      size: m.size,
      lost: m.lost,
      cut: m.cut,
      partial,
      malformed,
      expectsResponse: !(header.apiKey === 0 && body?.fields.acks === 0),
      weight: m.bytes.length,
    };
    if (!q.expectsResponse) {
      this.emit(q, null, null);
      return;
    }
    const previous = this.take(header.correlationId);
    if (previous) this.emit(previous, null, 'no response (correlation id reused)');
    while (
      this.pending.size > 0 &&
      (this.pending.size >= PENDING_CAP || this.pendingBytes + q.weight > PENDING_BYTES)
    ) {
      const oldest = this.pending.keys().next();
      if (oldest.done) break;
      this.emit(this.take(oldest.value)!, null, 'no response (too many requests pending)');
    }
    this.pending.set(header.correlationId, q);
    this.pendingBytes += q.weight;
  }

  private take(correlationId: number): SeenRequest | null {
    const q = this.pending.get(correlationId);
    if (!q) return null;
    this.pending.delete(correlationId);
    this.pendingBytes -= q.weight;
    return q;
  }

  private onResponse(m: Framed): void {
    const r = new KafkaReader(m.bytes, 4);
    const partial = m.bytes.length < m.size;
    const correlationId = r.i32('correlation_id');
    const q = this.pending.get(correlationId) ?? null;
    if (q) {
      // Earlier requests still pending were skipped by the broker's in-order answers.
      for (const [id, earlier] of this.pending) {
        if (earlier === q) break;
        this.emit(this.take(id)!, null, 'no response');
      }
      this.take(correlationId);
    }
    let body = null;
    let error: string | null = r.ok ? null : r.error;
    if (q && r.ok) {
      const { apiKey, apiVersion } = q.header;
      const h = new KafkaReader(m.bytes, 4);
      readResponseHeader(h, apiKey, apiVersion);
      body = h.ok ? parseResponseBody(h, apiKey, apiVersion) : null;
      error = h.ok ? (body?.error ?? null) : h.error;
    }
    const malformed = error && !partial ? error : null;
    if (malformed) {
      const what = q ? `${apiName(q.header.apiKey)} v${q.header.apiVersion} response` : 'response';
      this.ctx.parseError(`kafka: ${what}: ${malformed}`);
    }
    const resp: SeenResponse = {
      correlationId,
      body,
      ts: m.ts,
      size: m.size,
      lost: m.lost,
      cut: m.cut,
      partial,
      malformed,
    };
    this.emit(q, resp, q ? null : 'request not captured');
  }

  private emit(q: SeenRequest | null, r: SeenResponse | null, missing: string | null): void {
    const entry = buildEntry(q, r, missing);
    // Entries read client -> server; when the broker turned out to be the tracker's "client", swap.
    if (this.requestDir === 1) this.ctx.emit({ ...entry, src: this.ctx.server, dst: this.ctx.client });
    else this.ctx.emit(entry);
  }
}

function i32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Which direction's first bytes are requests (see KafkaSession.decide). */
function requestDirection(first0: Uint8Array, first1: Uint8Array): Direction {
  const request0 = looksLikeRequest(first0, false) !== 'no';
  const request1 = looksLikeRequest(first1, true) === 'yes';
  // A side that never spoke tells nothing, and a response alone can read as a request: the tracker's
  // guess stands (mid-stream it takes the higher port's side for the client, brokers listen low).
  if (first0.length === 0 || first1.length === 0) return 0;
  if (!request1) return 0;
  if (!request0) return 1;
  // Both could be requests: a response repeats its request's correlation id (bytes 4..7 of a response,
  // 8..11 of a request).
  if (first0.length >= 8 && first1.length >= 12 && i32(first0, 4) === i32(first1, 8)) return 1;
  return 0;
}
