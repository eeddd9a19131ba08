/**
 * A one-line progress bar on stderr, shown only when stderr is a terminal (never in pipes or CI),
 * only for work that lasts (it appears after `PODWIRE_PROGRESS_DELAY_MS`, 300 ms by default), and
 * redrawn at most ten times a second.
 */
const DELAY_MS = Number(process.env.PODWIRE_PROGRESS_DELAY_MS ?? 300);

export class ProgressBar {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly enabled: boolean = Boolean(process.stderr.isTTY),
  ) {}

  update(done: number, total: number, packets: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < DELAY_MS) return;
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const secs = Math.max(0.001, (now - this.started) / 1000);
    const mbps = done / 1e6 / secs;
    const eta = frac > 0 ? (secs / frac - secs).toFixed(0) : '?';
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${packets.toLocaleString('en-US')} packets  ${mbps.toFixed(1)} MB/s  eta ${eta}s`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
