import type { Claim, ClaimRequest } from './idempotency-store.js';

/**
 * The batch port of an idempotency store: several conditional writes of different keys in one
 * request, each decided on its own (DynamoDB's PartiQL BatchExecuteStatement: aws/dynamodb-batch.ts).
 * worker/batching-store.ts gathers the hot path's first claims and completes into such batches;
 * anything a batch cannot settle goes through the store's single calls, which read the record and
 * recognise their own earlier writes (OwnWrite), so a batch is only ever a cheaper first try.
 */

/** The most statements one request may carry (DynamoDB's limit for BatchExecuteStatement). */
export const MAX_BATCH_STATEMENTS = 25;

export type BatchStatement =
  /**
   * The short claim of a key on its first receive: the fresh record (fence 1), written only where
   * no item is stored; field by field what the single short claim writes.
   */
  | { readonly kind: 'insert'; readonly request: ClaimRequest }
  /** IdempotencyStore.complete, conditional on the claim's owner token and IN_PROGRESS. */
  | {
      readonly kind: 'complete';
      readonly claim: Claim;
      readonly now: number;
      readonly result?: string | undefined;
      readonly expiresAt?: number | undefined;
    };

/**
 * One statement's outcome. `applied`: written. `refused`: its condition failed (the key exists,
 * or the claim is no longer the owner's IN_PROGRESS one); the store returned no record to say
 * why. `throttled`: not written, try again later (DynamoDB answers this inside an HTTP 200, and
 * the SDK does not retry it). `unknown`: any other error of that statement.
 */
export type StatementOutcome = 'applied' | 'refused' | 'throttled' | 'unknown';

export interface StoreBatch {
  /**
   * Sends the statements (at most MAX_BATCH_STATEMENTS, no record key twice) in one request and
   * answers one outcome per statement, in order. Rejects when the request failed as a whole, or
   * `signal` aborted it: then any statement may or may not have been written.
   */
  execute(statements: readonly BatchStatement[], signal: AbortSignal): Promise<readonly StatementOutcome[]>;
}

/** The record key a statement writes: a batch must not carry one twice. */
export function statementPk(statement: BatchStatement): string {
  return statement.kind === 'insert' ? statement.request.pk : statement.claim.pk;
}

/** Whether the store takes batches, as found out at start (probeStoreBatching), and why. */
export interface StoreBatchingChoice {
  readonly mode: 'batched' | 'single';
  /** Why: `STORE_BATCHING=off`, the probe's error, or that the probe succeeded. */
  readonly reason: string;
}
