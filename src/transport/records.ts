/**
 * What the hub checks of each record an agent sends before handing it to the store: the fields the
 * store indexes and the APIs sort by (src/dissect/entry.ts, src/flows/connection.ts). A record that
 * fails is not stored and is counted (`rejected`) with its first reason kept, so one bad record
 * neither poisons its batch (the agent would send it again forever) nor disappears silently.
 */
import type { Entry } from '../dissect/entry.js';
import type { ConnectionRecord } from '../flows/connection.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEndpoint(v: unknown): boolean {
  return isObject(v) && typeof v.ip === 'string' && typeof v.port === 'number';
}

function isTime(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Why `v` is not an Entry, or null when it is one. */
export function entryProblem(v: unknown): string | null {
  if (!isObject(v)) return 'not an object';
  if (v.type !== 'entry') return `type is ${JSON.stringify(v.type)}, not "entry"`;
  if (typeof v.id !== 'string') return 'id is not a string';
  if (typeof v.protocol !== 'string') return 'protocol is not a string';
  if (!isTime(v.timestamp)) return 'timestamp is not a number';
  if (!isEndpoint(v.src) || !isEndpoint(v.dst)) return 'src or dst is not {ip, port}';
  if (typeof v.method !== 'string' || typeof v.path !== 'string') return 'method or path is not a string';
  if (!isObject(v.request)) return 'request is not an object';
  return null;
}

/** Why `v` is not a ConnectionRecord, or null when it is one. */
export function connectionProblem(v: unknown): string | null {
  if (!isObject(v)) return 'not an object';
  if (v.type !== 'connection') return `type is ${JSON.stringify(v.type)}, not "connection"`;
  if (typeof v.id !== 'number') return 'id is not a number';
  if (!isEndpoint(v.src) || !isEndpoint(v.dst)) return 'src or dst is not {ip, port}';
  if (!isTime(v.start) || !isTime(v.end)) return 'start or end is not a number';
  if (!isObject(v.sent) || !isObject(v.received)) return 'sent or received is missing';
  return null;
}

export interface CheckedRecords {
  entries: Entry[];
  connections: ConnectionRecord[];
  rejected: number;
  /** The first rejection's reason, for the log and the agent's status. */
  firstProblem: string | null;
}

/** Keeps the items `problem` has nothing against; a new array only when one is dropped. */
function keep<T>(
  items: unknown[],
  problem: (v: unknown) => string | null,
  name: string,
  out: CheckedRecords,
): T[] {
  let good: T[] | null = null;
  for (let i = 0; i < items.length; i++) {
    const p = problem(items[i]);
    if (p === null) {
      good?.push(items[i] as T);
      continue;
    }
    good ??= items.slice(0, i) as T[];
    out.rejected++;
    out.firstProblem ??= `${name}[${i}]: ${p}`;
  }
  return good ?? (items as T[]);
}

/** The records of a batch that are what they claim to be, and a count of the others. */
export function checkRecords(entries: unknown[], connections: unknown[]): CheckedRecords {
  const out: CheckedRecords = { entries: [], connections: [], rejected: 0, firstProblem: null };
  out.entries = keep<Entry>(entries, entryProblem, 'entries', out);
  out.connections = keep<ConnectionRecord>(connections, connectionProblem, 'connections', out);
  return out;
}
