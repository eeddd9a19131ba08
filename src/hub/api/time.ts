/**
 * The time window of the API's `from` and `to` parameters. Two forms, told apart by their shape:
 *
 * - epoch milliseconds (`1764752400000`, a fraction allowed: `1764752400000.5`), the unit Grafana
 *   sends (`${__from}`, `${__to}`) and k8spacket's API takes (CONTRACTS.md), so a dashboard variable
 *   can be passed straight through;
 * - an RFC 3339 date-time (§5.6: `2026-12-03T09:00:00Z`, `2026-12-03T10:00:00.123456+01:00`), with
 *   up to microseconds kept (more digits are cut, not rounded).
 *
 * Entries and connections keep microseconds (src/dissect/entry.ts), so both become µs here. A number
 * too large to be milliseconds of any plausible date is refused with a hint rather than read as the
 * year 50000: it is nearly always microseconds pasted from an entry's `timestamp`.
 */
import { HubError } from '../errors.js';

/** Epoch ms above this (the year 5138) are taken for a unit mistake. */
const MAX_MS = 1e14;
const MS = /^\d{1,17}(?:\.\d{1,3})?$/;
// RFC 3339 §5.6 date-time; `t`, `z` and a space for `T` are allowed as the RFC's notes allow them.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

/** `value` in microseconds since the epoch; throws HubError `hub.bad_time`. */
export function parseTime(name: string, value: string): number {
  const v = value.trim();
  if (MS.test(v)) {
    const ms = Number(v);
    if (ms >= MAX_MS)
      throw new HubError(
        'hub.bad_time',
        `\`${name}\` ${v} is too large for epoch milliseconds`,
        v.length >= 16
          ? 'this looks like microseconds (an entry’s `timestamp`): divide by 1000'
          : '`from`/`to` take epoch milliseconds or an RFC 3339 date-time',
      );
    return Math.round(ms * 1000);
  }
  const m = RFC3339.exec(v);
  if (m) {
    const [, y, mo, d, h, mi, s, frac, zone] = m;
    const year = Number(y);
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(s);
    // RFC 3339 §5.7: month 1-12, day within the month, second up to 60 (a leap second, which the
    // epoch cannot name: it is read as the next second, as Date does).
    const ok =
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysIn(year, month) &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 60;
    if (ok) {
      let offsetMin = 0;
      if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
        const oh = Number(zone.slice(1, 3));
        const om = Number(zone.slice(4, 6));
        if (oh <= 23 && om <= 59) offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
        else offsetMin = Number.NaN;
      }
      if (!Number.isNaN(offsetMin)) {
        // Not Date.UTC: it reads years 0-99 as 1900-1999.
        const date = new Date(0);
        date.setUTCFullYear(year, month - 1, day);
        date.setUTCHours(hour, minute, second, 0);
        const ms = date.getTime() - offsetMin * 60_000;
        const us = frac ? Number(frac.slice(0, 6).padEnd(6, '0')) : 0;
        return ms * 1000 + us;
      }
    }
  }
  throw new HubError(
    'hub.bad_time',
    `\`${name}\` must be epoch milliseconds or an RFC 3339 date-time, not ${JSON.stringify(value.slice(0, 64))}`,
    'e.g. 1764752400000 or 2026-12-03T09:00:00Z',
  );
}

function daysIn(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The window of a request in µs; either end may be open. Throws `hub.bad_time`, `hub.bad_window`. */
export function parseWindow(q: { from?: string; to?: string }): { from?: number; to?: number } {
  const from = q.from !== undefined && q.from !== '' ? parseTime('from', q.from) : undefined;
  const to = q.to !== undefined && q.to !== '' ? parseTime('to', q.to) : undefined;
  if (from !== undefined && to !== undefined && from > to)
    throw new HubError('hub.bad_window', `\`from\` (${q.from}) is later than \`to\` (${q.to})`);
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
