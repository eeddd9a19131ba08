/**
 * `podwire snapshot`: saves the cluster objects that name addresses, from the current kubeconfig,
 * as the `List` that `kubectl get ... -A -o json` prints, for `podwire analyze --k8s` later (the
 * two are interchangeable).
 */
import { once } from 'node:events';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { WatchedKind } from '../enrich/kinds.js';
import { UsageError } from './usage-error.js';

export const SNAPSHOT_USAGE = `usage: podwire snapshot [options]

Lists pods, services, endpointslices, nodes, replicasets, deployments, statefulsets, daemonsets,
jobs and cronjobs in every namespace of the current kubeconfig's cluster and writes them as one JSON
List, the shape 'kubectl get ... -A -o json' prints, for 'podwire analyze --k8s FILE'. Needs get and
list on those kinds.

options:
  --kubeconfig FILE   the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or the pod's service account)
  --context NAME      a context of the kubeconfig other than its current one
  -o, --output FILE   write the snapshot here (default: standard output)
  -h, --help          this help`;

/**
 * Destination: a temporary file renamed into place at the end (a failed run leaves no half file),
 * or standard output, waiting when the pipe is full.
 */
class Output {
  private readonly fd: number | null;
  private readonly tmp: string | null;

  constructor(private readonly path: string | null) {
    this.tmp = path ? `${path}.${process.pid}.tmp` : null;
    this.fd = this.tmp ? openSync(this.tmp, 'w') : null;
  }

  async write(s: string): Promise<void> {
    if (this.fd !== null) writeSync(this.fd, s);
    else if (!process.stdout.write(s)) await once(process.stdout, 'drain');
  }

  commit(): void {
    if (this.fd === null || !this.tmp || !this.path) return;
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  abandon(): void {
    if (this.fd === null || !this.tmp) return;
    closeSync(this.fd);
    rmSync(this.tmp, { force: true });
  }
}

export async function runSnapshot(argv: string[]): Promise<number> {
  let values: { kubeconfig?: string; context?: string; output?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${SNAPSHOT_USAGE}\n`);
    return 0;
  }
  // Loaded here, not at start-up: the Kubernetes client takes a while to load and only this command needs it.
  const { ApiError, KubeConfigError, listAll, loadKubeConfig } = await import('../enrich/client.js');
  const { collectionPath, WATCHED_KINDS } = await import('../enrich/kinds.js');
  let kc: ReturnType<typeof loadKubeConfig>;
  try {
    kc = loadKubeConfig({
      ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.context ? { context: values.context } : {}),
    });
  } catch (err) {
    if (err instanceof KubeConfigError) {
      process.stderr.write(`podwire snapshot: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const server = kc.getCurrentCluster()?.server ?? '';
  let out: Output;
  try {
    out = new Output(values.output ?? null);
  } catch (err) {
    process.stderr.write(`podwire snapshot: cannot write '${values.output}': ${(err as Error).message}\n`);
    return 1;
  }
  const counts: string[] = [];
  const failed: string[] = [];
  let first = true;
  await out.write('{\n    "apiVersion": "v1",\n    "items": [\n');
  try {
    for (const kind of WATCHED_KINDS) {
      const path = collectionPath(kind);
      let items: unknown[] = [];
      try {
        await listAll(
          kc,
          path,
          500,
          (page) => {
            for (const item of page) items.push(withKind(kind, item));
          },
          () => {
            items = [];
          },
        );
      } catch (err) {
        if (err instanceof ApiError) {
          const hint =
            err.statusCode === 403
              ? ` (RBAC: needs 'list' on ${kind.plural}${kind.group ? `.${kind.group}` : ''})`
              : err.statusCode === 404
                ? ` (the cluster does not serve ${kind.apiVersion} ${kind.plural})`
                : '';
          process.stderr.write(`podwire snapshot: ${kind.plural}: ${err.message}${hint}\n`);
          failed.push(kind.plural);
          continue;
        }
        const e = err as NodeJS.ErrnoException;
        process.stderr.write(
          `podwire snapshot: cannot reach the API server at ${server}: ${e.code ?? e.message}\n`,
        );
        out.abandon();
        return 1;
      }
      for (const item of items) {
        await out.write(`${first ? '' : ',\n'}        ${JSON.stringify(item)}`);
        first = false;
      }
      counts.push(`${items.length} ${kind.plural}`);
    }
    await out.write(
      `${first ? '' : '\n'}    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n`,
    );
    out.commit();
  } catch (err) {
    out.abandon();
    throw err;
  }
  process.stderr.write(
    `podwire snapshot: ${counts.join(', ')}${values.output ? ` written to ${values.output}` : ''}${failed.length ? `; not listed: ${failed.join(', ')}` : ''}\n`,
  );
  return failed.length ? 1 : 0;
}

/** Puts back the kind and apiVersion the API leaves out of list items, first, as kubectl prints them. */
function withKind(kind: WatchedKind, item: unknown): unknown {
  if (typeof item !== 'object' || item === null) return item;
  return { apiVersion: kind.apiVersion, kind: kind.kind, ...(item as Record<string, unknown>) };
}
