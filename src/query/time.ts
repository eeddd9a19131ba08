/**
 * `timestamp("...")` and `duration("...")` arguments, as CEL reads them: an RFC 3339 date-time
 * (RFC 3339 §5.6, with a time zone offset or Z) and a Go duration string (`time.ParseDuration`:
 * a sequence of decimal numbers with units ns, us/µs, ms, s, m, h, optionally signed).
 * Timestamps come back in microseconds since the epoch (the entry's `timestamp` unit), durations
 * in nanoseconds (the checker converts them to the unit of the field they meet).
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Microseconds since the Unix epoch, or a reason the text is not an RFC 3339 date-time. */
export function parseTimestamp(text: string): number | { error: string } {
  const m = RFC3339.exec(text);
  if (!m) return { error: 'expected an RFC 3339 date-time such as "2026-01-02T03:04:05Z"' };
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12) return { error: `month ${mo} is not 1 to 12` };
  if (d < 1 || d > daysIn(y, mo)) return { error: `day ${d} is not in ${y}-${m[2]}` };
  if (h > 23 || mi > 59 || s > 59) return { error: `time ${m[4]}:${m[5]}:${m[6]} is not a time of day` };
  let offsetMin = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return { error: `offset ${m[9]}${m[10]}:${m[11]} is not an offset` };
    offsetMin = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  // Digits past the sixth (nanoseconds) are below the entry's resolution: truncated.
  const micros = Number((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - offsetMin * 60_000;
  return ms * 1000 + micros;
}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const PART = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

/** Nanoseconds, or a reason the text is not a duration. */
export function parseDuration(text: string): number | { error: string } {
  const bad = {
    error: 'expected a duration such as "1.5s", "300ms", "5m" or "1h30m" (units ns us ms s m h)',
  };
  let i = 0;
  let sign = 1;
  if (text[0] === '-' || text[0] === '+') {
    sign = text[0] === '-' ? -1 : 1;
    i = 1;
  }
  if (text.slice(i) === '0') return 0;
  if (i >= text.length) return bad;
  let total = 0;
  while (i < text.length) {
    PART.lastIndex = i;
    const m = PART.exec(text);
    if (!m || (m[1] === '' && (m[2] ?? '') === '')) return bad;
    const unit = UNIT_NS[m[3]!]!;
    total += Number(m[1] || '0') * unit;
    if (m[2]) total += Math.round(Number(`0.${m[2]}`) * unit);
    i = PART.lastIndex;
  }
  return sign * total;
}
