/**
 * A Kubernetes node in miniature for end-to-end tests: a Linux bridge on the host and "pods" as
 * network namespaces joined to it by veth pairs, each pod with its own address. Real servers and
 * clients run inside the pods (`ip netns exec`), and tcpdump captures on the host side of a veth,
 * where a CNI's node agent would. Needs root; `netnsAvailable()` says whether this machine can.
 *
 * Addresses come from 198.18.0.0/15 (RFC 2544, set aside for benchmarks and tests): traffic stays
 * between namespaces the test made. Give each test file its own subnet and name prefix.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function sh(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 64 << 20 });
  return stdout;
}

export async function netnsAvailable(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await sh('ip', ['netns', 'list']);
    return true;
  } catch {
    return false;
  }
}

export interface Pod {
  name: string;
  /** The namespace's name (`ip netns exec <ns> ...`). */
  ns: string;
  ip: string;
  /** Host-side end of the pod's veth pair: capture here. */
  hostIf: string;
}

export class Node {
  readonly pods: Pod[] = [];
  private readonly children: ChildProcess[] = [];

  /**
   * @param prefix short, unique per test file (interface names are limited to 15 characters)
   * @param subnet the first three octets, e.g. `198.18.5`; the bridge is `.1`, pods `.10` upward
   */
  constructor(
    readonly prefix: string,
    readonly subnet: string,
  ) {}

  get bridge(): string {
    return `${this.prefix}br`;
  }

  get gateway(): string {
    return `${this.subnet}.1`;
  }

  async up(podNames: string[]): Promise<void> {
    await this.down(podNames);
    await sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    await sh('ip', ['addr', 'add', `${this.gateway}/24`, 'dev', this.bridge]);
    await sh('ip', ['link', 'set', this.bridge, 'up']);
    for (const [i, name] of podNames.entries()) await this.addPod(name, 10 + i);
  }

  async addPod(name: string, host: number): Promise<Pod> {
    const ns = `${this.prefix}-${name}`;
    const hostIf = `${this.prefix}v${host}`;
    const ip = `${this.subnet}.${host}`;
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh('ip', ['link', 'set', hostIf, 'master', this.bridge, 'up']);
    await this.exec(ns, 'ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await this.exec(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    await this.exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    await this.exec(ns, 'ip', ['route', 'add', 'default', 'via', this.gateway]);
    const pod = { name, ns, ip, hostIf };
    this.pods.push(pod);
    return pod;
  }

  pod(name: string): Pod {
    const p = this.pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  /** Runs a command to completion inside a pod's namespace and returns its stdout. */
  exec(ns: string, cmd: string, args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  /** Starts a long-running process (a server) inside a pod; stopped by `down`. */
  spawn(ns: string, cmd: string, args: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** Starts tcpdump on one of the node's interfaces, or on one inside pod namespace `ns`; see `captureInterface`. */
  capture(iface: string, file: string, filter: string[] = [], ns?: string): Promise<Capture> {
    return captureInterface(iface, file, filter, ns);
  }

  /** Stops everything started and removes the pods and the bridge (also leftovers of a failed run). */
  async down(podNames: string[] = this.pods.map((p) => p.name)): Promise<void> {
    for (const c of this.children.splice(0)) {
      if (c.exitCode === null) {
        c.kill('SIGTERM');
        await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 2000))]);
      }
    }
    for (const name of podNames) await sh('ip', ['netns', 'del', `${this.prefix}-${name}`]).catch(() => {});
    // A run killed half-way leaves host-side veths behind (their namespace was never deleted, or
    // the kernel had not yet torn the pair down): remove every link of ours by name.
    const links = JSON.parse(await sh('ip', ['-j', 'link']).catch(() => '[]')) as { ifname: string }[];
    for (const { ifname } of links) {
      if (ifname.startsWith(`${this.prefix}v`) || ifname === this.bridge)
        await sh('ip', ['link', 'del', ifname]).catch(() => {});
    }
    this.pods.length = 0;
  }
}

/** Waits until `probe` resolves (a server is up), trying every 50 ms for at most `ms`. */
export async function waitFor(probe: () => Promise<unknown>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await probe();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface Capture {
  /**
   * Ends the capture (SIGINT, so the file is complete), waits for tcpdump to exit, and returns the
   * packets the kernel dropped (tcpdump's own count): a test that counts every packet asserts 0.
   */
  stop(): Promise<number>;
}

/**
 * Starts tcpdump on `iface` (a pod's host-side veth, or `lo` for the machine's own servers) writing
 * `file`, with an optional capture filter (`['tcp', 'port', '6379']`); resolves once it is listening.
 */
export async function captureInterface(
  iface: string,
  file: string,
  filter: string[] = [],
  ns?: string,
): Promise<Capture> {
  // --immediate-mode: without it libpcap hands packets over a block at a time (TPACKET_V3), and a
  // SIGINT drops the unfinished block, i.e. the last second of traffic. -B: a 128 MiB kernel
  // buffer (KiB), as the default 2 MiB overflows under bursts (redis-benchmark's 50 pipelining
  // clients) on a busy 2-core machine.
  const args = ['-i', iface, '-s', '0', '-U', '--immediate-mode', '-B', '131072', '-w', file, ...filter];
  // `ip netns exec` execs tcpdump: the child is tcpdump itself, and SIGINT reaches it.
  const child = ns
    ? spawn('ip', ['netns', 'exec', ns, 'tcpdump', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
  return {
    async stop() {
      // Let the kernel hand over the last packets before the signal.
      await new Promise((r) => setTimeout(r, 150));
      child.kill('SIGINT');
      if (child.exitCode === null) await once(child, 'exit');
      const m = /(\d+) packets? dropped by kernel/.exec(err);
      return m ? Number(m[1]) : 0;
    },
  };
}
