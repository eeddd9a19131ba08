/** The podwire command line: one binary, one subcommand per mode (DESIGN.md, Modes). */
import { AGENT_USAGE, runAgent } from './agent.js';
import { ANALYZE_USAGE, runAnalyze } from './analyze.js';
import { HUB_USAGE, runHub } from './hub.js';
import { runSnapshot, SNAPSHOT_USAGE } from './snapshot.js';
import { runStart, START_USAGE } from './start.js';
import { UsageError } from './usage-error.js';

const USAGE = `usage: podwire <command> [options]

commands:
  analyze FILE...   read pcap/pcapng files (plain or gzipped) and print entries and connections
  snapshot          save the cluster's pods, services, nodes and workloads for 'analyze --k8s'
  agent             capture live on this node's container interfaces; stream to a hub or as jsonl
  hub               store what agents send; serve the APIs, Grafana's Node Graph and /metrics
  start             agent and hub in one process on this host: a live table, the APIs on loopback

Run 'podwire <command> --help' for a command's options.`;

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; usage: string }> = {
  analyze: { run: runAnalyze, usage: ANALYZE_USAGE },
  snapshot: { run: runSnapshot, usage: SNAPSHOT_USAGE },
  agent: { run: runAgent, usage: AGENT_USAGE },
  hub: { run: runHub, usage: HUB_USAGE },
  start: { run: runStart, usage: START_USAGE },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`podwire: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
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
