import { ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../core/errors.js';
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
}

/**
 * Keeps readiness's table check true without a call per probe: one DescribeTable at start, then
 * again every `recheckMs` only while the table is not usable. A store call that fails because the
 * table is gone (ResourceNotFoundException anywhere in its cause chain) marks it missing at once.
 */
export class TableWatch {
  readonly #o: TableWatchOptions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: TableWatchOptions) {
    this.#o = options;
  }

  /**
   * Checks the table; once it is usable, runs `onReady` (starting the consumer: claims against a
   * missing table would burn receives). Until then it checks again every recheckMs.
   */
  async whenReady(onReady: () => Promise<void>): Promise<void> {
    const status = await checkTable(this.#o.client, this.#o.table);
    this.#o.health.setTable(status);
    if (status.ok) {
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
    if (outcome !== 'error') {
      if (!current.ok && current.reason === 'missing') this.#o.health.setTable({ ok: true });
      return;
    }
    if (!current.ok || !isMissingTable(error)) return;
    const detail = `table ${this.#o.table} does not exist (create it: sqs-worker table create)`;
    this.#o.health.setTable({ ok: false, reason: 'missing', detail });
    this.#o.logger.error({ table: this.#o.table }, 'idempotency table missing');
    this.#recheck();
  };

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #recheck(): void {
    this.#schedule(async () => {
      const status = await checkTable(this.#o.client, this.#o.table);
      this.#o.health.setTable(status);
      if (!status.ok) this.#recheck();
    });
  }

  #schedule(run: () => Promise<void>): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
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
