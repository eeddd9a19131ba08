/**
 * Reconnect delays: exponential with "equal jitter" (half fixed, half random), capped. The fixed
 * half keeps a flapping hub from being hammered; the random half keeps a fleet of agents that lost
 * the hub at the same moment from all coming back in the same millisecond.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the ceiling up to maxMs. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  /** After a connection that worked: the next failure starts again from minMs. */
  reset(): void {
    this.attempt = 0;
  }
}
