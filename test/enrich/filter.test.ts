/**
 * The include/exclude filters, table-driven against k8spacket's rules (its node-graph repository
 * query: namespace on src or dst; include on src/dst IP or name; exclude drops a record when src or
 * dst matches; empty patterns filter nothing), and the agent's capture scope.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CAPTURE_EVERYTHING,
  EndpointFilter,
  FilterError,
  type FilterPatterns,
  inCaptureScope,
  parseCaptureScope,
} from '../../src/enrich/filter.js';

const checkout = {
  ip: '10.244.1.10',
  name: 'checkout-7d9f8c6b5-x2k4p',
  namespace: 'shop',
  workload: 'checkout',
};
const dns = {
  ip: '10.244.1.2',
  name: 'coredns-5d78c9869d-tq7vn',
  namespace: 'kube-system',
  workload: 'coredns',
};
const outside = { ip: '93.184.216.34' };
const node = { ip: '10.0.0.11', name: 'node-a' };

const CASES: [FilterPatterns, typeof checkout | typeof outside, typeof checkout | typeof outside, boolean][] =
  [
    [{}, checkout, dns, true],
    [{ namespaceInclude: '' }, checkout, dns, true],
    [{ namespaceInclude: 'shop' }, checkout, dns, true],
    [{ namespaceInclude: 'shop' }, dns, checkout, true],
    [{ namespaceInclude: 'shop' }, dns, outside, false],
    [{ namespaceInclude: 'sho' }, checkout, outside, true], // unanchored
    [{ namespaceInclude: '^sho$' }, checkout, outside, false],
    [{ namespaceInclude: '^$' }, outside, node, true], // no namespace is the empty string
    [{ namespaceExclude: 'kube-system' }, checkout, dns, false], // either side excludes
    [{ namespaceExclude: 'kube-system' }, checkout, outside, true],
    [{ workloadInclude: 'checkout' }, dns, checkout, true],
    [{ workloadInclude: 'checkout' }, dns, outside, false],
    [{ workloadInclude: 'x2k4p' }, checkout, outside, true], // the pod name
    [{ workloadInclude: '^93\\.184' }, checkout, outside, true], // the address
    [{ workloadInclude: 'node-a' }, checkout, node, true],
    [{ workloadExclude: 'coredns' }, checkout, dns, false],
    [{ workloadExclude: 'coredns' }, checkout, outside, true],
    [{ namespaceInclude: 'shop', workloadExclude: 'checkout' }, checkout, outside, false],
    [{ namespaceInclude: 'shop', workloadInclude: 'coredns' }, checkout, dns, true],
  ];

describe('EndpointFilter', () => {
  for (const [patterns, src, dst, kept] of CASES) {
    test(`${JSON.stringify(patterns)} ${'name' in src ? src.name : src.ip} -> ${'name' in dst ? dst.name : dst.ip}: ${kept ? 'kept' : 'dropped'}`, () => {
      assert.equal(new EndpointFilter(patterns).admits(src, dst), kept);
    });
  }

  test('a bad pattern is a FilterError naming the option and the pattern', () => {
    for (const [key, option] of [
      ['namespaceInclude', 'namespace-include'],
      ['namespaceExclude', 'namespace-exclude'],
      ['workloadInclude', 'workload-include'],
      ['workloadExclude', 'workload-exclude'],
    ] as const) {
      assert.throws(
        () => new EndpointFilter({ [key]: '[a-' }),
        (err: unknown) =>
          err instanceof FilterError && err.option === option && err.message.startsWith(`--${option}: '[a-'`),
      );
    }
  });

  test('no pattern: empty, every record kept', () => {
    assert.equal(new EndpointFilter({}).empty, true);
    assert.equal(new EndpointFilter({ workloadExclude: 'x' }).empty, false);
  });
});

describe('capture scope for the agent', () => {
  test('namespaces listed, excluded with a leading -, hostNetwork pods only when asked', () => {
    const scope = parseCaptureScope('shop, payments,-kube-system');
    assert.deepEqual(scope.namespaces, ['shop', 'payments']);
    assert.deepEqual(scope.excludeNamespaces, ['kube-system']);
    assert.equal(inCaptureScope(scope, 'shop'), true);
    assert.equal(inCaptureScope(scope, 'default'), false);
    assert.equal(inCaptureScope(scope, 'shop', true), false);
    assert.equal(inCaptureScope({ ...scope, hostNetwork: true }, 'shop', true), true);
    const all = parseCaptureScope('-kube-system');
    assert.equal(inCaptureScope(all, 'anything'), true);
    assert.equal(inCaptureScope(all, 'kube-system'), false);
    assert.equal(inCaptureScope(CAPTURE_EVERYTHING, 'kube-system'), true);
  });

  test('a name that cannot be a namespace is an error, not an empty capture', () => {
    assert.throws(() => parseCaptureScope('Shop'), /'Shop' is not a namespace name/);
    assert.throws(() => parseCaptureScope('shop.*'), FilterError);
  });
});
