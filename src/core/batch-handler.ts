import { systemClock, type Clock, type Timer } from './clock.js';
import type { BatchHandler, BatchOutcome, Handler, HandlerContext } from './handler.js';
import type { WorkerMessage } from './message.js';

export interface BatchingOptions {
  /** How long the first message of a batch waits for others (HANDLER_BATCH_WINDOW), in ms. */
  readonly windowMs: number;
  /** A batch goes at once when it has this many messages (SQS_BATCH_SIZE). */
  readonly maxSize: number;
  /** Whose timers run the window (default the system's). */
  readonly clock?: Clock | undefined;
}

/** handleBatch's answer did not name an outcome for this message: it is retried. */
export class MissingBatchOutcomeError extends Error {
  readonly code = 'BATCH_OUTCOME_MISSING';

  constructor(index: number, size: number) {
    super(
      `handleBatch returned no outcome for message ${index} of ${size} (return one per message, in order)`,
    );
    this.name = 'MissingBatchOutcomeError';
  }
}

interface Waiting {
  readonly message: WorkerMessage;
  readonly context: HandlerContext;
  readonly settle: (outcome: BatchOutcome) => void;
}

/**
 * Runs a module's `handleBatch(messages, context)` behind the one-message Handler contract, so that
 * each message keeps its own life in the pipeline: it is validated, claimed (duplicates never get
 * here), and only then handed over; its outcome is completed, retried or dead-lettered on its own.
 *
 * Messages whose claims succeed within `windowMs` of each other (the messages of one receive are
 * claimed side by side) go to one handleBatch call, at most `maxSize` at a time:
 *
 *   claim k1 ─┐ handler(k1) waits
 *   claim k2 ─┤ handler(k2) waits          handleBatch([k1, k2, k3]) ─┬ k1 { result } → complete
 *   claim k3 ─┘ handler(k3) waits  ─ window ─┘                          ├ k2 { error } → retry / DLQ
 *                                                                       └ k3 { result } → complete
 *
 * An outcome `{ error }` fails that message as if its handler had thrown it (PermanentError
 * dead-letters, anything else retries); any other outcome succeeds, its `result` stored with the
 * record. A throw from handleBatch fails every message of the batch; a missing outcome fails its
 * message (MissingBatchOutcomeError, retried). The batch's signal aborts as soon as any message's
 * does (timeout, shutdown, lease lost): the handler should stop, and every message is retried.
 */
export function batchingHandler(handleBatch: BatchHandler, options: BatchingOptions): Handler {
  const waiting: Waiting[] = [];
  const clock = options.clock ?? systemClock;
  let timer: Timer | undefined;

  const flush = () => {
    clock.clearTimeout(timer);
    timer = undefined;
    const batch = waiting.splice(0, options.maxSize);
    // What did not fit (maxSize reached within one turn) goes next turn, without a new window.
    if (waiting.length > 0) timer = clock.setTimeout(flush, 0);
    if (batch.length > 0) void runBatch(handleBatch, batch);
  };

  return (message, context) =>
    new Promise<unknown>((resolve, reject) => {
      const settle = (outcome: BatchOutcome) => {
        if ('error' in outcome) reject(outcome.error);
        else resolve(outcome.result);
      };
      waiting.push({ message, context, settle });
      if (waiting.length >= options.maxSize) flush();
      else timer ??= clock.setTimeout(flush, options.windowMs);
    });
}

async function runBatch(handleBatch: BatchHandler, batch: readonly Waiting[]): Promise<void> {
  const contexts = batch.map((w) => w.context);
  let outcomes: unknown;
  try {
    outcomes = await handleBatch(
      batch.map((w) => w.message),
      {
        signal: AbortSignal.any(contexts.map((c) => c.signal)),
        contexts,
      },
    );
  } catch (error) {
    for (const w of batch) w.settle({ error });
    return;
  }
  batch.forEach((w, index) => w.settle(outcomeAt(outcomes, index, batch.length)));
}

function outcomeAt(outcomes: unknown, index: number, size: number): BatchOutcome {
  const outcome: unknown = Array.isArray(outcomes) ? outcomes[index] : undefined;
  if (typeof outcome !== 'object' || outcome === null) {
    return { error: new MissingBatchOutcomeError(index, size) };
  }
  return outcome as BatchOutcome;
}
