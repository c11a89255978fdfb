import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import type { Counter, Gauge } from 'prom-client';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

const MIDDLEWARE_NAME = 'sqsWorkerRequestMetrics';

/**
 * Counts every SQS call the client makes into `sqs_worker_sqs_requests_total{operation,outcome}`.
 * Added at the initialize step, so one call counts once however often the SDK retried it.
 * Outcomes: success, error, and aborted (a long poll cut short at shutdown is not a failure).
 */
export function instrumentSqsClient(sqs: SQSClient, requests: Counter<'operation' | 'outcome'>): void {
  // Label children by command, made on a command's first call: no label work per call.
  const byCommand = new Map<string | undefined, Record<'success' | 'error' | 'aborted', () => void>>();
  const series = (commandName: string | undefined) => {
    let found = byCommand.get(commandName);
    if (!found) {
      const operation = (commandName ?? 'Unknown').replace(/Command$/, '');
      const child = (outcome: string) => requests.labels({ operation, outcome });
      const [success, error, aborted] = [child('success'), child('error'), child('aborted')];
      found = { success: () => success.inc(), error: () => error.inc(), aborted: () => aborted.inc() };
      byCommand.set(commandName, found);
    }
    return found;
  };
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const count = series(context.commandName);
      try {
        const output = await next(args);
        count.success();
        return output;
      } catch (error) {
        const aborted = error instanceof Error && error.name === 'AbortError';
        if (aborted) count.aborted();
        else count.error();
        throw error;
      }
    },
    { step: 'initialize', name: MIDDLEWARE_NAME, override: true },
  );
}

/** The GetQueueAttributes attributes read, and the `state` label each becomes. */
const STATES: readonly (readonly [QueueAttributeName, string])[] = [
  ['ApproximateNumberOfMessages', 'visible'],
  ['ApproximateNumberOfMessagesNotVisible', 'in_flight'],
  ['ApproximateNumberOfMessagesDelayed', 'delayed'],
];

export interface QueueDepthOptions {
  readonly sqs: SQSClient;
  /** By `queue` label: `main` and, when there is one, `dlq`. */
  readonly queues: Readonly<Record<string, string | undefined>>;
  /** 0: off. */
  readonly intervalMs: number;
  readonly gauge: Gauge<'queue' | 'state'>;
  readonly logger: Logger;
  /** Wall clock, epoch ms, for the times `reads()` reports (default the clock's now()). */
  readonly now?: (() => number) | undefined;
  /** Whose timer spaces the reads, and whose now() is the default (default the system's). */
  readonly clock?: Clock | undefined;
}

/** How the depth reads went: the status page shows the depths' age and marks them stale. */
export interface DepthReads {
  /** Epoch ms of the last read of every queue that succeeded; undefined: none yet. */
  readonly lastOkAt: number | undefined;
  /** Epoch ms of the last failed read, and its error, when it came after the last success. */
  readonly failingSince: number | undefined;
  readonly lastError: string | undefined;
}

/** What the status page reads from the poller (or a fake in tests). */
export interface DepthReadSource {
  reads(): DepthReads;
}

export interface QueueDepthPoller extends DepthReadSource {
  /** Reads every queue once now (also what each tick does). */
  readNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Longest error text kept for the status page. */
const MAX_DEPTH_ERROR_CHARS = 200;

/**
 * Reads queue depths with one GetQueueAttributes per queue every `intervalMs`, never two reads at
 * once. A failed read keeps the last values (SQS's numbers are approximate anyway); the failure is
 * counted by sqs_requests_total and logged once until a read succeeds again.
 */
export function startQueueDepthPoller(options: QueueDepthOptions): QueueDepthPoller {
  const clock = options.clock ?? systemClock;
  let timer: Timer | undefined;
  let current: Promise<void> = Promise.resolve();
  let failing = false;
  let stopped = false;
  const now = options.now ?? (() => clock.now());
  let reads: DepthReads = { lastOkAt: undefined, failingSince: undefined, lastError: undefined };
  const readNow = (): Promise<void> => {
    current = current.then(async () => {
      try {
        await readAll(options);
        if (failing) options.logger.info({}, 'queue depth readable again');
        failing = false;
        reads = { lastOkAt: now(), failingSince: undefined, lastError: undefined };
      } catch (error) {
        if (!failing) options.logger.warn({ error: describeError(error) }, 'reading queue depth failed');
        failing = true;
        reads = {
          lastOkAt: reads.lastOkAt,
          failingSince: reads.failingSince ?? now(),
          lastError: describeError(error).slice(0, MAX_DEPTH_ERROR_CHARS),
        };
      }
    });
    return current;
  };
  const tick = () => {
    void readNow().finally(() => {
      if (stopped) return;
      timer = clock.setTimeout(tick, options.intervalMs);
      timer.unref();
    });
  };
  if (options.intervalMs > 0) tick();
  return {
    readNow,
    reads: () => reads,
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await current;
    },
  };
}

async function readAll({ sqs, queues, gauge }: QueueDepthOptions): Promise<void> {
  for (const [queue, url] of Object.entries(queues)) {
    if (url === undefined) continue;
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: STATES.map(([name]) => name) }),
    );
    for (const [name, state] of STATES) {
      const value = Number(out.Attributes?.[name]);
      if (Number.isFinite(value)) gauge.set({ queue, state }, value);
    }
  }
}
