/** A mistake in how podwire was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const DURATION_UNITS: Record<string, number> = {
  us: 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/** Parses `500ms`, `10s`, `5m`, `1h` (a bare number is seconds) into microseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} takes a duration like 500ms, 10s, 5m or 1h, not '${text}'`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!);
}

/** Parses a whole number of at least `min`. */
export function parseCount(flag: string, text: string, min = 1): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UsageError(`--${flag} takes a whole number of at least ${min}, not '${text}'`);
  }
  return Number(text);
}
