/**
 * What one live-stream client is owed, bounded. A client that reads slowly (or not at all) must not
 * grow the hub's memory, and must learn what it missed:
 *
 * - While the socket's own buffer (`bufferedAmount`: ws's unsent frames plus the TCP socket's
 *   unwritten bytes) is under `highWaterBytes`, messages go straight to the socket.
 * - Above it they wait here, at most `maxMessages` and `maxBytes` of them. When one more would pass
 *   either cap, the oldest entries are dropped first (a live view wants the newest) and counted.
 * - Before the next message the client does get, it is told `{"type":"dropped","count":N}`: so
 *   every gap in its stream is announced exactly where it is.
 *
 * Control messages (a query's acknowledgement or error) are never dropped: they tell the client
 * which filter the entries after them passed. A client that keeps sending queries without reading
 * the answers would pile them up, so at most `maxControl` wait at once; past that, `push` says no
 * and the caller closes the socket.
 *
 * The most a client can hold is thus `highWaterBytes` plus one message in the socket, and
 * `maxBytes` here.
 */

/** The part of a `ws` WebSocket the queue drives. */
export interface QueueSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Buffer, options: { binary: boolean }, cb: (err?: Error) => void): void;
}

export interface SendQueueLimits {
  maxMessages: number;
  maxBytes: number;
  highWaterBytes: number;
  maxControl: number;
}

export const DEFAULT_SEND_QUEUE_LIMITS: SendQueueLimits = {
  maxMessages: 1000,
  maxBytes: 2 << 20,
  highWaterBytes: 512 << 10,
  maxControl: 8,
};

export interface SendQueueStats {
  queued: number;
  queuedBytes: number;
  /** The most that ever waited at once (never above the limits). */
  peakQueued: number;
  peakQueuedBytes: number;
  /** Entries written to the socket, and dropped unsent. */
  sent: number;
  dropped: number;
  /** Dropped entries not yet announced to the client. */
  unannounced: number;
  bufferedAmount: number;
}

const OPEN = 1;

interface Item {
  data: Buffer;
  control: boolean;
  /** Entries dropped just before this one, announced right before it is sent. */
  droppedBefore: number;
}

export class SendQueue {
  /** items[head] is the oldest; compacted now and then rather than shifted each time. */
  private items: (Item | undefined)[] = [];
  private head = 0;
  private bytes = 0;
  private controls = 0;
  /** Entries dropped after every queued item (or with none queued): announced before the next one. */
  private droppedAtTail = 0;
  private peakQueued = 0;
  private peakBytes = 0;
  private sent = 0;
  private dropped = 0;
  private announced = 0;
  private closed = false;
  /** One callback for every send, so a flushed write pulls the next ones (ws calls it once written). */
  private readonly onWritten = (err?: Error): void => {
    if (err) this.close();
    else if (this.length > 0 || this.droppedAtTail > 0) this.pump();
  };

  constructor(
    private readonly socket: QueueSocket,
    readonly limits: SendQueueLimits = DEFAULT_SEND_QUEUE_LIMITS,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** An entry (JSON text as UTF-8): sent, queued, or, when the queue is full, the oldest dropped. */
  pushEntry(data: Buffer): void {
    if (this.closed) return;
    if (this.canWriteNow()) {
      this.write(data, false);
      return;
    }
    this.makeRoom(data.length);
    if (this.fits(data.length)) this.append(data, false);
    else {
      // Larger than the whole queue, or only control messages wait: this entry is the one dropped.
      this.dropped++;
      this.droppedAtTail++;
    }
    this.pump();
  }

  /** A control message, never dropped. False: too many wait already; the caller should close. */
  pushControl(data: Buffer): boolean {
    if (this.closed) return true;
    if (this.canWriteNow()) {
      this.write(data, true);
      return true;
    }
    if (this.controls >= this.limits.maxControl) return false;
    this.makeRoom(data.length);
    if (!this.fits(data.length)) return false;
    this.controls++;
    this.append(data, true);
    this.pump();
    return true;
  }

  /** Stops sending and lets go of everything queued (the socket closed). */
  close(): void {
    this.closed = true;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.controls = 0;
  }

  stats(): SendQueueStats {
    return {
      queued: this.length,
      queuedBytes: this.bytes,
      peakQueued: this.peakQueued,
      peakQueuedBytes: this.peakBytes,
      sent: this.sent,
      dropped: this.dropped,
      unannounced: this.dropped - this.announced,
      bufferedAmount: this.closed ? 0 : this.socket.bufferedAmount,
    };
  }

  private canWriteNow(): boolean {
    return (
      this.length === 0 && this.droppedAtTail === 0 && this.socket.bufferedAmount < this.limits.highWaterBytes
    );
  }

  private fits(size: number): boolean {
    return this.length + 1 <= this.limits.maxMessages && this.bytes + size <= this.limits.maxBytes;
  }

  /** Drops the oldest entries until `size` more bytes and one more message fit. */
  private makeRoom(size: number): void {
    const { maxMessages, maxBytes } = this.limits;
    while (this.length > 0 && (this.length + 1 > maxMessages || this.bytes + size > maxBytes)) {
      if (!this.dropOldestEntry()) return;
    }
  }

  private dropOldestEntry(): boolean {
    // Control messages are at most maxControl: the scan is short.
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.control) continue;
      if (i === this.head) this.items[this.head++] = undefined;
      else this.items.splice(i, 1);
      this.bytes -= item.data.length;
      this.dropped++;
      // The gap now lies just before the item that followed it.
      const next = this.items[i === this.head - 1 ? this.head : i];
      if (next) next.droppedBefore += item.droppedBefore + 1;
      else this.droppedAtTail += item.droppedBefore + 1;
      if (this.length === 0) {
        this.items = [];
        this.head = 0;
      }
      return true;
    }
    return false;
  }

  private append(data: Buffer, control: boolean): void {
    this.items.push({ data, control, droppedBefore: this.droppedAtTail });
    this.droppedAtTail = 0;
    this.bytes += data.length;
    if (this.length > this.peakQueued) this.peakQueued = this.length;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
  }

  private shift(): Item | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    this.bytes -= item.data.length;
    if (item.control) this.controls--;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  private announce(count: number): void {
    this.announced += count;
    this.write(Buffer.from(JSON.stringify({ type: 'dropped', count })), true);
  }

  /** Writes while the socket's buffer is under the high-water mark; the write callbacks resume it. */
  private pump(): void {
    while (!this.closed && this.socket.bufferedAmount < this.limits.highWaterBytes) {
      if (this.socket.readyState !== OPEN) {
        this.close();
        return;
      }
      const item = this.items[this.head];
      if (item === undefined) {
        if (this.droppedAtTail > 0) {
          const n = this.droppedAtTail;
          this.droppedAtTail = 0;
          this.announce(n);
        }
        return;
      }
      if (item.droppedBefore > 0) {
        const n = item.droppedBefore;
        item.droppedBefore = 0;
        this.announce(n);
        continue;
      }
      this.shift();
      this.write(item.data, item.control);
    }
  }

  private write(data: Buffer, control: boolean): void {
    if (this.socket.readyState !== OPEN) {
      this.close();
      return;
    }
    if (!control) this.sent++;
    this.socket.send(data, { binary: false }, this.onWritten);
  }
}
