// The benchmark's handler, the same work for every system:
// - appends the key (one write(2), O_APPEND) to BENCH_HANDLER_LOG, which the harness reads to
//   count runs per key;
// - waits BENCH_HANDLER_MS (0: returns at once; the noop workload).
// `handle` is the module shape `HANDLER=bench/handler.mjs` wants (ours); `runHandler` is what the
// sqs-consumer based systems call.
import { openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const LOG = process.env.BENCH_HANDLER_LOG;
const MS = Number(process.env.BENCH_HANDLER_MS ?? 0);
const fd = LOG ? openSync(LOG, 'a') : undefined;

export async function runHandler(key) {
  if (fd !== undefined) writeSync(fd, `${key}\n`);
  if (MS > 0) await sleep(MS);
  return { ok: true };
}

export function handle(message) {
  return runHandler(message.key);
}
