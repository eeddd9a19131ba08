/**
 * Synthetic TCP connections over every link type and header variety the decoder handles, written
 * to one pcapng file (one interface per link type): podwire's connections (analyzeFiles) must
 * equal tshark's TCP streams, frame and byte counts included. This checks the decoder against the
 * independent reference on packets the corpus does not have: VLAN stacks, SLL2, both BSD loopback
 * byte orders, IPv6 extension headers, IPv4 and IPv6 fragments, padded frames, TSO packets.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { LinkType } from '../../src/capture/packet.js';
import { analyzeFiles } from '../../src/cli/analyze.js';
import type { ConnectionRecord } from '../../src/flows/connection.js';
import { filler } from '../capture/samples.js';
import { tsharkAvailable, tsharkStreams } from '../reference/tshark.js';
import {
  AddressFamily,
  ascii,
  bsdLoop,
  bsdNull,
  concat,
  type Endpoint,
  EtherType,
  erspan2,
  erspan3,
  ethernet,
  geneve,
  geneveOption,
  gre,
  IpProtocol,
  type Ipv6Extension,
  ipv4,
  ipv4Fragments,
  ipv6,
  ipv6Fragments,
  type Segment,
  sll,
  sll2,
  TunnelType,
  tcpConversation,
  u16be,
  udp,
  vxlan,
} from '../support/packets.js';
import { PcapngWriter, tempDir, writeFile, writePcap } from '../support/pcap-writer.js';

const haveTshark = await tsharkAvailable();
const { dir, cleanup } = tempDir('podwire-decode-tshark-');
after(cleanup);

type Framer = (ip: Uint8Array, v6: boolean) => Uint8Array;
type IpBuilder = (s: Segment, n: number) => Uint8Array[];

interface Scenario {
  name: string;
  linkType: number;
  v6: boolean;
  frame: Framer;
  /** How each segment becomes IP packets (default: one plain packet). */
  ip?: IpBuilder;
  /** IPv6 extension headers on every packet. */
  extensions?: Ipv6Extension[];
  /** Bytes of the client's message (default 300). */
  messageSize?: number;
}

const et = (v6: boolean) => (v6 ? EtherType.IPV6 : EtherType.IPV4);

// Tunnels: the outer packets go between two nodes (TEST-NET-1, RFC 5737; 2001:db8:ffff::/48).
const NODE_A = '192.0.2.1';
const NODE_B = '192.0.2.2';
const innerFrame = (ip: Uint8Array, v6: boolean) => ethernet({ etherType: et(v6) }, ip);
const outer4 = (protocol: number, payload: Uint8Array, src = NODE_A, dst = NODE_B) =>
  ethernet({ etherType: EtherType.IPV4 }, ipv4({ src, dst, protocol }, payload));
const overUdp = (dstPort: number, payload: Uint8Array) =>
  outer4(IpProtocol.UDP, udp({ srcPort: 51000, dstPort }, payload));
/** tshark decodes VXLAN on 4789 only; 8472 (the Linux kernel's and Flannel's port) is asked for. */
const TSHARK_DECODE_AS = ['udp.port==8472,vxlan'];

