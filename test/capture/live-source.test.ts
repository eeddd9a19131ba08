/**
 * The live source under replayed load: a capture of service traffic (bench/replay-capture.ts) is
 * sent with tcpreplay onto one end of a veth pair; the source captures the other end while tcpdump
 * does too. Every packet must arrive, as many as tcpdump counts, and the pipeline fed by the source
 * must find every connection with the bytes and requests the generator wrote. Then the binding's
 * awkward corners: missing and down interfaces, bad filters, a capture across down/up, and closing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildReplayCapture } from '../../bench/replay-capture.js';
import { readCaptureFile } from '../../src/capture/file-source.js';
import {
  checkFilter,
  DEFAULT_LIVE_OPTIONS,
  type LiveCaptureError,
  LiveSource,
  pcapBinding,
} from '../../src/capture/live-source.js';
import type { Entry } from '../../src/dissect/entry.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { ErrorCounters } from '../../src/wire/errors.js';
import { captureInterface, netnsAvailable, sh } from '../support/netns.js';

const TX = 'pwlstx';
const RX = 'pwlsrx';

async function why(): Promise<string | false> {
  if (!(await netnsAvailable())) return 'needs root and iproute2';
  try {
    pcapBinding();
  } catch (err) {
    return (err as Error).message;
  }
  for (const tool of ['tcpreplay', 'tcpdump']) {
    try {
      await sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `needs ${tool}`;
    }
  }
  return false;
}

const skip = await why();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `done()` or `ms` passed, polling the source so nothing depends on libuv's wake-ups. */
async function until(done: () => boolean, ms: number, source?: LiveSource): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    await sleep(20);
    source?.poll(Number.POSITIVE_INFINITY);
  }
}

async function vethPair(): Promise<void> {
  await sh('ip', ['link', 'del', TX]).catch(() => {});
  await sh('ip', ['link', 'add', TX, 'type', 'veth', 'peer', 'name', RX]);
  // No IPv6 on the pair: its neighbour discovery would add packets of its own.
  await sh('sysctl', ['-qw', `net.ipv6.conf.${TX}.disable_ipv6=1`, `net.ipv6.conf.${RX}.disable_ipv6=1`]);
  await sh('ip', ['link', 'set', TX, 'up']);
  await sh('ip', ['link', 'set', RX, 'up']);
}

/** Inodes of this process's packet sockets (proc(5): /proc/net/packet lists every one by inode). */
function packetSockets(): Set<string> {
  const mine = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) mine.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const packet = new Set<string>();
  for (const line of readFileSync('/proc/net/packet', 'utf8').split('\n').slice(1)) {
    const inode = line.trim().split(/\s+/)[8];
    if (inode && mine.has(inode)) packet.add(inode);
  }
  return packet;
}

