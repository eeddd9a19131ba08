/**
 * DNS servers for the reverse DNS tests: a real dnsmasq on 127.0.0.1 that knows a few PTR names
 * and answers NXDOMAIN for every other reverse name (`--local` for in-addr.arpa and ip6.arpa, no
 * upstream), logging each query to a file the tests count; and a UDP port that swallows queries.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq', '/sbin/dnsmasq'].find((p) => existsSync(p));

/** Why dnsmasq tests cannot run here, or null when they can. */
export function dnsmasqMissing(): string | null {
  if (!DNSMASQ) return 'dnsmasq is not installed (apt-get install dnsmasq)';
  if (process.getuid?.() !== 0) return 'dnsmasq tests run as root (it is started with --user=root)';
  return null;
}

export class Dnsmasq {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** `host:port` for `dnsServers`. */
  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts dnsmasq with PTR names for `hosts` (name → address); resolves once it answers. */
  static async start(hosts: Record<string, string>): Promise<Dnsmasq> {
    if (!DNSMASQ) throw new Error('dnsmasq is not installed');
    for (let attempt = 0; ; attempt++) {
      const port = await freeUdpPort();
      const dir = mkdtempSync(join(tmpdir(), 'podwire-dnsmasq-'));
      const args = [
        '--keep-in-foreground',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--user=root',
        '--pid-file=',
        '--cache-size=0',
        // Authoritative for every reverse name: NXDOMAIN for those it was not given.
        '--local=/in-addr.arpa/',
        '--local=/ip6.arpa/',
        '--host-record=ready.test,192.0.2.254',
        ...Object.entries(hosts).map(([name, ip]) => `--host-record=${name},${ip}`),
        '--log-queries',
        `--log-facility=${join(dir, 'queries.log')}`,
      ];
      const child = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const server = new Dnsmasq(child, port, dir);
      if (await server.answers()) return server;
      await server.stop();
      if (attempt === 3) throw new Error(`dnsmasq did not start: ${stderr.trim()}`);
    }
  }

  /** The reverse names (`7.113.0.203.in-addr.arpa`) of the PTR queries it received, in order. */
  ptrQueries(): string[] {
    let log: string;
    try {
      log = readFileSync(join(this.dir, 'queries.log'), 'utf8');
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const m of log.matchAll(/query\[PTR\] (\S+) from/g)) out.push(m[1]!);
    return out;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async answers(): Promise<boolean> {
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([this.server]);
    for (let i = 0; i < 25; i++) {
      if (this.child.exitCode !== null) return false;
      try {
        const a = await r.resolve4('ready.test');
        if (a[0] === '192.0.2.254') return true;
      } catch {
        await new Promise((res) => setTimeout(res, 40));
      }
    }
    return false;
  }
}

/** A UDP "DNS server" that receives queries and never answers. */
export class SilentServer {
  received = 0;
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', () => {
      this.received++;
    });
  }

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<SilentServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    return new SilentServer(socket, socket.address().port);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.socket.close(() => r()));
  }
}

/** The reverse name of an IPv4 address, as dnsmasq logs it. */
export function inAddrArpa(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
