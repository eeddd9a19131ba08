/**
 * Which interfaces of this host to capture: read from the kernel with `ip -j -d addr` (iproute2's
 * JSON over netlink: names, flags, link kind, master, peer namespace, addresses), then selected.
 *
 * The container side of a node, where pods' traffic is seen once per pod:
 * - the host end of a veth pair whose other end is in another network namespace: bridge CNIs
 *   (`bridge`, Flannel's `cni0` veths, Docker's `docker0` veths), Calico's `cali*`, Cilium's
 *   `lxc*` (but not `lxc_health`, Cilium's own health endpoint, unless asked);
 * - ipvlan and macvlan interfaces in the host namespace (the pods' ends live in theirs).
 * Bridges, tunnels (`tunl0`, `flannel.1`, `vxlan.calico`, `cilium_*`), the uplink and `lo` are
 * not container-side: a bridge carries the same frames as its veths, a tunnel the encapsulated
 * ones. They can still be asked for by name or pattern.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostInterface {
  name: string;
  /** The kernel's ifindex: a new interface under an old name has a new one. */
  index: number;
  /** Administratively up (the UP flag). */
  up: boolean;
  /** RFC 2863 state as the kernel reports it: UP, DOWN, LOWERLAYERDOWN, UNKNOWN... */
  operstate: string;
  /** `veth`, `bridge`, `ipvlan`, `macvlan`, `vxlan`, `ipip`... (null for a plain device). */
  kind: string | null;
  /** The bridge (or bond) it is enslaved to. */
  master: string | null;
  /** For a veth: its peer is in another network namespace (a pod's). */
  peerInOtherNetns: boolean;
  loopback: boolean;
  addresses: string[];
}

/** What `ip -j -d addr show` prints per interface (the fields read here). */
interface IpJson {
  ifindex?: number;
  ifname?: string;
  flags?: string[];
  operstate?: string;
  link_type?: string;
  master?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: { local?: string }[];
}

export function parseIpAddrJson(text: string): HostInterface[] {
  const parsed = JSON.parse(text) as IpJson[];
  const out: HostInterface[] = [];
  for (const i of parsed) {
    if (typeof i.ifname !== 'string') continue;
    const flags = i.flags ?? [];
    out.push({
      name: i.ifname,
      index: i.ifindex ?? 0,
      up: flags.includes('UP'),
      operstate: i.operstate ?? 'UNKNOWN',
      kind: i.linkinfo?.info_kind ?? null,
      master: i.master ?? null,
      peerInOtherNetns: i.link_netnsid !== undefined,
      loopback: flags.includes('LOOPBACK') || i.link_type === 'loopback',
      addresses: (i.addr_info ?? []).map((a) => a.local).filter((a): a is string => typeof a === 'string'),
    });
  }
  return out;
}

/** This host's interfaces, now. Throws when `ip` is missing or fails. */
export async function listHostInterfaces(): Promise<HostInterface[]> {
  const { stdout } = await run('ip', ['-j', '-d', 'addr', 'show'], { maxBuffer: 64 << 20, timeout: 10_000 });
  return parseIpAddrJson(stdout);
}

const CONTAINER_KINDS = new Set(['ipvlan', 'macvlan', 'macvtap', 'ipvtap']);

/** True for the node's end of a pod's network (see the file comment). */
export function isContainerSide(i: HostInterface): boolean {
  if (i.name === 'lxc_health') return false;
  if (i.kind === 'veth') return i.peerInOtherNetns || /^(cali|lxc)/.test(i.name);
  if (i.kind !== null && CONTAINER_KINDS.has(i.kind)) return true;
  return false;
}

export interface InterfaceSelection {
  /** `containers`: the container side (the agent's default); `host`: every interface that is up
   * (podwire start's). */
  scope: 'containers' | 'host';
  /** When set, the interfaces whose name matches, of any kind and state, replace the scope's. */
  include?: RegExp;
  exclude?: RegExp;
  /** `host` scope: capture `lo` too. */
  loopback?: boolean;
}

export interface Selected {
  selected: HostInterface[];
  /** Names a command listed that the kernel does not know. */
  unknown: string[];
}

/**
 * Picks the interfaces to capture. `listed` (the output of a user's command) narrows the choice to
 * those names first; include and exclude patterns then apply as for discovery.
 */
export function selectInterfaces(
  all: HostInterface[],
  sel: InterfaceSelection,
  listed: string[] | null = null,
): Selected {
  const unknown: string[] = [];
  let pool = all;
  if (listed) {
    const byName = new Map(all.map((i) => [i.name, i]));
    pool = [];
    for (const name of listed) {
      const i = byName.get(name);
      if (i) pool.push(i);
      else unknown.push(name);
    }
  }
  const selected = pool.filter((i) => {
    if (sel.exclude?.test(i.name)) return false;
    if (sel.include) return sel.include.test(i.name);
    // Names a user's command printed were asked for: only the exclude pattern overrides them.
    if (listed) return true;
    if (sel.scope === 'host') return i.up && (!i.loopback || Boolean(sel.loopback));
    return isContainerSide(i);
  });
  return { selected, unknown };
}

/**
 * Runs a user's command that lists interfaces (k8spacket's K8S_PACKET_TCP_LISTENER_INTERFACES_COMMAND),
 * e.g. `ip -br link | awk '$1 ~ /^cali/ {print $1}'`. Names are separated by spaces, commas or
 * newlines; `ip`'s `name@peer` and a trailing colon are trimmed. Throws when the command fails.
 */
export async function runInterfacesCommand(command: string, timeoutMs = 10_000): Promise<string[]> {
  const { stdout } = await run('/bin/sh', ['-c', command], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return parseInterfaceList(stdout);
}

export function parseInterfaceList(text: string): string[] {
  const names = new Set<string>();
  for (const token of text.split(/[\s,]+/)) {
    const name = token.replace(/:$/, '').replace(/@.*$/, '');
    if (name) names.add(name);
  }
  return [...names];
}
