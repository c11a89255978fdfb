import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { CHILD_MARKER, RUN_VARIABLE } from './jest-global-teardown.js';

export { CHILD_MARKER, RUN_VARIABLE };

/**
 * Every process a test starts is ended by the test run, even when the test failed or timed out.
 *
 * - runProcess/runCli (process.ts) start each child in a process group of its own (`detached`) and
 *   register it here. The setup file (test/helpers/jest-setup.ts) ends the children a test started
 *   in its `afterEach`, and those started by `beforeAll` hooks in its `afterAll`: SIGKILL to the
 *   whole group (npm, the shell it runs, the node under it), and to every descendant found under
 *   /proc that left the group meanwhile (`setsid`, `script`). jest runs `afterEach` after a
 *   timeout too, so a timed-out test leaves nothing behind.
 * - Each child carries CHILD_MARKER=<id of this jest run> in its environment, which its own
 *   children inherit. At the end of the run, test/helpers/jest-global-teardown.ts lists the
 *   processes that still carry it, ends them and fails the run.
 */

/** The marker's value for children of this run (a test run without the global setup: `unset`). */
export function runId(): string {
  return process.env[RUN_VARIABLE] ?? 'unset';
}

/** How long ending one child may take before the helper gives up on waiting (SIGKILL is quick). */
const END_GUARD_MS = 10_000;

interface Registered {
  readonly child: ChildProcess;
  /** Started while a test ran (ended after it), or by a beforeAll hook (ended after the file). */
  readonly scope: 'test' | 'file';
}

const registered = new Set<Registered>();
let inTest = false;

/** Called by the setup file's beforeEach: what starts from now on belongs to the test. */
export function testStarted(): void {
  inTest = true;
}

export function register(child: ChildProcess): void {
  registered.add({ child, scope: inTest ? 'test' : 'file' });
}

/** Ends the children of the test that just ran (`test`) or all that are left (`file`). */
export async function endChildren(scope: 'test' | 'file'): Promise<void> {
  if (scope === 'test') inTest = false;
  const ending = [...registered].filter((r) => scope === 'file' || r.scope === 'test');
  for (const r of ending) registered.delete(r);
  await Promise.all(ending.map((r) => endProcess(r.child)));
}

/** SIGKILL to a child's process group and to all its descendants; resolves once the child exited. */
export async function endProcess(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null;
  const exit = exited ? Promise.resolve() : once(child, 'exit').then(() => undefined);
  // Descendants first, while their parents still link them to the child: after the group's
  // SIGKILL, those that left the group would be reparented and out of reach.
  const tree = exited ? [] : descendants(pid);
  signal(-pid);
  for (const descendant of tree) signal(descendant);
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([exit, new Promise((resolve) => (guard = setTimeout(resolve, END_GUARD_MS)))]);
  clearTimeout(guard);
}

function signal(target: number): void {
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    // ESRCH: already gone (or the group is empty)
  }
}

/** The parent pid of each process, from /proc/<pid>/stat (Linux). */
function parents(): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parentOf;
}

/** Every process below `pid` (children, their children, ...). */
export function descendants(pid: number): number[] {
  const parentOf = parents();
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}
