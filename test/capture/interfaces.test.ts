/**
 * Interface discovery: which of a node's interfaces are the container side, and how include,
 * exclude and a user's command change the choice. The fixture is `ip -j -d addr show` as iproute2
 * prints it on a node running several CNIs at once (fields trimmed to those read, values as the
 * kernel reports them); the last tests ask this machine's kernel.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type HostInterface,
  isContainerSide,
  listHostInterfaces,
  parseInterfaceList,
  parseIpAddrJson,
  runInterfacesCommand,
  selectInterfaces,
} from '../../src/capture/interfaces.js';
import { netnsAvailable, sh } from '../support/netns.js';

const NODE = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    link_type: 'loopback',
    addr_info: [{ local: '127.0.0.1' }, { local: '::1' }],
  },
  {
    ifindex: 2,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    addr_info: [{ local: '10.0.0.5' }],
  },
  // Flannel / bridge CNI: the bridge, its VXLAN device, and a pod's veth enslaved to the bridge.
  {
    ifindex: 3,
    ifname: 'cni0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    linkinfo: { info_kind: 'bridge' },
    addr_info: [{ local: '10.244.0.1' }],
  },
  {
    ifindex: 4,
    ifname: 'flannel.1',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    link_type: 'ether',
    linkinfo: { info_kind: 'vxlan' },
  },
  {
    ifindex: 5,
    ifname: 'veth1a2b3c4d',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    master: 'cni0',
    link_netnsid: 0,
    linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' },
  },
  // Calico: routed veths (no bridge) and the IPIP tunnel that crash-looped k8spacket when down.
  {
    ifindex: 6,
    ifname: 'tunl0',
    flags: ['NOARP'],
    operstate: 'DOWN',
    link_type: 'ipip',
    linkinfo: { info_kind: 'ipip' },
  },
  {
    ifindex: 7,
    ifname: 'cali12ab34cd56e',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    link_netnsid: 1,
    linkinfo: { info_kind: 'veth' },
  },
  {
    ifindex: 8,
    ifname: 'cali99ff00aa11b',
    flags: ['BROADCAST', 'MULTICAST'],
    operstate: 'DOWN',
    link_type: 'ether',
    link_netnsid: 2,
    linkinfo: { info_kind: 'veth' },
  },
  {
    ifindex: 9,
    ifname: 'vxlan.calico',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    link_type: 'ether',
    linkinfo: { info_kind: 'vxlan' },
  },
  // Cilium: pods' lxc veths, its health endpoint, its host devices.
  {
    ifindex: 10,
    ifname: 'lxc8f1d2e3a4b5c',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    link_netnsid: 3,
    linkinfo: { info_kind: 'veth' },
  },
  {
    ifindex: 11,
    ifname: 'lxc_health',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    link_netnsid: 4,
    linkinfo: { info_kind: 'veth' },
  },
  // cilium_host and cilium_net are a veth pair with both ends in the host namespace.
  {
    ifindex: 12,
    ifname: 'cilium_host',
    flags: ['BROADCAST', 'MULTICAST', 'NOARP', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    linkinfo: { info_kind: 'veth' },
  },
  // ipvlan and macvlan in the host namespace; a veth pair with both ends here (not a pod).
  {
    ifindex: 13,
    ifname: 'ipvl0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    link_type: 'ether',
    linkinfo: { info_kind: 'ipvlan' },
  },
  {
    ifindex: 14,
    ifname: 'macvl0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    linkinfo: { info_kind: 'macvlan' },
  },
  {
    ifindex: 15,
    ifname: 'hostpair0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    link_type: 'ether',
    linkinfo: { info_kind: 'veth' },
  },
  {
    ifindex: 16,
    ifname: 'docker0',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'],
    operstate: 'DOWN',
    link_type: 'ether',
    linkinfo: { info_kind: 'bridge' },
  },
]);

const all = parseIpAddrJson(NODE);
const names = (list: HostInterface[]) => list.map((i) => i.name);

describe('interfaces from ip -j -d addr', () => {
  test('parsed: flags, kind, master, peer namespace, addresses', () => {
    const veth = all.find((i) => i.name === 'veth1a2b3c4d')!;
    assert.deepEqual(veth, {
      name: 'veth1a2b3c4d',
      index: 5,
      up: true,
      operstate: 'UP',
      kind: 'veth',
      master: 'cni0',
      peerInOtherNetns: true,
      loopback: false,
      addresses: [],
    });
    const lo = all.find((i) => i.name === 'lo')!;
    assert.equal(lo.loopback, true);
    assert.deepEqual(lo.addresses, ['127.0.0.1', '::1']);
    assert.equal(all.find((i) => i.name === 'tunl0')!.up, false);
  });

  test('the container side: pod veths of every CNI, ipvlan, macvlan; not lxc_health, bridges, tunnels', () => {
    assert.deepEqual(names(all.filter(isContainerSide)), [
      'veth1a2b3c4d',
      'cali12ab34cd56e',
      'cali99ff00aa11b',
      'lxc8f1d2e3a4b5c',
      'ipvl0',
      'macvl0',
    ]);
  });

  test('containers scope keeps a down pod veth (the agent counts it and retries)', () => {
    const { selected } = selectInterfaces(all, { scope: 'containers' });
    assert.ok(names(selected).includes('cali99ff00aa11b'));
    assert.ok(!names(selected).includes('tunl0'));
  });

  test('host scope: every interface that is up, lo only when asked', () => {
    const host = names(selectInterfaces(all, { scope: 'host' }).selected);
    assert.ok(host.includes('eth0') && host.includes('cni0') && host.includes('docker0'));
    assert.ok(!host.includes('lo') && !host.includes('tunl0') && !host.includes('cali99ff00aa11b'));
    assert.ok(names(selectInterfaces(all, { scope: 'host', loopback: true }).selected).includes('lo'));
  });

  test('include replaces the scope (any kind, any state); exclude always wins', () => {
    assert.deepEqual(
      names(selectInterfaces(all, { scope: 'containers', include: /^(tunl|lxc_)/ }).selected),
      ['tunl0', 'lxc_health'],
    );
    assert.deepEqual(
      names(selectInterfaces(all, { scope: 'containers', exclude: /^(ipvl|macvl)/ }).selected),
      ['veth1a2b3c4d', 'cali12ab34cd56e', 'cali99ff00aa11b', 'lxc8f1d2e3a4b5c'],
    );
    assert.deepEqual(
      names(selectInterfaces(all, { scope: 'containers', include: /^cali/, exclude: /99/ }).selected),
      ['cali12ab34cd56e'],
    );
  });

  test("a command's list: those names (unknown ones reported), then include and exclude", () => {
    const listed = ['eth0', 'cali12ab34cd56e', 'gone0'];
    const r = selectInterfaces(all, { scope: 'containers' }, listed);
    assert.deepEqual(names(r.selected), ['eth0', 'cali12ab34cd56e']);
    assert.deepEqual(r.unknown, ['gone0']);
    assert.deepEqual(
      names(selectInterfaces(all, { scope: 'containers', exclude: /^eth/ }, listed).selected),
      ['cali12ab34cd56e'],
    );
  });

  test("a command's output: spaces, commas, lines; ip's name@peer and colons trimmed", () => {
    assert.deepEqual(parseInterfaceList('7: cali12@if3:\ncali34, lxc1  lxc1\n\n'), [
      '7',
      'cali12',
      'cali34',
      'lxc1',
    ]);
    assert.deepEqual(parseInterfaceList(''), []);
  });
});

const root = await netnsAvailable();

describe('interfaces of this machine', { skip: root ? false : 'needs root and iproute2' }, () => {
  test('lo is listed; a veth with its peer in a namespace is container-side, its pair in the host is not', async () => {
    const ns = 'pwifns';
    await sh('ip', ['netns', 'del', ns]).catch(() => {});
    await sh('ip', ['link', 'del', 'pwifv0']).catch(() => {});
    await sh('ip', ['link', 'del', 'pwifh0']).catch(() => {});
    try {
      await sh('ip', ['netns', 'add', ns]);
      await sh('ip', ['link', 'add', 'pwifv0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await sh('ip', ['link', 'add', 'pwifh0', 'type', 'veth', 'peer', 'name', 'pwifh1']);
      const list = await listHostInterfaces();
      assert.ok(list.some((i) => i.name === 'lo' && i.loopback));
      const pod = list.find((i) => i.name === 'pwifv0')!;
      assert.equal(pod.kind, 'veth');
      assert.equal(pod.up, false);
      assert.equal(isContainerSide(pod), true);
      assert.equal(isContainerSide(list.find((i) => i.name === 'pwifh0')!), false);
    } finally {
      await sh('ip', ['netns', 'del', ns]).catch(() => {});
      await sh('ip', ['link', 'del', 'pwifh0']).catch(() => {});
    }
  });

  test("a user's command runs in a shell; a failing one throws", async () => {
    assert.deepEqual(await runInterfacesCommand("printf 'a@if2: b\\n' ; echo c,d"), ['a', 'b', 'c', 'd']);
    await assert.rejects(runInterfacesCommand('exit 3'));
  });
});
