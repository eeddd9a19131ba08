/**
 * Tunnels opened by the decoder (src/decode/decoder.ts): what is not a tunnel stays the outer packet,
 * hostile nesting and cut headers are counted, mutated tunnel packets never throw; and a real
 * overlay: two network namespaces joined by the kernel's VXLAN (on 4789, and on 8472 as Flannel
 * runs it) over a veth, curl and an HTTP server talking across it, tcpdump on the underlay. podwire
 * must show the pods' own connections and requests inside, as tshark does (tshark is the reference
 * for the packets; curl's own output for the requests). The tunnel kinds the kernel here cannot
 * make (Geneve, GRE, ERSPAN, IP in IP) are checked against tshark on built packets in
 * test/decode/tshark-decode.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { CrossInterfaceDedupe } from '../../src/agent/dedupe.js';
import { readCaptureFile } from '../../src/capture/file-source.js';
import { CapturedPacket, LinkType } from '../../src/capture/packet.js';
import { Decoder } from '../../src/decode/decoder.js';
import { DecodeResult } from '../../src/decode/packet.js';
import { ERROR_CODES, ErrorCounters } from '../../src/wire/errors.js';
import { tsharkAvailable, tsharkFields } from '../reference/tshark.js';
import { analyze } from '../support/analyze.js';
import { Node, netnsAvailable, sh, waitFor } from '../support/netns.js';
import {
  EtherType,
  ethernet,
  geneve,
  gre,
  IpProtocol,
  ipv4,
  TcpFlags,
  TunnelType,
  tcp,
  udp,
  vxlan,
} from '../support/packets.js';
import { tempDir } from '../support/pcap-writer.js';
import { captured } from './helpers.js';

const INNER = ipv4(
  { src: '10.244.1.10', dst: '10.244.2.20', protocol: IpProtocol.TCP },
  tcp({ srcPort: 40000, dstPort: 8080, flags: TcpFlags.SYN }),
);
const outer = (protocol: number, payload: Uint8Array) =>
  ethernet({ etherType: EtherType.IPV4 }, ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol }, payload));
const overUdp = (port: number, payload: Uint8Array) =>
  outer(IpProtocol.UDP, udp({ srcPort: 51000, dstPort: port }, payload));

function decode(frame: Uint8Array): { result: number; decoder: Decoder; errors: Record<string, number> } {
  const errors = new ErrorCounters();
  const decoder = new Decoder(errors);
  const result = decoder.decode(captured(LinkType.ETHERNET, frame));
  return { result, decoder, errors: errors.toJSON() as Record<string, number> };
}

/** `inner` wrapped in `n` levels of IP in IP. */
function nested(n: number): Uint8Array {
  let ip = INNER;
  for (let i = 0; i < n; i++)
    ip = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: IpProtocol.IPIP }, ip);
  return ethernet({ etherType: EtherType.IPV4 }, ip);
}

