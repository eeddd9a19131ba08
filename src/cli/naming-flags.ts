/**
 * How endpoints get their names, for every command that names them (`hub`, `start`, and `agent`
 * without a hub): a cluster snapshot (`--k8s`), the live cluster (`--kubeconfig`, `--in-cluster`:
 * list and watch), or not at all; outside addresses by reverse DNS unless `--no-reverse-dns`.
 */
import { Enricher } from '../enrich/enricher.js';
import { createExternalNamer, type ExternalNamerWithStats } from '../enrich/external/index.js';
import { ClusterWatcher, loadKubeConfig, loadSnapshots, type Resolver } from '../enrich/index.js';
import type { FlagValues } from './pipeline-flags.js';
import { UsageError } from './usage-error.js';

function str(v: FlagValues, k: string): string | undefined {
  return typeof v[k] === 'string' ? (v[k] as string) : undefined;
}

/** The enricher the flags ask for (null: names are not wanted), and what to stop at the end. */
export async function namingFlags(
  v: FlagValues,
  log: (m: string) => void,
): Promise<{
  enricher: Enricher | null;
  watcher: ClusterWatcher | null;
  namer: ExternalNamerWithStats | null;
}> {
  const snapshots = (v.k8s as string[] | undefined) ?? [];
  const kubeconfig = str(v, 'kubeconfig');
  const inCluster = Boolean(v['in-cluster']);
  if (snapshots.length && (kubeconfig || inCluster))
    throw new UsageError('--k8s names endpoints from a snapshot: drop --kubeconfig/--in-cluster, or --k8s');
  let resolver: Resolver | null = null;
  let watcher: ClusterWatcher | null = null;
  if (snapshots.length) {
    try {
      resolver = loadSnapshots(snapshots).model;
    } catch (err) {
      throw new UsageError(`--k8s ${(err as Error).message}`);
    }
  } else if (kubeconfig || inCluster) {
    let kc: ReturnType<typeof loadKubeConfig>;
    try {
      kc = loadKubeConfig(kubeconfig ? { kubeconfig } : {});
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    watcher = new ClusterWatcher(kc, undefined, {
      onError: (kind, path, err, retryInMs) =>
        log(`kubernetes: ${kind} ${path}: ${(err as Error).message ?? err}; retrying in ${retryInMs} ms`),
    });
    // Lookups work meanwhile with what is known; start-up does not wait for every kind.
    watcher.start().then(
      () => log('kubernetes: every kind listed; watching'),
      (err) => log(`kubernetes: ${(err as Error).message}`),
    );
    resolver = watcher.model;
  }
  if (!resolver) return { enricher: null, watcher: null, namer: null };
  const namer = v['no-reverse-dns'] ? null : await createExternalNamer({ reverseDns: true });
  return { enricher: new Enricher(resolver, namer), watcher, namer };
}
