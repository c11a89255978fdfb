import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * jest's globalTeardown: fails the run when a process a test started is still running (one the
 * helpers could not reach: started around them, or moved out of its group and away from its
 * parent), after ending it. The check waits a little for processes that are already dying (a
 * SIGKILL takes effect when the kernel gets to it); that wait is a guard, not a measurement.
 *
 * Node's own loader runs this file (no module mapping): it imports nothing relative.
 */

/** Set by the global setup in the jest process (jest-global-setup.ts); workers inherit it. */
export const RUN_VARIABLE = 'SQS_WORKER_TEST_RUN';
/** Set to the run's id on every child the helpers start, and inherited by its descendants. */
export const CHILD_MARKER = 'SQS_WORKER_TEST_CHILD';

const SETTLE_MS = 5_000;

export interface Survivor {
  readonly pid: number;
  readonly command: string;
}

/** The live processes whose environment holds CHILD_MARKER=<id> (other users' are unreadable). */
export function markedProcesses(id: string): Survivor[] {
  const needle = `${CHILD_MARKER}=${id}`;
  const found: Survivor[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      // A zombie's environ reads empty: only processes still running are found.
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environ.includes(needle)) continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

// eslint-disable-next-line no-restricted-syntax -- jest takes the module's default export
export default async function globalTeardown(): Promise<void> {
  const id = process.env[RUN_VARIABLE];
  if (id === undefined) return;
  let survivors = markedProcesses(id);
  for (let waited = 0; survivors.length > 0 && waited < SETTLE_MS; waited += 100) {
    await delay(100);
    survivors = markedProcesses(id);
  }
  if (survivors.length === 0) return;
  for (const { pid } of survivors) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const list = survivors.map((s) => `  pid ${s.pid}: ${s.command}`).join('\n');
  throw new Error(
    `${survivors.length} process(es) started by the tests outlived them (now killed):\n${list}\n` +
      'Start processes with runProcess/runCli (test/helpers/process.ts), which end them after each test.',
  );
}