describe('tunnels: what is one, and what is not', () => {
  test('the inner TCP of a VXLAN packet; a UDP datagram on 8472 without the I flag stays UDP', () => {
    const d = decode(overUdp(8472, vxlan(1, ethernet({ etherType: EtherType.IPV4 }, INNER))));
    assert.equal(d.result, DecodeResult.Tcp);
    assert.equal(d.decoder.packet.dstPort, 8080);
    assert.equal(d.decoder.tunnelled, 1);
    const plain = decode(overUdp(8472, vxlan(1, ethernet({ etherType: EtherType.IPV4 }, INNER), 0x00)));
    assert.equal(plain.result, DecodeResult.Udp);
    assert.equal(plain.decoder.packet.dstPort, 8472);
    assert.deepEqual(plain.errors, {});
  });

  test('Geneve of another version, GRE version 1 (PPTP) and GRE of another payload are not opened', () => {
    const g = overUdp(6081, geneve(7, TunnelType.BRIDGED, ethernet({ etherType: EtherType.IPV4 }, INNER)));
    g[g.length - INNER.length - 14 - 8] = 0x40; // version 1
    assert.equal(decode(g).result, DecodeResult.Udp);
    const pptp = outer(IpProtocol.GRE, gre({ protocol: 0x880b }, INNER));
    pptp[14 + 20 + 1] = 0x01; // version 1
    assert.equal(decode(pptp).result, DecodeResult.Other);
    assert.equal(decode(outer(IpProtocol.GRE, gre({ protocol: 0x0806 }, INNER))).result, DecodeResult.Other);
  });

  test('four levels of tunnels are opened; a fifth is counted as tunnel.too_deep', () => {
    assert.equal(decode(nested(4)).result, DecodeResult.Tcp);
    const deep = decode(nested(5));
    assert.equal(deep.result, DecodeResult.Error);
    assert.deepEqual(deep.errors, { 'tunnel.too_deep': 1 });
  });

  test('a GRE header or Geneve options cut short: tunnel.truncated', () => {
    const cut = decode(outer(IpProtocol.GRE, Uint8Array.of(0x30, 0, 0x08, 0x00, 0, 0)));
    assert.deepEqual([cut.result, cut.errors], [DecodeResult.Error, { 'tunnel.truncated': 1 }]);
    const g = geneve(7, TunnelType.BRIDGED, new Uint8Array(0));
    g[0] = 10; // 40 bytes of options, none there
    const short = decode(overUdp(6081, g));
    assert.deepEqual([short.result, short.errors], [DecodeResult.Error, { 'tunnel.truncated': 1 }]);
  });

  test('mutated and cut tunnel packets: no exception, only catalogued errors', () => {
    const seeds = [
      overUdp(4789, vxlan(42, ethernet({ etherType: EtherType.IPV4 }, INNER))),
      overUdp(6081, geneve(7, EtherType.IPV4, INNER)),
      outer(
        IpProtocol.GRE,
        gre({ protocol: TunnelType.BRIDGED, key: 1 }, ethernet({ etherType: EtherType.IPV4 }, INNER)),
      ),
      nested(3),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (seed, edits, cut) => {
          const f = seed.slice(0, seed.length - (cut % 24));
          for (const [at, v] of edits) f[14 + (at % Math.max(1, f.length - 14))] = v;
          const d = decode(f);
          assert.ok(d.result >= DecodeResult.Tcp && d.result <= DecodeResult.Error);
          for (const code of Object.keys(d.errors)) assert.ok(code in ERROR_CODES, code);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// --- a real overlay ---------------------------------------------------------------------------------

const available = await netnsAvailable();
const haveTshark = await tsharkAvailable();
const missing = (
  await Promise.all(
    ['curl', 'tcpdump'].map((t) =>
      sh('sh', ['-c', `command -v ${t}`]).then(
        () => null,
        () => t,
      ),
    ),
  )
).filter(Boolean);

const SERVER = `require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('over ' + req.url); });
}).listen(8080, '0.0.0.0');`;

describe('a real VXLAN overlay (the kernel: 4789, and 8472 as Flannel runs it)', {
  skip: !available
    ? 'needs root and ip netns'
    : !haveTshark
      ? 'needs tshark'
      : missing.length
        ? `needs ${missing.join(', ')}`
        : false,
}, () => {
  const node = new Node('pwtun', '198.18.24');
  const { dir, cleanup } = tempDir('podwire-tunnels-');
  let file = '';

  before(async () => {
    await node.up(['a', 'b']);
    const [a, b] = [node.pod('a'), node.pod('b')];
    // Two overlays between the pods, as two nodes' VTEPs: 10.244.1.0/24 on 4789, 10.244.2.0/24 on 8472.
    for (const [pod, peer, host] of [
      [a, b, 10],
      [b, a, 20],
    ] as const) {
      for (const [dev, vni, port, net] of [
        ['vx0', '42', '4789', '10.244.1'],
        ['vx1', '1', '8472', '10.244.2'],
      ] as const) {
        await node.exec(pod.ns, 'ip', [
          'link',
          'add',
          dev,
          'type',
          'vxlan',
          'id',
          vni,
          'remote',
          peer.ip,
          'dstport',
          port,
          'dev',
          'eth0',
        ]);
        await node.exec(pod.ns, 'ip', ['addr', 'add', `${net}.${host}/24`, 'dev', dev]);
        await node.exec(pod.ns, 'ip', ['link', 'set', dev, 'up']);
      }
    }
    node.spawn(b.ns, process.execPath, ['-e', SERVER]);
    await waitFor(() => node.exec(a.ns, 'curl', ['-sf', '--max-time', '1', 'http://10.244.1.20:8080/ready']));
    file = `${dir}/underlay.pcap`;
    const cap = await node.capture(b.hostIf, file);
    // The same traffic plain, where pod b's kernel hands it to and takes it from its VXLAN devices.
    const plain = await Promise.all(
      ['vx0', 'vx1'].map((dev) => node.capture(dev, `${dir}/${dev}.pcap`, [], b.ns)),
    );
    for (const url of [
      'http://10.244.1.20:8080/first',
      'http://10.244.2.20:8080/flannel',
      'http://10.244.1.20:8080/third',
    ])
      await node.exec(a.ns, 'curl', ['-sf', '--max-time', '5', url]);
    // The plain captures stop first: every packet they hold has its copy on the underlay (started first too).
    for (const c of plain) assert.equal(await c.stop(), 0, 'tcpdump dropped nothing');
    assert.equal(await cap.stop(), 0, 'tcpdump dropped nothing');
  });

  after(async () => {
    await node.down();
    cleanup();
  });

  test("the pods' requests inside the tunnels, as tshark reads them: addresses, paths, statuses", async () => {
    const { entries, connections, summary } = await analyze(file);
    assert.deepEqual(summary.errors, {});
    const got = entries
      .filter((e) => e.protocol === 'http')
      .map((e) => `${e.src.ip} ${e.dst.ip}:${e.dst.port} ${e.method} ${e.path} ${e.status}`);
    assert.deepEqual(got, [
      '10.244.1.10 10.244.1.20:8080 GET /first 200',
      '10.244.2.10 10.244.2.20:8080 GET /flannel 200',
      '10.244.1.10 10.244.1.20:8080 GET /third 200',
    ]);
    const reference = await tsharkFields(
      file,
      'http.request',
      ['ip.src', 'ip.dst', 'http.request.uri'],
      ['udp.port==8472,vxlan'],
      ['-E', 'occurrence=l'],
    );
    assert.deepEqual(
      reference.map(([s, d, uri]) => `${s} ${d} ${uri}`),
      got.map((g) => g.replace(/:8080 GET (\S+) 200$/, ' $1')),
    );
    // One connection per curl, between the overlay addresses, closed by FIN.
    const overlay = connections
      .filter((c) => c.dst.port === 8080)
      .map((c) => `${c.src.ip} ${c.dst.ip} ${c.closeReason}`);
    assert.deepEqual(overlay.sort(), [
      '10.244.1.10 10.244.1.20 fin',
      '10.244.1.10 10.244.1.20 fin',
      '10.244.2.10 10.244.2.20 fin',
    ]);
    // Every IP packet inside VXLAN counted as tunnelled (ARP inside is not IP), as tshark sees them.
    const tunnelled = await tsharkFields(file, 'vxlan && !arp', ['frame.number'], ['udp.port==8472,vxlan']);
    assert.ok(tunnelled.length > 20);
    assert.equal(summary.tunnelledPackets, tunnelled.length);
    // tshark's TCP streams over 8080 (inside the tunnels): as many.
    const streams = new Set(
      (await tsharkFields(file, 'tcp.port==8080', ['tcp.stream'], ['udp.port==8472,vxlan'])).map(([s]) => s),
    );
    assert.equal(streams.size, 3);
  });

  test("an agent capturing the underlay and the pods' VXLAN devices counts every packet once", async () => {
    // As the agent hands them over: each interface's packets, in capture-time order across the three.
    const packets: { pkt: CapturedPacket; iface: number }[] = [];
    for (const [iface, name] of ['underlay', 'vx0', 'vx1'].entries()) {
      await readCaptureFile(
        `${dir}/${name}.pcap`,
        (p) => {
          const c = new CapturedPacket();
          c.data = p.data.slice(p.offset, p.offset + p.caplen);
          c.caplen = p.caplen;
          c.wirelen = p.wirelen;
          c.tsMicros = p.tsMicros;
          c.linkType = p.linkType;
          packets.push({ pkt: c, iface });
        },
        new ErrorCounters(),
      );
    }
    packets.sort((x, y) => x.pkt.tsMicros - y.pkt.tsMicros);
    const dedupe = new CrossInterfaceDedupe();
    const dropped = [0, 0, 0];
    for (const { pkt, iface } of packets) if (dedupe.isDuplicate(pkt, iface)) dropped[iface]!++;
    // tshark's count of the IP packets on the VXLAN devices (the requests, and the kernel's own IPv6
    // neighbour discovery): each is inside a VXLAN packet on the underlay.
    const plainIp = (
      await Promise.all(
        ['vx0', 'vx1'].map((dev) => tsharkFields(`${dir}/${dev}.pcap`, 'ip || ipv6', ['frame.number'])),
      )
    ).map((rows) => rows.length);
    assert.ok(plainIp[0]! >= 10 && plainIp[1]! >= 5, `IP packets on vx0, vx1: ${plainIp.join(', ')}`);
    // Whichever copy came first is kept: together, one of each pair is dropped.
    assert.equal(dropped[0]! + dropped[1]! + dropped[2]!, plainIp[0]! + plainIp[1]!);
    assert.equal(dedupe.duplicates, plainIp[0]! + plainIp[1]!);
  });
});
