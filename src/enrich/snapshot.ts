/**
 * Offline cluster state: the output of
 * `kubectl get pods,services,endpointslices,nodes,replicasets,deployments,statefulsets,daemonsets,jobs,cronjobs -A -o json`
 * (a `List`), typed lists as the API returns them (`PodList`, items without kind), single objects,
 * a JSON array of any of these, or several such documents one after another in a file. Several
 * files may be given (snapshots taken at different times: later files update earlier ones).
 */
import { readFileSync, statSync } from 'node:fs';
import { ClusterModel } from './model.js';
import { slim } from './objects.js';

export class SnapshotError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'SnapshotError';
  }
}

export interface SnapshotSummary {
  files: number;
  /** Objects read, by kind. */
  kinds: Record<string, number>;
  /** Objects of kinds podwire does not read (ConfigMaps...), skipped. */
  skipped: number;
}

/**
 * Splits text holding one or more JSON documents (concatenated, as `cmd >> file` makes them)
 * into parsed values. Throws SyntaxError on text that is not JSON.
 */
export function parseJsonDocuments(text: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch (first) {
    const docs: unknown[] = [];
    let depth = 0;
    let inString = false;
    let start = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (c === 0x5c)
          i++; // backslash: skip the escaped character
        else if (c === 0x22) inString = false;
        continue;
      }
      if (c === 0x22) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (depth++ === 0) start = i;
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
        if (depth < 0) throw first;
      } else if (depth === 0 && c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) {
        throw first;
      }
    }
    if (depth !== 0 || docs.length === 0) throw first;
    return docs;
  }
}

/** Feeds every object of a parsed document to `onObject`, with the kind its list implies. */
export function forEachObject(doc: unknown, onObject: (raw: unknown, listKind?: string) => void): void {
  if (Array.isArray(doc)) {
    for (const d of doc) forEachObject(d, onObject);
    return;
  }
  if (typeof doc !== 'object' || doc === null) return;
  const o = doc as { kind?: unknown; items?: unknown };
  if (Array.isArray(o.items)) {
    const kind = typeof o.kind === 'string' && o.kind.endsWith('List') ? o.kind.slice(0, -4) : undefined;
    for (const item of o.items) {
      if (item && typeof item === 'object' && Array.isArray((item as { items?: unknown }).items))
        forEachObject(item, onObject);
      else onObject(item, kind || undefined);
    }
    return;
  }
  onObject(doc);
}

/** Loads snapshot files into a model (a new one unless given). */
export function loadSnapshots(
  paths: readonly string[],
  model = new ClusterModel(),
): { model: ClusterModel; summary: SnapshotSummary } {
  const summary: SnapshotSummary = { files: 0, kinds: {}, skipped: 0 };
  for (const path of paths) {
    let text: string;
    let mtime: number;
    try {
      text = readFileSync(path, 'utf8');
      mtime = statSync(path).mtimeMs * 1000;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SnapshotError(
        path,
        code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message,
      );
    }
    let docs: unknown[];
    try {
      docs = parseJsonDocuments(text);
    } catch (err) {
      throw new SnapshotError(
        path,
        `not JSON (${(err as Error).message}); write one with 'podwire snapshot' or 'kubectl get ... -A -o json'`,
      );
    }
    let found = 0;
    for (const doc of docs) {
      forEachObject(doc, (raw, listKind) => {
        const o = slim(raw, listKind);
        if (!o) {
          summary.skipped++;
          return;
        }
        found++;
        summary.kinds[o.kind] = (summary.kinds[o.kind] ?? 0) + 1;
        // A snapshot holds what existed when it was taken: nothing in it is deleted, and the file's
        // time stands for "seen" (it ends finished pods whose status gives no finish time).
        model.apply('add', o, mtime);
      });
    }
    if (found === 0)
      throw new SnapshotError(path, 'holds no pods, services, endpointslices, nodes or workloads');
    summary.files++;
  }
  return { model, summary };
}
