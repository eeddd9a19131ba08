/** Shared by the enrichment tests: the fixture cluster and time helpers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Obj } from '../support/apiserver.js';
import { ROOT } from '../support/paths.js';

export const FIXTURES = join(ROOT, 'test', 'enrich', 'fixtures');
export const CLUSTER = join(FIXTURES, 'cluster.json');
export const NETNS_CLUSTER = join(FIXTURES, 'netns-cluster.json');

/** The items of a fixture List (fresh copies). */
export function fixtureItems(path = CLUSTER): Obj[] {
  return (JSON.parse(readFileSync(path, 'utf8')) as { items: Obj[] }).items;
}

export function fixtureObject(kind: string, name: string, path = CLUSTER): Obj {
  const o = fixtureItems(path).find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${path}`);
  return o;
}

/** An RFC 3339 time in µs since the epoch. */
export function us(rfc3339: string): number {
  return Date.parse(rfc3339) * 1000;
}

/** Polls `probe` until it returns true (every 10 ms, for at most `ms`); throws with `what` otherwise. */
export async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
