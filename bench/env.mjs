// Processes for the bench: the emulators as processes of their own, the systems under test, and
// what /proc says about them. Every child is tracked and stopped by stopAll(), whatever happens.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = resolve(import.meta.dirname, '..');
const DYNAMODB_LOCAL = join(ROOT, 'scripts', 'dynamodb-local.sh');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();

export function track(child) {
  live.add(child);
  const exited = new Promise((done) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      done({ code, signal });
    });
    child.once('error', (error) => {
      live.delete(child);
      done({ code: null, signal: `spawn error: ${error.message}` });
    });
  });
  return { process: child, pid: child.pid ?? -1, exited, alive: () => live.has(child) };
}

export const baseEnv = (env) => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_REGION: 'us-east-1',
  ...env,
});

/** Spawns a process whose stdout and stderr go to a file. */
export function spawnLogged(command, args, env, logFile) {
  const fd = openSync(logFile, 'a');
  try {
    return track(spawn(command, args, { cwd: ROOT, env: baseEnv(env), stdio: ['ignore', fd, fd] }));
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM to one child, SIGKILL after graceMs; resolves once it is gone. */
export async function stop(child, graceMs = 10_000) {
  if (!child.alive()) return child.exited;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops every child still running (SIGTERM, then SIGKILL after graceMs). */
export async function stopAll(graceMs = 5000) {
  const children = [...live];
  for (const c of children) c.kill('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (live.size > 0 && Date.now() < deadline) await sleep(50);
  for (const c of live) c.kill('SIGKILL');
  const hard = Date.now() + 3000;
  while (live.size > 0 && Date.now() < hard) await sleep(50);
}

/** Polls `probe` until it returns something other than undefined; throws at the deadline. */
export async function until(what, timeoutMs, probe, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (${last})` : ''}`);
    await sleep(everyMs);
  }
}

export async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** user + sys CPU time of a live process, microseconds (/proc/<pid>/stat, clock ticks). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/**
 * user + sys CPU time of a process and every process under it, microseconds: the emulators may
 * sit behind a wrapper (a shell script that runs java), and the JVM's own time is what counts.
 * Each process's utime + stime plus cutime + cstime (its reaped children), so a descendant that
 * exits mid-run still counts, once. The tree is found by scanning /proc (the kernel here has no
 * /proc/<pid>/task/<tid>/children): about a hundred small reads, done at the start and end of a
 * run, never sampled. 0 when the root is gone.
 */
export function treeCpuMicros(rootPid) {
  /** @type {Map<number, number[]>} parent pid -> child pids */
  const children = new Map();
  /** @type {Map<number, number>} pid -> ticks */
  const ticks = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // stat(5): ppid is field 4, utime..cstime fields 14-17; here indexes 1 and 11-14.
    const pid = Number(name);
    const ppid = Number(f[1]);
    ticks.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let sum = 0;
  const todo = ticks.has(rootPid) ? [rootPid] : [];
  while (todo.length > 0) {
    const pid = todo.pop();
    sum += ticks.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return (sum * 1e6) / CLK_TCK;
}

/** Busy CPU time of the whole machine (every core, all processes), microseconds (/proc/stat). */
export function machineBusyMicros() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1e6) / CLK_TCK;
}

/** VmHWM (peak RSS) and VmRSS of a live process, MiB. */
export function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** fauxqs in a process of its own; its first stdout line names the port. */
export async function startFauxqs() {
  const child = track(
    spawn(process.execPath, [join(ROOT, 'scripts', 'fauxqs-server.mjs')], {
      cwd: ROOT,
      env: baseEnv({}),
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  let out = '';
  child.process.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  const port = await until('fauxqs to listen', 30_000, async () => {
    if (!child.alive()) throw new Error('fauxqs exited');
    return out.includes('\n') ? JSON.parse(out.split('\n')[0]).port : undefined;
  });
  return { name: 'fauxqs', port, child };
}

function hasJava() {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * AWS's DynamoDB Local as our own process on a free port: `scripts/dynamodb-local.sh run` (it
 * fetches the jar once, then execs java in the foreground; no pid file shared with other users of
 * the script). Without Java: dynalite as a process.
 */
export async function startDynamo(logFile, log) {
  const port = await freePort();
  if (hasJava()) {
    // The script fetches the jar once, then execs java: this child is the java process.
    const child = spawnLogged(DYNAMODB_LOCAL, ['run'], { DYNAMODB_LOCAL_PORT: String(port) }, logFile);
    await waitHttp(port, child, 'DynamoDB Local');
    return { name: 'DynamoDB Local 1.25.1 (java)', port, child };
  }
  log('java not found: DynamoDB is dynalite as a process (no ALL_OLD: duplicates cost a GetItem more)');
  const child = spawnLogged(
    process.execPath,
    [join(ROOT, 'node_modules', 'dynalite', 'cli.js'), '--port', String(port), '--host', '127.0.0.1'],
    {},
    logFile,
  );
  await waitHttp(port, child, 'dynalite');
  return { name: 'dynalite 4 (no java)', port, child };
}

async function waitHttp(port, child, name) {
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
