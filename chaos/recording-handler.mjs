// The chaos suite's handler (HANDLER=chaos/recording-handler.mjs): appends a JSON line to
// CHAOS_RUN_LOG when a run starts and when it ends, takes CHAOS_HANDLER_MS per message (or until
// its signal aborts; poison keys CHAOS_POISON_HANDLER_MS when set), and fails on purpose for
// poison keys:
//   permanent-*  throws PermanentError (dead-lettered at once, reason PERMANENT_ERROR)
//   throw-*      always throws (retried until SQS's redrive moves it after MAX_RECEIVE_COUNT)
// Lines are appended with one write(2) each (O_APPEND), so several worker processes can share a log.
import { appendFileSync } from 'node:fs';
import { PermanentError } from 'sqs-idempotent-worker';

const LOG = process.env.CHAOS_RUN_LOG;
const MS = Number(process.env.CHAOS_HANDLER_MS ?? 100);
const POISON_MS = Number(process.env.CHAOS_POISON_HANDLER_MS ?? MS);
// A worker started under faketime logs true times: its offset taken off, so the harness compares
// the runs of every worker on one clock.
const OFFSET_MS = Number(process.env.CHAOS_CLOCK_OFFSET_MS ?? 0);
const now = () => Date.now() - OFFSET_MS;
let runs = 0;

function record(line) {
  if (LOG) appendFileSync(LOG, `${JSON.stringify(line)}\n`);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function handle(message, context) {
  runs += 1;
  const base = {
    run: `${process.pid}-${runs}`,
    key: message.key,
    pid: process.pid,
    fence: context.fencingToken,
    attempt: context.attempt,
  };
  record({ type: 'start', ...base, at: now(), receiveCount: message.receiveCount });
  let outcome = 'ok';
  try {
    const poison = message.key.startsWith('permanent-') || message.key.startsWith('throw-');
    await sleep(poison ? POISON_MS : MS, context.signal);
    if (message.key.startsWith('permanent-')) {
      outcome = 'permanent';
      throw new PermanentError('chaos: a permanent failure on purpose');
    }
    if (message.key.startsWith('throw-')) {
      outcome = 'error';
      throw new Error('chaos: this key always fails');
    }
    return { ok: true };
  } catch (error) {
    if (context.signal.aborted && outcome === 'ok') outcome = 'aborted';
    else if (outcome === 'ok') outcome = 'error';
    throw error;
  } finally {
    record({ type: 'end', ...base, at: now(), outcome });
  }
}