const scenarios: Scenario[] = [
  {
    name: 'Ethernet, IPv4',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) => ethernet({ etherType: et(v6) }, ip),
  },
  {
    name: 'Ethernet padded to 60 bytes with non-zero padding',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) => ethernet({ etherType: et(v6), pad: true, padByte: 0x5a }, ip),
    messageSize: 3,
  },
  {
    name: 'Ethernet, 802.1Q, IPv6',
    linkType: LinkType.ETHERNET,
    v6: true,
    frame: (ip, v6) => ethernet({ etherType: et(v6), vlans: [{ vid: 42 }] }, ip),
  },
  {
    name: 'Ethernet, 802.1ad + 802.1Q (QinQ), IPv4',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      ethernet({ etherType: et(v6), vlans: [{ tpid: EtherType.QINQ, vid: 7 }, { vid: 42 }] }, ip),
  },
  {
    name: 'Linux SLL, IPv4',
    linkType: LinkType.LINUX_SLL,
    v6: false,
    frame: (ip, v6) => sll({ protocol: et(v6) }, ip),
  },
  {
    name: 'Linux SLL2, IPv6',
    linkType: LinkType.LINUX_SLL2,
    v6: true,
    frame: (ip, v6) => sll2({ protocol: et(v6) }, ip),
  },
  {
    name: 'Linux SLL2 with a pre-standard 0x9100 VLAN tag, IPv4',
    linkType: LinkType.LINUX_SLL2,
    v6: false,
    // The protocol field is the tag's TPID; the payload starts with its TCI (VID 100), then the EtherType.
    frame: (ip, v6) =>
      sll2({ protocol: EtherType.QINQ_OLD }, concat(Uint8Array.of(0x00, 0x64), u16be(et(v6)), ip)),
  },
  {
    name: 'BSD NULL little-endian, IPv4',
    linkType: LinkType.NULL,
    v6: false,
    frame: (ip) => bsdNull(AddressFamily.INET, ip, 'le'),
  },
  {
    name: 'BSD NULL big-endian, IPv6 (AF 30)',
    linkType: LinkType.NULL,
    v6: true,
    frame: (ip) => bsdNull(AddressFamily.INET6_DARWIN, ip, 'be'),
  },
  {
    name: 'OpenBSD LOOP, IPv6 (AF 24)',
    linkType: LinkType.LOOP,
    v6: true,
    frame: (ip) => bsdLoop(AddressFamily.INET6_BSD, ip),
  },
  { name: 'raw IPv4', linkType: LinkType.RAW, v6: false, frame: (ip) => ip },
  {
    name: 'raw IPv6 with Hop-by-Hop, Destination Options and Routing headers',
    linkType: LinkType.RAW,
    v6: true,
    frame: (ip) => ip,
    extensions: [{ type: 'hop-by-hop' }, { type: 'destination', length: 16 }, { type: 'routing' }],
  },
  {
    name: 'Ethernet, IPv4, data segments fragmented (MTU 576)',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) => ethernet({ etherType: et(v6) }, ip),
    messageSize: 2000,
    ip: (s, n) =>
      ipv4Fragments({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP, id: n }, s.bytes, [552, 552]),
  },
  {
    name: 'raw IPv6, data segments fragmented behind a Hop-by-Hop header',
    linkType: LinkType.RAW,
    v6: true,
    frame: (ip) => ip,
    messageSize: 2500,
    ip: (s, n) =>
      ipv6Fragments(
        { src: s.src.ip, dst: s.dst.ip },
        [{ type: 'hop-by-hop' }],
        [],
        IpProtocol.TCP,
        s.bytes,
        [1232],
        n,
      ),
  },
  {
    name: 'Ethernet, IPv4 TSO super-packets (total length 0)',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) => ethernet({ etherType: et(v6) }, ip),
    messageSize: 9000,
    ip: (s, n) => [
      ipv4(
        {
          src: s.src.ip,
          dst: s.dst.ip,
          protocol: IpProtocol.TCP,
          id: n,
          totalLength: s.payloadLength > 0 ? 0 : undefined,
        },
        s.bytes,
      ),
    ],
  },
  {
    name: 'VXLAN (4789), Ethernet inside, IPv4',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) => overUdp(4789, vxlan(42, innerFrame(ip, v6))),
  },
  {
    name: 'VXLAN on 8472 (Flannel, the Linux default), IPv6 inside',
    linkType: LinkType.ETHERNET,
    v6: true,
    frame: (ip, v6) => overUdp(8472, vxlan(1, innerFrame(ip, v6))),
  },
  {
    name: 'VXLAN with the Group Policy flag (0x88), 802.1Q inside',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      overUdp(4789, vxlan(42, ethernet({ etherType: et(v6), vlans: [{ vid: 5 }] }, ip), 0x88)),
  },
  {
    name: 'Geneve (6081) with an option, Ethernet inside, IPv4',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      overUdp(
        6081,
        geneve(
          7,
          TunnelType.BRIDGED,
          innerFrame(ip, v6),
          geneveOption(0x0102, 0x80, Uint8Array.of(1, 2, 3, 4)),
        ),
      ),
  },
  {
    name: 'Geneve, IPv6 straight inside (protocol 0x86dd)',
    linkType: LinkType.ETHERNET,
    v6: true,
    frame: (ip) => overUdp(6081, geneve(7, EtherType.IPV6, ip)),
  },
  {
    name: "IP in IP (Calico's IPIP mode)",
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip) => outer4(IpProtocol.IPIP, ip),
  },
  {
    name: 'IPv6 in IPv4 (protocol 41)',
    linkType: LinkType.ETHERNET,
    v6: true,
    frame: (ip) => outer4(IpProtocol.IPV6_IN_IP, ip),
  },
  {
    name: 'GRE with checksum, key and sequence number, IPv4 inside',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip) =>
      outer4(IpProtocol.GRE, gre({ protocol: EtherType.IPV4, checksum: true, key: 99, sequence: 1 }, ip)),
  },
  {
    name: 'GRE over IPv6, Ethernet inside (gretap)',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      ethernet(
        { etherType: EtherType.IPV6 },
        ipv6(
          { src: '2001:db8:ffff::1', dst: '2001:db8:ffff::2' },
          [],
          IpProtocol.GRE,
          gre({ protocol: TunnelType.BRIDGED }, innerFrame(ip, v6)),
        ),
      ),
  },
  {
    name: 'ERSPAN type II (a mirroring session)',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      outer4(
        IpProtocol.GRE,
        gre({ protocol: TunnelType.ERSPAN2, sequence: 1 }, erspan2(5, innerFrame(ip, v6))),
      ),
  },
  {
    name: 'ERSPAN type III with the platform subheader',
    linkType: LinkType.ETHERNET,
    v6: true,
    frame: (ip, v6) =>
      outer4(
        IpProtocol.GRE,
        gre({ protocol: TunnelType.ERSPAN3, sequence: 1 }, erspan3(5, innerFrame(ip, v6), new Uint8Array(8))),
      ),
  },
  {
    name: 'VXLAN inside GRE (two tunnels)',
    linkType: LinkType.ETHERNET,
    v6: false,
    frame: (ip, v6) =>
      outer4(
        IpProtocol.GRE,
        gre(
          { protocol: EtherType.IPV4 },
          ipv4(
            { src: '192.0.2.3', dst: '192.0.2.4', protocol: IpProtocol.UDP },
            udp({ srcPort: 51001, dstPort: 4789 }, vxlan(9, innerFrame(ip, v6))),
          ),
        ),
      ),
  },
];

