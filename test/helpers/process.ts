import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TEST_ENV } from './test-limits.js';
import { CHILD_MARKER, register, runId } from './children.js';

export const MAIN = resolve('dist/main.js');

/**
 * How long a helper waits for a line or a condition before failing with what it waited for:
 * a guard against a hang, below jest's 30 s testTimeout, never a measure of speed. Tests wait
 * for events and states; on a loaded machine they take longer and still pass.
 */
export const GUARD_MS = 25_000;

/**
 * V8's compile cache for the spawned CLI (Node >= 22.1): loading dist/ and the AWS SDK is most
 * of a process's start-up, about three times slower without it when the CPU is contended.
 * Entries are keyed by file content, so a rebuilt dist/ is never served stale code.
 */
const COMPILE_CACHE = join(tmpdir(), 'sqs-idempotent-worker-test-compile-cache');

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Every stdout line parsed as JSON (non-JSON lines are kept as { raw }). */
  readonly lines: Record<string, unknown>[];
  stderr(): string;
  /** Everything written on stdout so far, as written. */
  stdout(): string;
  /** Resolves with the first log line the predicate accepts, or rejects at the deadline. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves once the process exited and what it wrote on stdout and stderr has been read. */
  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  /** Node options before the script (`--import ...`). */
  readonly nodeArgs?: readonly string[];
  /**
   * Every child has its own process group (pid = group id): a test can signal the group as a
   * terminal does, and the helpers end the whole group after the test (children.ts). Kept so
   * that a test can say it relies on the group.
   */
  readonly detached?: true;
  /** A pipe on stdin (`child.stdin`) instead of none. */
  readonly stdin?: boolean;
  readonly cwd?: string;
}

/**
 * Embedded mode (fauxqs and dynalite in the worker's process) and the sidecar on free loopback
 * ports, so tests never collide with each other or a running daemon.
 */
export const EMBEDDED_ON_FREE_PORTS: Readonly<Record<string, string>> = {
  HTTP_HOST: '127.0.0.1',
  HTTP_PORT: '0',
  EMBEDDED_SQS_PORT: '0',
  EMBEDDED_DYNAMODB_PORT: '0',
};

/** Runs the built CLI (`node dist/main.js ...`) with the given environment added. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): RunningProcess {
  return runProcess(process.execPath, [...(options.nodeArgs ?? []), MAIN, ...args], env, options);
}

/**
 * Runs any command (`npm start`) the way runCli runs the CLI, with the given environment added.
 * The child and everything it starts are ended after the test (or, when a beforeAll hook started
 * it, after the file), whatever the test did: see children.ts.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): RunningProcess {
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_COMPILE_CACHE: COMPILE_CACHE,
      [CHILD_MARKER]: runId(),
      // For the CLI and `npm start` against emulators; a test's own values come after.
      ...TEST_ENV,
      ...env,
    },
    stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true,
    cwd: options.cwd,
  });
  register(child);
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stdoutRest = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    stdoutRest += chunk;
    const parts = stdoutRest.split('\n');
    stdoutRest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ raw: part });
      }
    }
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = exitAndOutput(child);
  return {
    child,
    lines,
    stderr: () => stderr,
    stdout: () => stdout,
    exit: () => exited,
    waitForLine(predicate, timeoutMs = GUARD_MS) {
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          const found = lines.find(predicate);
          if (found) {
            done();
            resolvePromise(found);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        let waiting = true;
        const done = () => {
          waiting = false;
          clearTimeout(timer);
          waiters.delete(check);
        };
        // Its last lines may still be in the pipe when the process exits: read them first.
        void exited.then(() => {
          if (!waiting) return;
          check();
          if (!waiting) return;
          done();
          reject(new Error(`process exited before the log line; stderr: ${stderr}`));
        });
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * The exit of a child once its output is read: 'close' comes after 'exit' when stdout and stderr
 * have ended. Under load 'exit' can arrive before the last chunks, so waiting only for it loses
 * the end of the output. A process that exited but left a descendant holding its pipes (never
 * 'close') resolves after a guard.
 */
function exitAndOutput(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const status = () => ({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolvePromise) => {
    child.once('close', () => resolvePromise(status()));
    child.once('exit', () => {
      setTimeout(() => resolvePromise(status()), OUTPUT_GUARD_MS).unref();
    });
  });
}

/** How long exit() waits, after the exit, for output a descendant keeps open. */
const OUTPUT_GUARD_MS = 5_000;

/** Polls `probe` until it returns a value other than undefined, or throws at the deadline. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = GUARD_MS,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True while a process with this pid exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pids of a process's children, from /proc (Linux). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** True when nothing accepts connections at this http://host:port address any more. */
export async function refusesConnections(address: string): Promise<boolean> {
  const { hostname, port } = new URL(address);
  return new Promise((resolvePromise) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.once('error', () => resolvePromise(true));
  });
}