describe('live capture through libpcap', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-live-'));
  before(vethPair);
  after(async () => {
    await sh('ip', ['link', 'del', TX]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test('20,000 packets replayed: every one received, as many as tcpdump, every connection whole', async () => {
    const pcap = join(dir, 'replay.pcap');
    const info = await buildReplayCapture(pcap, 20_000);
    assert.equal(info.packets, 20_000);

    const connections: ConnectionRecord[] = [];
    const entries: Entry[] = [];
    const pipeline = new Pipeline(
      (c) => connections.push(c.toRecord()),
      {},
      { onEntry: (e) => entries.push(e) },
    );
    const errors: LiveCaptureError[] = [];
    const filter = 'tcp and net 198.18.99.0/24';
    const source = new LiveSource(RX, { ...DEFAULT_LIVE_OPTIONS, filter }, pipeline.onPacket, (e) =>
      errors.push(e),
    );
    const reference = join(dir, 'tcpdump.pcap');
    const tcpdump = await captureInterface(RX, reference, filter.split(' '));
    const started = Date.now() * 1000;
    try {
      // 10,000 packets/s: two seconds of traffic, a modest rate on a shared 2-core machine.
      await sh('tcpreplay', ['-q', '--preload-pcap', '--pps=10000', '-i', TX, pcap]);
      await until(() => source.packets >= 20_000, 3000);
    } finally {
      await tcpdump.stop();
    }
    const stats = source.close();
    pipeline.finish();

    assert.deepEqual(errors, []);
    assert.equal(source.packets, 20_000, 'packets handed to the pipeline');
    assert.equal(source.shed, 0);
    assert.equal(stats.received, 20_000, 'pcap_stats ps_recv');
    assert.equal(stats.dropped, 0, 'kernel drops');
    let tcpdumpPackets = 0;
    await readCaptureFile(reference, () => tcpdumpPackets++, new ErrorCounters());
    assert.equal(source.packets, tcpdumpPackets, "as many as tcpdump's file holds");

    // Timestamps are the kernel's receive times, not the file's.
    assert.ok(pipeline.stats.firstTs >= started && pipeline.stats.lastTs <= Date.now() * 1000);
    assert.equal(source.linkType, 1, 'Ethernet');

    assert.equal(connections.length, info.connections);
    for (const c of connections) {
      const want = info.bytes.get(c.src.port);
      assert.ok(want, `connection from port ${c.src.port}`);
      assert.equal(c.dst.port, want.server);
      assert.equal(c.closeReason, 'fin');
      assert.equal(c.sent.bytes, want.sent, `bytes sent on ${c.src.port}`);
      assert.equal(c.received.bytes, want.received, `bytes received on ${c.src.port}`);
      assert.equal(c.sent.gaps + c.received.gaps + c.sent.retransmissions + c.received.retransmissions, 0);
    }
    assert.equal(entries.filter((e) => e.protocol === 'http').length, info.http);
    assert.ok(entries.filter((e) => e.protocol === 'http').every((e) => e.status === 200));
    // The Redis dissector may not be registered in every checkout: count only when it answers.
    const redis = entries.filter((e) => e.protocol === 'redis');
    if (redis.length) assert.equal(redis.length, info.redis);
  });

  test('an interface that does not exist is refused as no-such-device', () => {
    assert.throws(
      () =>
        new LiveSource(
          'pwlsnone0',
          DEFAULT_LIVE_OPTIONS,
          () => {},
          () => {},
        ),
      (e: LiveCaptureError) => e.reason === 'no-such-device' && e.iface === 'pwlsnone0',
    );
  });

  test('a down interface is refused as not-up', async () => {
    await sh('ip', ['link', 'set', RX, 'down']);
    try {
      assert.throws(
        () =>
          new LiveSource(
            RX,
            DEFAULT_LIVE_OPTIONS,
            () => {},
            () => {},
          ),
        (e: LiveCaptureError) => e.reason === 'not-up',
      );
    } finally {
      await sh('ip', ['link', 'set', RX, 'up']);
    }
  });

  test('filters: checked offline; libpcap explains a bad one', () => {
    assert.equal(checkFilter(''), null);
    assert.equal(checkFilter('tcp port 80 and not host 10.0.0.1'), null);
    assert.match(checkFilter('tcp port') ?? '', /syntax error/);
    assert.match(checkFilter('port 99999999') ?? '', /port/);
  });

  test('across down and up: poll() reads what the kernel no longer announces, and says so', async (t) => {
    const pcap = join(dir, 'small.pcap');
    await buildReplayCapture(pcap, 300);
    let packets = 0;
    const errors: LiveCaptureError[] = [];
    const source = new LiveSource(
      RX,
      { ...DEFAULT_LIVE_OPTIONS, filter: 'tcp' },
      () => packets++,
      (e) => errors.push(e),
    );
    try {
      await sh('ip', ['link', 'set', RX, 'down']);
      await sh('ip', ['link', 'set', RX, 'up']);
      await sleep(200); // the veth's carrier
      await sh('tcpreplay', ['-q', '--pps=3000', '-i', TX, pcap]);
      await sleep(300);
      // libuv may or may not have woken the reader (it does not on Linux 6.1 with libpcap 1.10):
      // either way poll() delivers everything, and reports a stall when it had to twice in a row.
      const announced = packets;
      t.diagnostic(`libuv announced ${announced} of 300 packets after down/up`);
      source.poll(100);
      assert.equal(packets, 300);
      if (announced < 300) {
        await sh('tcpreplay', ['-q', '--pps=3000', '-i', TX, pcap]);
        await sleep(300);
        source.poll(100);
        assert.equal(packets, 600);
        assert.ok(errors.some((e) => e.reason === 'stalled'));
      }
    } finally {
      source.close();
    }
  });

  test('closing releases the socket, on an idle interface too, once traffic or a reap comes', async () => {
    const baseline = packetSockets();
    const source = new LiveSource(
      RX,
      DEFAULT_LIVE_OPTIONS,
      () => {},
      () => {},
    );
    const ours = [...packetSockets()].filter((i) => !baseline.has(i));
    assert.equal(ours.length, 1, 'one packet socket');
    const last = source.close();
    assert.equal(last.dropped, 0);
    assert.equal(source.open, false);
    // The binding frees it at its next read of a packet: send one, then reap.
    const pcap = join(dir, 'one.pcap');
    await buildReplayCapture(pcap, 9);
    await sh('tcpreplay', ['-q', '-i', TX, pcap]);
    await until(() => LiveSource.reapClosed() === 0, 2000);
    assert.equal(LiveSource.reapClosed(), 0);
    assert.equal(packetSockets().has(ours[0]!), false, 'the packet socket is closed');
  });
});
