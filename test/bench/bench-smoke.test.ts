/**
 * The benchmark end to end, small: builds a 20,000-packet capture in real network namespaces, times
 * podwire and tshark on it once, and checks the report. Speed is not asserted (at this size node's
 * start-up dominates); what is checked is that the benchmark runs and that podwire read every packet.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../support/paths.js';

const run = promisify(execFile);

/** Why the benchmark cannot run here, or null when it can. */
function skipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and tcpdump)';
  for (const cmd of ['ip', 'tcpdump', 'wrk', 'redis-server', 'redis-benchmark', 'tshark', 'capinfos']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed`;
  }
  if (spawnSync('/usr/bin/time', ['true']).status !== 0) return '/usr/bin/time (GNU time) is not installed';
  // `ip netns list` succeeds even where namespaces cannot be made (a locked-down container), so try one.
  const probe = `pw-bench-probe-${process.pid}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return '`ip netns add` is not available';
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

const skip = skipReason();

test('bench/run.sh builds a capture, times both tools and prints the ratio', {
  skip: skip ?? false,
}, async () => {
  // Its own output directory, so a smoke run never overwrites the full benchmark's capture and results.
  const out = mkdtempSync(join(tmpdir(), 'podwire-bench-'));
  try {
    let code = 0;
    let stdout = '';
    let stderr = '';
    try {
      ({ stdout, stderr } = await run('bash', [join(ROOT, 'bench', 'run.sh')], {
        cwd: ROOT,
        env: { ...process.env, BENCH_PACKETS: '20000', BENCH_RUNS: '1', BENCH_OUT: out },
        timeout: 120_000,
        maxBuffer: 16 << 20,
      }));
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      ({ code, stdout, stderr } = e);
    }
    assert.equal(code, 0, `bench/run.sh failed:\n${stdout}\n${stderr}`);
    assert.match(stdout, /^podwire \(connections\)\s.*\s\d+\.\dx$/m, 'a row with its ratio to tshark');
    assert.match(stdout, /^podwire \(dissect\)\s.*\s\d+\.\dx$/m);
    assert.match(stdout, /^goal \(dissect\): >= 20x tshark (met|NOT met), peak RSS < 300 MB (met|NOT met)$/m);

    const capture = join(out, 'node-traffic.pcap');
    const { stdout: capinfos } = await run('capinfos', ['-c', '-M', capture]);
    const m = /Number of packets:\s*(\d+)/.exec(capinfos);
    assert.ok(m, `no packet count in capinfos output:\n${capinfos}`);
    const packets = Number(m[1]);
    assert.ok(packets >= 20000, `the capture holds ${packets} packets, fewer than asked for`);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    for (const mode of ['connections', 'dissect'])
      assert.equal(
        results.podwire[mode].summary.packets,
        packets,
        `podwire's count (${mode}) differs from capinfos'`,
      );
    assert.equal(results.packets, packets);
    // The load is HTTP (wrk) and Redis (redis-benchmark): with dissection there are HTTP entries, one
    // per request wrk made, at most (wrk's requests in flight when stopped may lack a response).
    const dissect = results.podwire.dissect;
    assert.equal(results.podwire.connections.entries, 0, 'connections only: no entries');
    assert.ok(dissect.summary.protocols.http.entries > 0, 'HTTP entries when dissecting');
    assert.equal(dissect.summary.protocols.http.parseErrors, 0, 'real HTTP parses without error');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
