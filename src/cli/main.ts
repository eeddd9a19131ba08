/** The podwire command line: one binary, one subcommand per mode (DESIGN.md, Modes). */
import { UsageError } from './usage-error.js';

const USAGE = `usage: podwire <command> [options]

commands:
  analyze FILE...   read pcap/pcapng files (plain or gzipped) and print entries and connections
  snapshot          save the cluster's pods, services, nodes and workloads for 'analyze --k8s'
  agent             capture live on this node's container interfaces; stream to a hub or as jsonl
  hub               store what agents send; serve the APIs, Grafana's Node Graph and /metrics
  start             agent and hub in one process on this host: a live table, the APIs on loopback

Run 'podwire <command> --help' for a command's options.`;

interface Command {
  run: (argv: string[]) => Promise<number>;
  usage: string;
}

/**
 * Each command's module is loaded only when it runs: the hub's web framework, store and metrics
 * cost ~0.5 s to import, which `analyze` on a small file should not pay.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  analyze: async () => {
    const m = await import('./analyze.js');
    return { run: m.runAnalyze, usage: m.ANALYZE_USAGE };
  },
  snapshot: async () => {
    const m = await import('./snapshot.js');
    return { run: m.runSnapshot, usage: m.SNAPSHOT_USAGE };
  },
  agent: async () => {
    const m = await import('./agent.js');
    return { run: m.runAgent, usage: m.AGENT_USAGE };
  },
  hub: async () => {
    const m = await import('./hub.js');
    return { run: m.runHub, usage: m.HUB_USAGE };
  },
  start: async () => {
    const m = await import('./start.js');
    return { run: m.runStart, usage: m.START_USAGE };
  },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`podwire: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  const cmd = await load();
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`podwire ${name}: ${err.message}\n\n${cmd.usage}\n`);
      return 2;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
      process.stderr.write(
        `podwire ${name}: cannot read '${e.path ?? ''}': ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : 'is a directory'}\n`,
      );
      return 1;
    }
    if (e.code === 'EPIPE') return 0;
    throw err;
  }
}
