/**
 * The number formats k8spacket's node graph prints, reproduced so its dashboards read the same:
 * sizes as github.com/inhies/go-bytesize prints them (`ByteSize.String()`: format `%.2f` then the
 * unit, 1024-based, no space: `512.00B`, `1.50KB`), durations as Go's `time.Duration.String()`
 * (`1.5s`, `2m0s`, `339.185666ms`, `850µs`).
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'] as const;

/**
 * `x` with two decimals as Go's `%.2f` prints it: the exact binary value rounded to nearest, ties
 * to even (JavaScript's toFixed breaks ties upward). A tie needs x·100 to end in exactly .5, which a
 * double can hold only when x is a multiple of 1/8 — the only case that differs.
 */
export function goFixed2(x: number): string {
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) < 2 ** 50) {
    const hundredths = x * 100; // exact: x = k/8 and |x| small
    const floor = Math.floor(hundredths);
    if (hundredths - floor === 0.5) {
      const even = floor % 2 === 0 ? floor : floor + 1;
      return (even / 100).toFixed(2);
    }
  }
  return x.toFixed(2);
}

/** go-bytesize's `ByteSize(x).String()`: the largest unit not above x (B under 1 KiB). */
export function byteSize(x: number): string {
  let unit = 0;
  let scaled = x;
  while (unit < UNITS.length - 1 && x >= 1024 ** (unit + 1)) unit++;
  scaled = x / 1024 ** unit;
  return `${goFixed2(scaled)}${UNITS[unit]}`;
}

/** `.123` for v/10^prec, trailing zeros dropped, nothing when the fraction is 0 (Go's fmtFrac). */
function frac(v: bigint, prec: number): { text: string; rest: bigint } {
  let text = '';
  let print = false;
  let rest = v;
  for (let i = 0; i < prec; i++) {
    const digit = rest % 10n;
    print ||= digit !== 0n;
    if (print) text = `${digit}${text}`;
    rest /= 10n;
  }
  return { text: print ? `.${text}` : '', rest };
}

/** Go's `time.Duration(ns).String()` for a whole number of nanoseconds. */
export function goDuration(nanoseconds: number): string {
  let u = BigInt(Math.round(Math.abs(nanoseconds)));
  const sign = nanoseconds < 0 && u !== 0n ? '-' : '';
  if (u === 0n) return '0s';
  if (u < 1_000_000_000n) {
    if (u < 1000n) return `${sign}${u}ns`;
    const [prec, unit] = u < 1_000_000n ? [3, 'µs'] : [6, 'ms'];
    const f = frac(u, prec);
    return `${sign}${f.rest}${f.text}${unit}`;
  }
  const f = frac(u, 9);
  u = f.rest;
  let out = `${u % 60n}${f.text}s`;
  u /= 60n;
  if (u > 0n) {
    out = `${u % 60n}m${out}`;
    u /= 60n;
    if (u > 0n) out = `${u}h${out}`;
  }
  return `${sign}${out}`;
}

/** A duration in milliseconds as k8spacket prints it (`time.Duration(ms * time.Millisecond)`). */
export function durationMs(ms: number): string {
  // Rounded, not truncated as Go's float-to-int conversion does: podwire's durations are whole
  // microseconds, and ms·10^6 in binary can land a hair below them (1017.557 ms -> ...556999 ns).
  return goDuration(Math.round(ms * 1e6));
}
