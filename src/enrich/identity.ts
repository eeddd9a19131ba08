/**
 * What an address was at a moment: the Kubernetes object that held it. The cluster model answers
 * `resolve(ip, port, tsMicros)` with one of these (or null: not the cluster's), the enricher copies
 * it onto entries and connection records.
 */

export type IdentityKind = 'pod' | 'service' | 'node' | 'external';

export type Labels = Readonly<Record<string, string>>;

export interface Identity {
  /** Pod, Service or Node name. */
  readonly name: string;
  /** null for nodes (cluster-scoped). */
  readonly namespace: string | null;
  readonly kind: IdentityKind;
  /**
   * The top of the pod's owner chain (Pod -> ReplicaSet -> Deployment, StatefulSet, DaemonSet,
   * Job -> CronJob), else the pod's own name; for a Service, the one workload behind all its
   * endpoints if there is exactly one; null for nodes.
   */
  readonly workload: string | null;
  /** `Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, `Job`, `ReplicaSet`, `Pod`...; null with no workload. */
  readonly workloadKind: string | null;
  /** The node a pod runs on; a node's own name; null for services. */
  readonly node: string | null;
  /** The object's labels (hash labels such as pod-template-hash left out). */
  readonly labels: Labels;
}

/** Anything that can name an address at a time: the cluster model, or a test double. */
export interface Resolver {
  /**
   * The identity `ip:port` had at `tsMicros` (µs since the Unix epoch), or null when the address is
   * not the cluster's. Never does I/O; the object returned is shared and must not be changed.
   */
  resolve(ip: string, port: number, tsMicros: number): Identity | null;
}

export const NO_LABELS: Labels = Object.freeze({});
