import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseTime, parseWindow } from '../../../src/hub/api/time.js';
import { HubError } from '../../../src/hub/errors.js';

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof HubError, String(err));
    return err.code;
  }
  assert.fail('expected a HubError');
}

test('epoch milliseconds become microseconds (Grafana sends $__from in ms)', () => {
  assert.equal(parseTime('from', '1764752400000'), 1764752400000000);
  assert.equal(parseTime('from', '0'), 0);
  assert.equal(parseTime('from', '1764752400000.5'), 1764752400000500);
});

test('RFC 3339 date-times agree with Date.parse to the millisecond, over random instants and offsets', () => {
  fc.assert(
    fc.property(
      fc.date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2200-01-01T00:00:00Z'),
        noInvalidDate: true,
      }),
      fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
      (d, offsetMin) => {
        // Write the instant in local time at `offsetMin` with its offset, as RFC 3339 §5.6 does.
        const local = new Date(d.getTime() + offsetMin * 60_000).toISOString().slice(0, 23);
        const sign = offsetMin < 0 ? '-' : '+';
        const abs = Math.abs(offsetMin);
        const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
        const text = `${local}${zone}`;
        assert.equal(parseTime('from', text), Date.parse(text) * 1000, text);
      },
    ),
  );
});

test('RFC 3339 keeps microseconds and cuts what is finer', () => {
  assert.equal(
    parseTime('from', '2026-12-03T09:00:00.123456Z'),
    Date.parse('2026-12-03T09:00:00Z') * 1000 + 123456,
  );
  assert.equal(
    parseTime('from', '2026-12-03T09:00:00.1234569Z'),
    Date.parse('2026-12-03T09:00:00Z') * 1000 + 123456,
  );
  assert.equal(parseTime('from', '2026-12-03t10:00:00+01:00'), Date.parse('2026-12-03T09:00:00Z') * 1000);
  assert.equal(parseTime('from', '0050-03-01T00:00:00Z'), Date.parse('0050-03-01T00:00:00Z') * 1000);
});

test('impossible dates and other forms are hub.bad_time', () => {
  for (const bad of [
    '2026-02-29T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-12-03T24:00:00Z',
    '2026-12-03T09:00:00',
    '2026-12-03',
    'yesterday',
    '-5',
    '1e12',
    '',
    '2026-12-03T09:00:00+24:00',
  ])
    assert.equal(
      code(() => parseTime('from', bad)),
      'hub.bad_time',
      bad,
    );
  assert.equal(parseTime('from', '2024-02-29T00:00:00Z'), Date.parse('2024-02-29T00:00:00Z') * 1000);
});

test('microseconds passed as milliseconds are refused with a hint', () => {
  try {
    parseTime('from', '1764752400000000');
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof HubError);
    assert.equal(err.code, 'hub.bad_time');
    assert.match(err.hint ?? '', /microseconds/);
  }
});

test('a window whose from is after its to is hub.bad_window; open ends are allowed', () => {
  assert.equal(
    code(() => parseWindow({ from: '2000', to: '1000' })),
    'hub.bad_window',
  );
  assert.deepEqual(parseWindow({ from: '1000' }), { from: 1_000_000 });
  assert.deepEqual(parseWindow({ to: '1000' }), { to: 1_000_000 });
  assert.deepEqual(parseWindow({}), {});
});
