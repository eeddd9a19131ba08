/**
 * Which records to keep, by the names enrichment gave their endpoints: k8spacket's include/exclude
 * semantics, shared by analyze now and by the agent, hub and metrics later.
 *
 * Patterns are regular expressions, unanchored (`shop` matches `shop-staging`; write `^shop$` for
 * one namespace), tested against both endpoints, like k8spacket's node-graph query:
 * - a namespace include passes a record when either endpoint's namespace matches;
 * - a workload include passes it when either endpoint's IP, name or workload matches;
 * - an exclude drops it when either endpoint matches (k8spacket: `!(src matches || dst matches)`),
 *   so excluding `kube-system` also hides an application's calls to CoreDNS.
 * An endpoint without a namespace (a node, an outside address, no cluster model) is tested as the
 * empty string. A bad pattern is a FilterError naming the option, never an exception later.
 */
import type { EntryEndpoint } from '../dissect/entry.js';

export class FilterError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

export interface FilterPatterns {
  namespaceInclude?: string;
  namespaceExclude?: string;
  workloadInclude?: string;
  workloadExclude?: string;
}

const OPTION_NAMES: Record<keyof FilterPatterns, string> = {
  namespaceInclude: 'namespace-include',
  namespaceExclude: 'namespace-exclude',
  workloadInclude: 'workload-include',
  workloadExclude: 'workload-exclude',
};

/** Compiles a pattern given to `option`; an empty pattern means no filter (as k8spacket's empty query parameter). */
export function compilePattern(option: string, pattern: string | undefined): RegExp | null {
  if (pattern === undefined || pattern === '') return null;
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new FilterError(
      option,
      `--${option}: '${pattern}' is not a valid regular expression (${(err as Error).message})`,
    );
  }
}

type Side = Pick<EntryEndpoint, 'ip' | 'name' | 'namespace' | 'workload'>;

function nsMatch(re: RegExp, s: Side): boolean {
  return re.test(s.namespace ?? '');
}

function workloadMatch(re: RegExp, s: Side): boolean {
  return (
    re.test(s.ip) ||
    (s.name !== undefined && re.test(s.name)) ||
    (s.workload !== undefined && re.test(s.workload))
  );
}

export class EndpointFilter {
  private readonly nsIn: RegExp | null;
  private readonly nsEx: RegExp | null;
  private readonly wlIn: RegExp | null;
  private readonly wlEx: RegExp | null;

  constructor(patterns: FilterPatterns) {
    this.nsIn = compilePattern(OPTION_NAMES.namespaceInclude, patterns.namespaceInclude);
    this.nsEx = compilePattern(OPTION_NAMES.namespaceExclude, patterns.namespaceExclude);
    this.wlIn = compilePattern(OPTION_NAMES.workloadInclude, patterns.workloadInclude);
    this.wlEx = compilePattern(OPTION_NAMES.workloadExclude, patterns.workloadExclude);
  }

  /** True when no pattern is set: every record passes. */
  get empty(): boolean {
    return !this.nsIn && !this.nsEx && !this.wlIn && !this.wlEx;
  }

  /** Whether a record between these endpoints is kept. */
  admits(src: Side, dst: Side): boolean {
    if (this.nsIn && !nsMatch(this.nsIn, src) && !nsMatch(this.nsIn, dst)) return false;
    if (this.nsEx && (nsMatch(this.nsEx, src) || nsMatch(this.nsEx, dst))) return false;
    if (this.wlIn && !workloadMatch(this.wlIn, src) && !workloadMatch(this.wlIn, dst)) return false;
    if (this.wlEx && (workloadMatch(this.wlEx, src) || workloadMatch(this.wlEx, dst))) return false;
    return true;
  }
}

/**
 * "Capture only these namespaces", for the agent: the pods whose interfaces it opens. Unlike the
 * filters above it decides before capture, per pod, so it takes exact namespace names (and
 * excludes), and a node's own traffic (hostNetwork pods) is captured only when `hostNetwork` says.
 */
export interface CaptureScope {
  /** Namespaces captured; empty: all. */
  namespaces: readonly string[];
  /** Namespaces never captured (applied after `namespaces`). */
  excludeNamespaces: readonly string[];
  /** Capture hostNetwork pods (the node's own interfaces). Default false. */
  hostNetwork: boolean;
}

export const CAPTURE_EVERYTHING: CaptureScope = Object.freeze({
  namespaces: [],
  excludeNamespaces: [],
  hostNetwork: false,
});

/** Whether a pod of `namespace` is captured under `scope`. */
export function inCaptureScope(scope: CaptureScope, namespace: string, hostNetwork = false): boolean {
  if (hostNetwork && !scope.hostNetwork) return false;
  if (scope.namespaces.length && !scope.namespaces.includes(namespace)) return false;
  return !scope.excludeNamespaces.includes(namespace);
}

/**
 * Reads a capture scope from a comma-separated list (`shop,payments,-kube-system`: a leading `-`
 * excludes), as an agent flag or environment variable gives it. Names are checked against
 * Kubernetes' namespace syntax (RFC 1123 labels), so a typo is an error, not an empty capture.
 */
export function parseCaptureScope(text: string, hostNetwork = false): CaptureScope {
  const namespaces: string[] = [];
  const excludeNamespaces: string[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    if (!part) continue;
    const exclude = part.startsWith('-');
    const name = exclude ? part.slice(1) : part;
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
      throw new FilterError(
        'namespaces',
        `'${name}' is not a namespace name (lower-case letters, digits and '-')`,
      );
    (exclude ? excludeNamespaces : namespaces).push(name);
  }
  return { namespaces, excludeNamespaces, hostNetwork };
}