/** Builds the packets of one scenario: a connection with a request and a response. */
function packetsOf(sc: Scenario, k: number): Uint8Array[] {
  const client: Endpoint = sc.v6
    ? { ip: `2001:db8:${k}::1`, port: 40000 + k }
    : { ip: `10.${k}.0.1`, port: 40000 + k };
  const server: Endpoint = sc.v6
    ? { ip: `2001:db8:${k}::2`, port: 8000 + k }
    : { ip: `10.${k}.0.2`, port: 8000 + k };
  const segments = tcpConversation(client, server, [
    { fromClient: true, data: filler(sc.messageSize ?? 300, k) },
    { fromClient: false, data: ascii(`response ${k}`) },
  ]);
  const out: Uint8Array[] = [];
  segments.forEach((s, n) => {
    const ips = sc.ip
      ? sc.ip(s, 100 * k + n)
      : [
          sc.v6
            ? ipv6({ src: s.src.ip, dst: s.dst.ip }, sc.extensions ?? [], IpProtocol.TCP, s.bytes)
            : ipv4({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP, id: 100 * k + n }, s.bytes),
        ];
    for (const ip of ips) out.push(sc.frame(ip, sc.v6));
  });
  return out;
}

/** Scenario k + 1 uses addresses 10.k.0.x or 2001:db8:k::x (see packetsOf). */
function scenarioOf(endpoint: string): string {
  const m = /^\[?(?:10\.(\d+)\.|2001:db8:(\d+)::)/.exec(endpoint);
  const k = Number(m?.[1] ?? m?.[2] ?? 0);
  return scenarios[k - 1]?.name ?? 'unknown scenario';
}

function ep(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** podwire's connections equal tshark's TCP streams: endpoints, frames, frame bytes, payload bytes. */
async function compareWithTshark(path: string, expectConnections: number): Promise<void> {
  const conns: ConnectionRecord[] = [];
  const { summary } = await analyzeFiles(
    [path],
    { tracker: { closeOlderThanMicros: Number.POSITIVE_INFINITY }, progress: false },
    (c) => conns.push(c),
  );
  assert.equal(summary.files[0]?.error, undefined);
  assert.deepEqual(summary.errors, {});
  assert.equal(summary.badPackets, 0);
  assert.equal(conns.length, expectConnections);
  const streams = await tsharkStreams(path, TSHARK_DECODE_AS);
  assert.equal(streams.length, conns.length, 'tshark stream count');
  for (const s of streams) {
    const c = conns.find((x) => {
      const a = ep(x.src.ip, x.src.port);
      const b = ep(x.dst.ip, x.dst.port);
      return (a === s.first && b === s.second) || (a === s.second && b === s.first);
    });
    const where = `${s.first} <-> ${s.second} (${scenarioOf(s.first)})`;
    assert.ok(c, `tshark stream ${where} has no podwire connection`);
    const same = ep(c.src.ip, c.src.port) === s.first;
    const fromFirst = same ? c.sent : c.received;
    const toFirst = same ? c.received : c.sent;
    assert.deepEqual(
      { frames: fromFirst.packets, bytes: fromFirst.wireBytes, payload: fromFirst.bytes },
      s.fwd,
      `${where}: first -> second`,
    );
    assert.deepEqual(
      { frames: toFirst.packets, bytes: toFirst.wireBytes, payload: toFirst.bytes },
      s.rev,
      `${where}: second -> first`,
    );
  }
}

describe('decoded connections agree with tshark', {
  skip: haveTshark ? false : 'tshark is not installed',
}, () => {
  test('every link type and header variety in one pcapng file, one interface per scenario', async () => {
    const w = new PcapngWriter().section('le');
    let t = 0;
    scenarios.forEach((sc, k) => {
      const id = w.interface({ linkType: sc.linkType, name: sc.name });
      for (const data of packetsOf(sc, k + 1)) {
        t += 1_000_000; // one packet a millisecond
        w.epb({ interfaceId: id, ticks: w.ticks(id, 1_700_000_000, t), data });
      }
    });
    await compareWithTshark(writeFile(dir, 'all-links.pcapng', w.result().bytes), scenarios.length);
  });

  test('one scenario alone in a classic pcap file', async () => {
    const k = scenarios.findIndex((sc) => sc.name.includes('QinQ'));
    const sc = scenarios[k]!;
    const packets = packetsOf(sc, k + 1).map((data, i) => ({ data, sec: 1_700_000_000 + i, frac: 0 }));
    const path = writeFile(dir, 'qinq.pcap', writePcap({ linkType: sc.linkType }, packets).bytes);
    await compareWithTshark(path, 1);
  });
});
