import type { MemoryIdempotencyStore } from '../../src/testing/memory-store.js';
import {
  MAX_BATCH_STATEMENTS,
  statementPk,
  type BatchStatement,
  type StatementOutcome,
  type StoreBatch,
} from '../../src/core/store-batch.js';

/**
 * An in-memory twin of the store's batch port (aws/dynamodb-batch.ts) on a MemoryIdempotencyStore:
 * an INSERT is applied only where no live record is (else `refused`, as DuplicateItem), a complete
 * only while the record is the claim's IN_PROGRESS one (else `refused`, as ConditionalCheckFailed);
 * a refusal carries no record, as on DynamoDB Local. Like DynamoDB it rejects a request that
 * names a key twice or carries more than 25 statements. (An expired record still stored is not
 * modelled: the twin treats it as absent.)
 *
 * Faults are queued per request (`faults`): `throttle` answers the named keys' statements as
 * throttled (not applied), `fail-after-apply` applies everything then rejects (a 500 after the
 * write), `fail` rejects having written nothing, `hang` never answers until aborted, `deny` answers
 * every statement with an error of its own (as AccessDenied), writing nothing.
 */
export type BatchFault =
  | { readonly kind: 'throttle'; readonly pks: readonly string[] }
  | { readonly kind: 'fail-after-apply' }
  | { readonly kind: 'fail' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'deny' };

export class MemoryStoreBatch implements StoreBatch {
  readonly #store: MemoryIdempotencyStore;
  /** Faults for the next requests, in order: one per request. */
  readonly faults: (BatchFault | undefined)[] = [];
  /** Every request's statements, as sent. */
  readonly requests: (readonly BatchStatement[])[] = [];
  /** The signals of the requests, to see that a timed-out one was aborted. */
  readonly signals: AbortSignal[] = [];

  constructor(store: MemoryIdempotencyStore) {
    this.#store = store;
  }

  async execute(
    statements: readonly BatchStatement[],
    signal: AbortSignal,
  ): Promise<readonly StatementOutcome[]> {
    this.requests.push(statements);
    this.signals.push(signal);
    const fault = this.faults.shift();
    const pks = statements.map(statementPk);
    if (new Set(pks).size !== pks.length) throw new Error('ValidationException: duplicate keys in one batch');
    if (statements.length > MAX_BATCH_STATEMENTS) throw new Error('ValidationException: too many statements');
    if (fault?.kind === 'fail') throw new Error('InternalServerError (nothing written)');
    if (fault?.kind === 'hang') {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (fault?.kind === 'deny') return statements.map(() => 'unknown');
    const throttled = new Set(fault?.kind === 'throttle' ? fault.pks : []);
    const outcomes: StatementOutcome[] = [];
    for (const statement of statements) {
      outcomes.push(throttled.has(statementPk(statement)) ? 'throttled' : await this.#apply(statement));
    }
    if (fault?.kind === 'fail-after-apply') throw new Error('InternalServerError (after the write)');
    return outcomes;
  }

  async #apply(statement: BatchStatement): Promise<StatementOutcome> {
    if (statement.kind === 'insert') {
      const { request } = statement;
      if (await this.#store.get(request.pk, request.now)) return 'refused';
      await this.#store.claim({ ...request, firstDelivery: false });
      return 'applied';
    }
    const record = await this.#store.get(statement.claim.pk, statement.now);
    if (record?.owner !== statement.claim.owner || record.status !== 'IN_PROGRESS') return 'refused';
    await this.#store.complete(statement.claim, statement.now, statement.result, statement.expiresAt);
    return 'applied';
  }
}
