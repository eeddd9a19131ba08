/**
 * A real Prometheus (Debian's /usr/bin/prometheus, package prometheus) for tests that check what
 * it scrapes from podwire: started on a free loopback port with a config and storage in a temp
 * dir, scraping every second; asked PromQL through its HTTP API; stopped and removed afterwards.
 *
 *   const prom = await startPrometheus(['  - job_name: podwire', ...]);
 *   await prom.until('the target to be up', async () => (await prom.targets())[0]?.health === 'up');
 *   const samples = await prom.query('sum(k8s_packet_bytes_sent_sum)');
 *   await prom.stop();
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

const PROMETHEUS = '/usr/bin/prometheus';

/** A reason to skip when the binary is not installed, for `describe`'s `skip`; false when it is. */
export function prometheusMissing(): string | false {
  return existsSync(PROMETHEUS) ? false : `${PROMETHEUS} is missing (Debian package prometheus)`;
}

/** One series of an instant query's answer (Prometheus HTTP API, `resultType: vector`). */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** One of /api/v1/targets' `activeTargets` (the fields the tests read). */
export interface PromTarget {
  labels: { job: string };
  health: string;
  lastError: string;
}

export interface Prometheus {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  /** Runs an instant PromQL query; asserts that Prometheus answered `success`. */
  query(promql: string): Promise<PromSample[]>;
  /** The scrape targets with their health and last scrape error. */
  targets(): Promise<PromTarget[]>;
  /**
   * Polls `ok` (a throw counts as not yet) until it holds; after `ms` (20 s unless given), fails
   * with the targets' scrape errors and the tail of Prometheus' stderr (it runs at warn level).
   */
  until(what: string, ok: () => Promise<boolean>, ms?: number): Promise<void>;
  /** SIGTERM (it flushes its head block), SIGKILL past 5 s; then removes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus with a 1 s scrape interval and timeout and the given `scrape_configs:` entries
 * (YAML lines, indented as list items under that key). Returns once the process is spawned: wait
 * with `until` for what the test needs scraped.
 */
export async function startPrometheus(scrapeConfigs: string[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'podwire-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      ...scrapeConfigs,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });

  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: PromSample[] } };
    assert.equal(body.status, 'success', `${promql}: ${body.error}`);
    return body.data.result;
  };

  const targets = async (): Promise<PromTarget[]> => {
    const res = await fetch(`${url}/api/v1/targets`);
    return ((await res.json()) as { data: { activeTargets: PromTarget[] } }).data.activeTargets;
  };

  const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await ok().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    const scrapes = await targets().then(
      (ts) => ts.filter((t) => t.lastError).map((t) => `\nscrape error (${t.labels.job}): ${t.lastError}`),
      () => [],
    );
    throw new Error(
      `timed out waiting for ${what}; prometheus said:\n${log.slice(-2000)}${scrapes.join('')}`,
    );
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise<void>((r) => {
        child.once('exit', () => r());
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          r();
        }, 5_000);
      });
      child.kill('SIGTERM');
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  return { url, query, targets, until, stop };
}
