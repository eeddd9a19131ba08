/**
 * How a named endpoint reads in a table: `shop/checkout-7d9f-x2k4p (pod)`, `shop/checkout (service)`,
 * `node-1 (node)`, `example.com (external)`; the address when nothing names it.
 */
import type { EntryEndpoint } from '../dissect/entry.js';

function address(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The endpoint as a table shows it. `withPort` adds the port after the name (the server side,
 * where it says which service port was used; a client's ephemeral port is noise).
 */
export function displayEndpoint(ep: EntryEndpoint, withPort: boolean): string {
  if (!ep.name) return address(ep.ip, ep.port);
  const name = ep.namespace ? `${ep.namespace}/${ep.name}` : ep.name;
  return `${name}${withPort ? `:${ep.port}` : ''} (${ep.kind ?? 'unknown'})`;
}
