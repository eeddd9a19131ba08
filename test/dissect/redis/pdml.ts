/**
 * tshark's PDML (`-T pdml`) read as a tree: one node per proto and field, with its attributes.
 * The RESP comparison needs the tree (which values are top-level, which are nested), which the flat
 * `-T fields` output loses.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PdmlNode {
  name: string;
  show: string;
  value: string;
  pos: number;
  size: number;
  children: PdmlNode[];
}

const TOKEN = /<packet>|<\/packet>|<(proto|field)\s([^>]*?)(\/?)>|<\/(proto|field)>/g;
const ATTR = /(\w+)="([^"]*)"/g;

function decodeEntities(s: string): string {
  return s.replace(/&(quot|lt|gt|amp|apos);/g, (_, e: string) =>
    e === 'quot' ? '"' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : "'",
  );
}

function node(attrs: string): PdmlNode {
  const a: Record<string, string> = {};
  for (const m of attrs.matchAll(ATTR)) a[m[1]!] = m[2]!;
  return {
    name: a.name ?? '',
    show: decodeEntities(a.show ?? ''),
    value: a.value ?? '',
    pos: Number(a.pos ?? 0),
    size: Number(a.size ?? 0),
    children: [],
  };
}

/** Runs tshark and returns each packet as the list of its protos. */
export async function pdml(file: string, filter: string, decodeAs: string[] = []): Promise<PdmlNode[][]> {
  const args = ['-n', '-r', file];
  for (const d of decodeAs) args.push('-d', d);
  args.push('-Y', filter, '-T', 'pdml');
  const { stdout } = await run('tshark', args, { maxBuffer: 1 << 30 });
  const packets: PdmlNode[][] = [];
  let protos: PdmlNode[] = [];
  const stack: PdmlNode[] = [];
  for (const m of stdout.matchAll(TOKEN)) {
    const t = m[0];
    if (t === '<packet>') {
      protos = [];
      stack.length = 0;
    } else if (t === '</packet>') {
      packets.push(protos);
    } else if (m[1]) {
      const n = node(m[2]!);
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(n);
      else protos.push(n);
      if (m[3] !== '/') stack.push(n);
    } else {
      stack.pop();
    }
  }
  return packets;
}

/** Depth-first search for the first node named `name`. */
export function find(nodes: PdmlNode[], name: string): PdmlNode | undefined {
  for (const n of nodes) {
    if (n.name === name) return n;
    const below = find(n.children, name);
    if (below) return below;
  }
  return undefined;
}

export function findAll(nodes: PdmlNode[], name: string, out: PdmlNode[] = []): PdmlNode[] {
  for (const n of nodes) {
    if (n.name === name) out.push(n);
    findAll(n.children, name, out);
  }
  return out;
}
