/**
 * Talking to the API server with @kubernetes/client-node: loading credentials (a kubeconfig, or
 * the pod's service account in a cluster) and listing collections page by page.
 *
 * Lists go through the client's own transport setup (`KubeConfig.applyToHTTPSOptions`: CA, client
 * certificates, tokens, exec and OIDC plugins, proxies) but read the response as plain JSON rather
 * than through the generated typed APIs: those turn every object of a page into class instances
 * with Date fields before podwire keeps a dozen fields of it, and cannot give back the server's
 * JSON that `podwire snapshot` writes. Watches use the client's Watch and ListWatch unchanged.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** A kubeconfig file; default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfig?: string;
  /** A context of the kubeconfig other than its current one. */
  context?: string;
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

/** Loads credentials as kubectl finds them, or from the service account when running in a pod. */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new KubeConfigError(
      `cannot load ${options.kubeconfig ? `kubeconfig ${options.kubeconfig}` : 'the default kubeconfig'}: ${(err as Error).message}`,
    );
  }
  if (options.context) {
    if (!kc.getContexts().some((c) => c.name === options.context))
      throw new KubeConfigError(
        `no context '${options.context}' in the kubeconfig (it has: ${kc
          .getContexts()
          .map((c) => c.name)
          .join(', ')})`,
      );
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('the kubeconfig names no current cluster');
  // loadFromDefault falls back to http://localhost:8080 when it finds nothing at all.
  if (!options.kubeconfig && !process.env.KUBECONFIG && cluster.server === 'http://localhost:8080')
    throw new KubeConfigError(
      'no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a pod: name one with --kubeconfig',
    );
  return kc;
}

/** An API error with the HTTP status, as the client's Watch reports one (`statusCode`). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** The Status object's reason (`Expired`, `Forbidden`, ...), when the server sent one. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 410 Gone: a resourceVersion or continue token too old to serve. */
  get gone(): boolean {
    return this.statusCode === 410;
  }
}

export interface ListPage {
  /** Objects as the server sent them (list items carry no kind or apiVersion). */
  items: unknown[];
  resourceVersion: string;
  continue: string | null;
}

/** GETs one page of a collection: `limit` objects at most, from the `continue` token if given. */
export async function getPage(
  kc: KubeConfig,
  path: string,
  limit: number,
  continueToken: string | null,
  timeoutMs = 60_000,
): Promise<ListPage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('the kubeconfig names no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  url.searchParams.set('limit', String(limit));
  if (continueToken) url.searchParams.set('continue', continueToken);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers = { ...(opts.headers as Record<string, string> | undefined), accept: 'application/json' };
  const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (url.protocol === 'http:' ? http : https).request(
      url,
      { ...opts, method: 'GET', headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.origin} in ${timeoutMs / 1000}s`)));
    req.on('error', reject);
    req.end();
  });
  let doc: {
    items?: unknown;
    metadata?: { resourceVersion?: unknown; continue?: unknown };
    message?: unknown;
    reason?: unknown;
  };
  try {
    doc = JSON.parse(body.text);
  } catch {
    throw new ApiError(body.status, `GET ${path}: HTTP ${body.status}, not JSON: ${body.text.slice(0, 200)}`);
  }
  if (body.status !== 200) {
    const reason = typeof doc.reason === 'string' ? doc.reason : undefined;
    const message = typeof doc.message === 'string' ? doc.message : `HTTP ${body.status}`;
    throw new ApiError(body.status, `GET ${path}: ${message}`, reason);
  }
  const rv = doc.metadata?.resourceVersion;
  const cont = doc.metadata?.continue;
  return {
    items: Array.isArray(doc.items) ? doc.items : [],
    resourceVersion: typeof rv === 'string' ? rv : '',
    continue: typeof cont === 'string' && cont !== '' ? cont : null,
  };
}

/**
 * Lists a whole collection in pages of `pageSize`, handing each page's items to `onItems`, and
 * returns the list's resourceVersion (where a watch starts). A continue token that expired (410)
 * restarts the list once from the beginning, as client-go's pager does; `onRestart` is told so the
 * caller can drop what the first attempt gave it.
 */
export async function listAll(
  kc: KubeConfig,
  path: string,
  pageSize: number,
  onItems: (items: unknown[]) => void,
  onRestart: () => void = () => {},
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    let token: string | null = null;
    let rv = '';
    try {
      do {
        const page: ListPage = await getPage(kc, path, pageSize, token);
        rv ||= page.resourceVersion;
        onItems(page.items);
        token = page.continue;
      } while (token);
      return rv;
    } catch (err) {
      if (!(err instanceof ApiError && err.gone && token !== null && attempt === 0)) throw err;
      onRestart();
    }
  }
}
