import { ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { StoreUnavailableError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StoreListener, TableStatusSink } from '../core/events.js';
import { checkTable } from './table.js';

export interface TableWatchOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly health: TableStatusSink;
  readonly logger: Logger;
  /** How often DescribeTable is retried while the table is not usable. */
  readonly recheckMs: number;
  /** READY_MAX_STORE_FAILURES: store calls failing in a row that make the table unreachable. */
  readonly maxFailures: number;
  /** Whose timers the rechecks run on (default the system's). */
  readonly clock?: Clock | undefined;
}

/**
 * Keeps readiness's table check true without a call per probe: one DescribeTable at start, then
 * again every `recheckMs` only while the table is not usable. Store calls tell it the rest:
 * - one that fails because the table is gone (ResourceNotFoundException anywhere in its cause
 *   chain) marks it missing at once;
 * - `maxFailures` in a row that fail as StoreUnavailableError (timeouts, refused connections,
 *   5xx, each after the SDK's retries) mark it unreachable;
 * - the next one that succeeds marks it usable again, as does a DescribeTable that succeeds.
 */
export class TableWatch {
  readonly #o: TableWatchOptions;
  readonly #clock: Clock;
  #timer: Timer | undefined;
  #stopped = false;
  #failuresInARow = 0;
  /** Set once the table was seen usable: until then whenReady() alone decides. */
  #seenUsable = false;

  constructor(options: TableWatchOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Checks the table; once it is usable, runs `onReady` (starting the consumer: claims against a
   * missing table would burn receives). Until then it checks again every recheckMs.
   */
  async whenReady(onReady: () => Promise<void>): Promise<void> {
    const status = await checkTable(this.#o.client, this.#o.table);
    this.#o.health.setTable(status);
    if (status.ok) {
      this.#seenUsable = true;
      await onReady();
      return;
    }
    this.#o.logger.error(
      { table: this.#o.table, reason: status.reason, detail: status.detail },
      'idempotency table not usable',
    );
    this.#schedule(() =>
      this.whenReady(onReady).catch((error: unknown) =>
        this.#o.logger.error({ error: describeError(error) }, 'the worker could not start polling'),
      ),
    );
  }

  /** For TimedIdempotencyStore: learns from every store call whether the table is there. */
  readonly onStoreResult: StoreListener = (_operation, outcome, error) => {
    const current = this.#o.health.table;
    if (current.ok) this.#seenUsable = true;
    if (outcome !== 'error') {
      this.#failuresInARow = 0;
      if (!current.ok && this.#seenUsable && current.reason !== 'wrong_key') {
        this.#o.health.setTable({ ok: true });
        this.#o.logger.info({ table: this.#o.table }, 'idempotency table usable again');
      }
      return;
    }
    if (!isMissingTable(error)) {
      if (error instanceof StoreUnavailableError) this.#storeFailed(error);
      return;
    }
    if (!current.ok) return;
    const detail = `table ${this.#o.table} does not exist (create it: sqs-worker table create)`;
    this.#o.health.setTable({ ok: false, reason: 'missing', detail });
    this.#o.logger.error({ table: this.#o.table }, 'idempotency table missing');
    this.#recheck();
  };

  #storeFailed(error: StoreUnavailableError): void {
    this.#failuresInARow += 1;
    if (!this.#o.health.table.ok || this.#failuresInARow < this.#o.maxFailures) return;
    const detail = `${this.#failuresInARow} idempotency store calls in a row failed (last: ${describeError(error)})`;
    this.#o.health.setTable({ ok: false, reason: 'unreachable', detail });
    this.#o.logger.error({ table: this.#o.table, detail }, 'idempotency store unreachable');
    this.#recheck();
  }

  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#timer);
  }

  #recheck(): void {
    this.#schedule(async () => {
      const status = await checkTable(this.#o.client, this.#o.table);
      // A store call that succeeded while DescribeTable waited has the newer news.
      if (!status.ok && this.#o.health.table.ok) return;
      this.#o.health.setTable(status);
      if (!status.ok) this.#recheck();
    });
  }

  #schedule(run: () => Promise<void>): void {
    if (this.#stopped) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#stopped) void run();
    }, this.#o.recheckMs);
  }
}

/** True when the error, or any error in its cause chain, is DynamoDB's ResourceNotFoundException. */
export function isMissingTable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (e instanceof ResourceNotFoundException) return true;
  }
  return false;
}
