/** Enrichment: Kubernetes identity (and, through the external namer, outside names) for addresses. */
export { ApiError, KubeConfigError, type KubeConfigOptions, listAll, loadKubeConfig } from './client.js';
export { displayEndpoint } from './display.js';
export { Enricher, type ExternalName, type ExternalNamer } from './enricher.js';
export {
  CAPTURE_EVERYTHING,
  type CaptureScope,
  EndpointFilter,
  FilterError,
  type FilterPatterns,
  inCaptureScope,
  parseCaptureScope,
} from './filter.js';
export type { Identity, IdentityKind, Labels, Resolver } from './identity.js';
export { ClusterWatcher, type InformerStatus, type WatcherOptions } from './informers.js';
export { collectionPath, KIND_NAMES, type KindName, WATCHED_KINDS, type WatchedKind } from './kinds.js';
export {
  type Backend,
  CLOCK_SKEW_MICROS,
  ClusterModel,
  type ModelOptions,
  type ModelStats,
} from './model.js';
export { type SlimObject, slim } from './objects.js';
export { loadSnapshots, SnapshotError, type SnapshotSummary } from './snapshot.js';
