/**
 * Turns on the event loop for work that comes in pieces from many sources (the hub's agent
 * sessions, hub-stream.ts): each source that has something to do queues itself once, and the
 * queue is served round robin, one piece per source at a time. After `turnMs` (or when nothing is
 * queued) the loop is given back with setImmediate, so that sockets, timers and other requests run
 * between turns; a turn does at least one piece, however long it takes.
 */
import { performance } from 'node:perf_hooks';

export interface TakesTurns {
  /** Does one piece of work; queues itself again (wake) if more is waiting. */
  step(): void;
}

export class Turns<T extends TakesTurns> {
  private readonly ready: T[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly turnMs: number) {}

  /** `s` has something to do; the caller makes sure it is not queued here already. */
  wake(s: T): void {
    this.ready.push(s);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const until = performance.now() + this.turnMs;
    do {
      const s = this.ready[this.head++];
      if (!s) break;
      s.step();
    } while (performance.now() < until);
    // Served entries are cut off the front now and then, not one shift() per step.
    if (this.head > 1024 || this.head >= this.ready.length) {
      this.ready.splice(0, this.head);
      this.head = 0;
    }
    if (this.head < this.ready.length && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  };
}
