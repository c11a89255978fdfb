import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, runProcess, type RunningProcess } from './process.js';

/**
 * The path of promtool or prometheus. Throws (so the suite fails, never skips) when the tool is
 * missing, saying how to get it.
 */
export function requireTool(name: 'promtool' | 'prometheus'): string {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') {
    throw new Error(
      `${name} is not installed: npm run test:ops needs the Debian package prometheus ` +
        `(sudo apt-get install -y prometheus), which brings promtool and the Prometheus server. ` +
        `See README.md, Observability.`,
    );
  }
  return path;
}

export interface ToolResult {
  readonly status: number | null;
  /** stdout and stderr together, as promtool prints its findings on either. */
  readonly output: string;
}

export function promtool(args: readonly string[], input?: string): ToolResult {
  const result = spawnSync(requireTool('promtool'), [...args], {
    encoding: 'utf8',
    input,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A loopback port that was free a moment ago (Prometheus cannot be told to pick one itself). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Runs an instant query; resolves with its vector result. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus server on a free loopback port, with its data in a temporary directory,
 * scraping `target` (host:port) every second as job "sqs-worker" and evaluating `ruleFiles`.
 */
export async function startPrometheus(
  target: string,
  ruleFiles: readonly string[] = [],
): Promise<RunningPrometheus> {
  const binary = requireTool('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'sqs-worker-prometheus-'));
  const rules = ruleFiles.map((file, i) => {
    const copy = join(dir, `rules-${i}.yml`);
    copyFileSync(file, copy);
    return copy;
  });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
      `rule_files: ${JSON.stringify(rules)}`,
      'scrape_configs:',
      `  - { job_name: sqs-worker, static_configs: [{ targets: ['${target}'] }] }`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Through the test helpers, which end it after the test even when the test never got to stop().
  const prometheus = runProcess(
    binary,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {},
  );
  const { child } = prometheus;
  const stop = () => stopProcess(prometheus).finally(() => rmSync(dir, { recursive: true, force: true }));
  try {
    await eventually(async () => {
      if (child.exitCode !== null)
        throw new Error(`prometheus exited ${child.exitCode}: ${prometheus.stderr()}`);
      return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
    }, 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop, query: (promql) => query(url, promql) };
}

async function query(url: string, promql: string) {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}

async function stopProcess(prometheus: RunningProcess): Promise<void> {
  const { child } = prometheus;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await prometheus.exit();
}
