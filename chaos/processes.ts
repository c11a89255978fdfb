import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const MAIN = join(ROOT, 'dist', 'main.js');
const COMPILE_CACHE = join(tmpdir(), 'sqs-idempotent-worker-chaos-compile-cache');

/** Every process the harness started that has not exited yet: stopped by stopAll(), whatever happens. */
const live = new Set<ChildProcess>();

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly spawnedAt: number;
  /** Resolves when the process has exited, with when. */
  readonly exited: Promise<{ code: number | null; signal: string | null; at: number }>;
  alive(): boolean;
}

export function track(child: ChildProcess): Child {
  live.add(child);
  const spawnedAt = Date.now();
  const exited = new Promise<{ code: number | null; signal: string | null; at: number }>((done) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      done({ code, signal, at: Date.now() });
    });
    child.once('error', () => {
      live.delete(child);
      done({ code: null, signal: 'spawn-error', at: Date.now() });
    });
  });
  return {
    process: child,
    pid: child.pid ?? -1,
    spawnedAt,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
}

/** SIGCONT (a stopped process cannot die of SIGTERM) then SIGKILL to everything still running. */
export async function stopAll(graceMs = 3000): Promise<void> {
  const children = [...live];
  for (const c of children) {
    c.kill('SIGCONT');
    c.kill('SIGTERM');
  }
  const deadline = Date.now() + graceMs;
  while (live.size > 0 && Date.now() < deadline) await pause(50);
  for (const c of live) c.kill('SIGKILL');
  while (live.size > 0 && Date.now() < deadline + 2000) await pause(50);
}

export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `probe` returns something other than undefined, or throws at the deadline. */
export async function until<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await pause(everyMs);
  }
}

/** A port free right now on loopback (for servers that cannot be told "0"). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Runs node with the project's Node (this process's) and waits for it; stdout is returned. */
export async function runNode(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<string> {
  const child = track(
    spawn(process.execPath, args, {
      cwd: ROOT,
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  let err = '';
  child.process.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.process.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code ?? signal}: ${err.trim()}`);
  return out;
}

export function baseEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_COMPILE_CACHE: COMPILE_CACHE,
    AWS_ACCESS_KEY_ID: 'chaos',
    AWS_SECRET_ACCESS_KEY: 'chaos',
    AWS_REGION: 'us-east-1',
    ...env,
  };
}

/** Spawns a long-running process whose output goes to a log file. */
export function spawnLogged(
  command: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Child {
  const fd = openSync(logFile, 'a');
  try {
    return track(spawn(command, args, { cwd: ROOT, env: baseEnv(env), stdio: ['ignore', fd, fd] }));
  } finally {
    closeSync(fd);
  }
}

export interface Emulator {
  readonly name: string;
  readonly port: number;
  readonly child: Child;
}

/** fauxqs in a process of its own, on a port it picks; its first stdout line names the port. */
export async function startFauxqs(): Promise<Emulator> {
  const child = track(
    spawn(process.execPath, [join(ROOT, 'scripts', 'fauxqs-server.mjs')], {
      cwd: ROOT,
      env: baseEnv({}),
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let out = '';
  child.process.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  const port = await until('fauxqs to listen', 30_000, async () => {
    if (!child.alive()) throw new Error('fauxqs exited');
    const line = out.split('\n')[0];
    return out.includes('\n') && line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
  return { name: 'fauxqs', port, child };
}

const DYNAMODB_LOCAL = join(ROOT, 'scripts', 'dynamodb-local.sh');

async function hasJava(): Promise<boolean> {
  const child = track(spawn('java', ['-version'], { stdio: 'ignore' }));
  const { code } = await child.exited;
  return code === 0;
}

/**
 * AWS's DynamoDB Local as our own java process (`scripts/dynamodb-local.sh run`: it fetches the jar
 * once, then execs java), so the harness can SIGSTOP it. Without Java: dynalite as a process, said
 * so in the output.
 */
export async function startDynamo(logFile: string, log: (line: string) => void): Promise<Emulator> {
  const port = await freePort();
  if (await hasJava()) {
    // The script fetches the jar once, then execs java: this child is the java process.
    const child = spawnLogged(DYNAMODB_LOCAL, ['run'], { DYNAMODB_LOCAL_PORT: String(port) }, logFile);
    await waitHttp(port, child, 'DynamoDB Local');
    return { name: 'DynamoDB Local (java)', port, child };
  }
  log('java not found: falling back to dynalite as a process (no TTL, no ALL_OLD)');
  const child = spawnLogged(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'dynalite', 'cli.js'),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--createTableMs',
      '0',
    ],
    {},
    logFile,
  );
  await waitHttp(port, child, 'dynalite');
  return { name: 'dynalite (no java)', port, child };
}

async function waitHttp(port: number, child: Child, name: string): Promise<void> {
  await until(
    `${name} to answer on ${port}`,
    60_000,
    async () => {
      if (!child.alive()) throw new Error(`${name} exited`);
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return true;
    },
    200,
  );
}
