/**
 * How k8spacket names an address (CONTRACTS.md, node `title`): `pod.<name>`, `svc.<name>`,
 * `node.<name>` for what the cluster knows, the reverse-lookup string for an outside peer, `N/A`
 * when nothing names it. Shared by the node graph and the TLS list (`srcName`, `dstName`).
 */
import type { Endpoint } from '../../flows/connection.js';

export const NOT_AVAILABLE = 'N/A';

const PREFIX: Record<string, string> = { pod: 'pod.', service: 'svc.', node: 'node.' };

/** The endpoint's name as k8spacket shows it. */
export function endpointTitle(ep: Pick<Endpoint, 'name' | 'kind'>): string {
  if (!ep.name) return NOT_AVAILABLE;
  const prefix = ep.kind ? PREFIX[ep.kind] : undefined;
  return prefix ? `${prefix}${ep.name}` : ep.name;
}

/** The endpoint's namespace, or the empty string (outside addresses and nodes have none). */
export function endpointNamespace(ep: Pick<Endpoint, 'namespace'>): string {
  return ep.namespace ?? '';
}
