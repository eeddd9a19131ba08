/**
 * At most N starts in any sliding window of one second, the rest waiting in a bounded queue.
 * A sliding window (the times of the last N starts in a ring) lets a burst of N go at once and
 * then holds the rate exactly, where a token bucket would allow up to 2N in the first second.
 */

/** A piece of work that may wait: `run` when its turn comes, `cancel` when it never will. */
export interface QueuedTask {
  run(): void;
  cancel(): void;
}

export class RateLimiter {
  /** Starts allowed per window. */
  private readonly slots: number;
  private readonly windowMs: number;
  /** Times of the last `slots` starts; the oldest is at `next`. */
  private readonly starts: Float64Array;
  private next = 0;
  private readonly queue: (QueuedTask | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /**
   * @param perSecond starts per second (> 0; fractions allowed: 0.5 is one start every 2 s)
   * @param queueSize tasks that may wait for their turn; beyond it `submit` refuses
   */
  constructor(
    perSecond: number,
    private readonly queueSize: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new RangeError(`rate ${perSecond}/s`);
    // N slots over N/rate seconds is `rate` per second; N capped so the ring stays small.
    this.slots = Math.min(Math.max(1, Math.floor(perSecond)), 100_000);
    this.windowMs = (1000 * this.slots) / perSecond;
    this.starts = new Float64Array(this.slots).fill(Number.NEGATIVE_INFINITY);
  }

  /** Tasks waiting for their turn. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Runs the task now if the window has room, else queues it; false (and nothing done) when the queue is full. */
  submit(task: QueuedTask): boolean {
    if (this.closed) return false;
    if (this.queued === 0 && this.tryStart()) {
      task.run();
      return true;
    }
    if (this.queued >= this.queueSize) return false;
    this.queue.push(task);
    this.schedule();
    return true;
  }

  /** Cancels every waiting task and stops. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    for (const t of waiting) t?.cancel();
  }

  private tryStart(): boolean {
    const t = this.now();
    if (t - this.starts[this.next]! < this.windowMs) return false;
    this.starts[this.next] = t;
    this.next = (this.next + 1) % this.slots;
    return true;
  }

  private drain = (): void => {
    this.timer = null;
    while (this.queued > 0 && this.tryStart()) {
      const task = this.queue[this.head];
      this.queue[this.head++] = undefined;
      task?.run();
    }
    if (this.queued === 0) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
  };

  private schedule(): void {
    if (this.timer || this.closed || this.queued === 0) return;
    const wait = this.starts[this.next]! + this.windowMs - this.now();
    // A referenced timer: a command waiting on `settle` must not exit while names are queued;
    // `close` clears it.
    this.timer = setTimeout(this.drain, Math.max(0, Math.ceil(wait)));
  }
}
