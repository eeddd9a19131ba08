/**
 * The Kubernetes kinds podwire reads to name addresses, with where the API serves them. One table
 * drives the informers, `podwire snapshot` and the RBAC rules (get/list/watch on exactly these).
 */

export const KIND_NAMES = [
  'Pod',
  'Service',
  'EndpointSlice',
  'Node',
  'ReplicaSet',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

export interface WatchedKind {
  kind: KindName;
  /** `v1`, `apps/v1`...: what `kubectl get -o json` prints as each item's apiVersion. */
  apiVersion: string;
  /** API group, '' for the core group (RBAC's `apiGroups`). */
  group: string;
  /** The resource name (RBAC's `resources`, the URL's last segment). */
  plural: string;
  namespaced: boolean;
}

export const WATCHED_KINDS: readonly WatchedKind[] = [
  { kind: 'Pod', apiVersion: 'v1', group: '', plural: 'pods', namespaced: true },
  { kind: 'Service', apiVersion: 'v1', group: '', plural: 'services', namespaced: true },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    group: 'discovery.k8s.io',
    plural: 'endpointslices',
    namespaced: true,
  },
  { kind: 'Node', apiVersion: 'v1', group: '', plural: 'nodes', namespaced: false },
  { kind: 'ReplicaSet', apiVersion: 'apps/v1', group: 'apps', plural: 'replicasets', namespaced: true },
  { kind: 'Deployment', apiVersion: 'apps/v1', group: 'apps', plural: 'deployments', namespaced: true },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', group: 'apps', plural: 'statefulsets', namespaced: true },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', group: 'apps', plural: 'daemonsets', namespaced: true },
  { kind: 'Job', apiVersion: 'batch/v1', group: 'batch', plural: 'jobs', namespaced: true },
  { kind: 'CronJob', apiVersion: 'batch/v1', group: 'batch', plural: 'cronjobs', namespaced: true },
];

/** The collection's URL path, cluster-wide or in one namespace (`/apis/apps/v1/namespaces/shop/replicasets`). */
export function collectionPath(k: WatchedKind, namespace?: string): string {
  const base = k.group ? `/apis/${k.apiVersion}` : `/api/${k.apiVersion}`;
  return namespace && k.namespaced ? `${base}/namespaces/${namespace}/${k.plural}` : `${base}/${k.plural}`;
}

export function watchedKind(kind: string): WatchedKind | undefined {
  return WATCHED_KINDS.find((k) => k.kind === kind);
}
