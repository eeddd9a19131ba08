/**
 * k8spacket's number formats: go-bytesize's `ByteSize.String()` (its own test table,
 * github.com/inhies/go-bytesize conversion_test.go; `%.2f` checked against Python's `'%.2f' %`,
 * which rounds the exact binary value half-to-even as Go's strconv does) and Go's
 * `time.Duration.String()` (the table of Go's time_test.go).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { byteSize, durationMs, goDuration, goFixed2 } from '../../../src/hub/nodegraph/format.js';

describe('byteSize (go-bytesize)', () => {
  // go-bytesize conversion_test.go newTable and mathTable.
  const table: [number, string][] = [
    [1, '1.00B'],
    [1023, '1023.00B'],
    [1024, '1.00KB'],
    [1048576, '1.00MB'],
    [1073741824, '1.00GB'],
    [1099511627776, '1.00TB'],
    [1125899906842624, '1.00PB'],
    [2 ** 60, '1.00EB'],
    [2 ** 70, '1.00ZB'],
    [2 ** 80, '1.00YB'],
    [2048, '2.00KB'],
    [1073741824 + 10485760, '1.01GB'],
    [536870912, '512.00MB'],
    [0, '0.00B'],
  ];
  for (const [x, want] of table) test(`${x} -> ${want}`, () => assert.equal(byteSize(x), want));
});

describe("goFixed2 against Python's %.2f (correct rounding, ties to even)", () => {
  test('ties, near-ties and random doubles', () => {
    const values = [0.125, 0.375, 0.625, 2.675, 1.005, 1.015, 0.5, 1023.995, 12.345, 8.125, 0, 5e-324];
    values.push(...fc.sample(fc.double({ min: 0, max: 1e7, noNaN: true }), 300));
    values.push(
      ...fc.sample(
        fc.integer({ min: 0, max: 80000 }).map((k) => k / 8),
        300,
      ),
    );
    const py = execFileSync('python3', ['-c', 'import sys\nfor l in sys.stdin: print("%.2f" % float(l))'], {
      input: values.map((v) => v.toPrecision(17)).join('\n'),
    })
      .toString()
      .trim()
      .split('\n');
    for (const [i, v] of values.entries()) assert.equal(goFixed2(v), py[i], `value ${v.toPrecision(17)}`);
  });
});

describe('goDuration (Go time_test.go durationTests)', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [1, '1ns'],
    [1100, '1.1µs'],
    [2200 * 1e3, '2.2ms'],
    [3300 * 1e6, '3.3s'],
    [4 * 60e9 + 5e9, '4m5s'],
    [4 * 60e9 + 5001e6, '4m5.001s'],
    [5 * 3600e9 + 6 * 60e9 + 7001e6, '5h6m7.001s'],
    [8 * 60e9 + 1, '8m0.000000001s'],
    [-1, '-1ns'],
    [-1100, '-1.1µs'],
    [120e9, '2m0s'],
    [3600e9, '1h0m0s'],
  ];
  for (const [ns, want] of table) test(`${ns}ns -> ${want}`, () => assert.equal(goDuration(ns), want));

  test('milliseconds from microsecond timestamps print without binary noise', () => {
    assert.equal(durationMs(1017.557), '1.017557s');
    assert.equal(durationMs(0.037), '37µs');
    assert.equal(durationMs(16.4), '16.4ms');
    assert.equal(durationMs(30000), '30s');
  });
});
