import {
  BatchExecuteStatementCommand,
  type BatchStatementRequest,
  type BatchStatementResponse,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { describeError } from '../core/errors.js';
import { generationPk } from '../core/idempotency-store.js';
import type {
  BatchStatement,
  StatementOutcome,
  StoreBatch,
  StoreBatchingChoice,
} from '../core/store-batch.js';
import { freshItem, num, status, type Item } from './dynamodb-items.js';

/**
 * The store's batch port on DynamoDB: PartiQL statements sent with BatchExecuteStatement, each
 * decided on its own. The items they write are those of the single calls (dynamodb-store.ts),
 * attribute by attribute: the INSERT is freshItem itself, the UPDATE sets what complete sets.
 *
 *   INSERT onto an existing key   fails that statement with DuplicateItem       → refused
 *   UPDATE ... WHERE owner/status fails that statement with ConditionalCheckFailed → refused
 *   throttling of one statement   comes back inside the HTTP 200, not retried   → throttled
 *
 * A refused statement carries no record (DynamoDB Local returns none even with ALL_OLD), so the
 * caller goes on with the single call, which reads it. dynalite answers UnknownOperationException
 * to the whole operation: probeStoreBatching finds that out at start.
 */
export class DynamoDbStoreBatch implements StoreBatch {
  readonly #client: DynamoDBClient;
  readonly #table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async execute(
    statements: readonly BatchStatement[],
    signal: AbortSignal,
  ): Promise<readonly StatementOutcome[]> {
    const out = await this.#client.send(
      new BatchExecuteStatementCommand({ Statements: statements.map((s) => this.statement(s)) }),
      { abortSignal: signal },
    );
    const responses = out.Responses ?? [];
    return statements.map((_, index) => outcomeOf(responses[index]));
  }

  /** The PartiQL statement of one write, with its parameters. */
  statement(statement: BatchStatement): BatchStatementRequest {
    return statement.kind === 'insert' ? this.#insert(statement) : this.#complete(statement);
  }

  #insert({ request }: Extract<BatchStatement, { kind: 'insert' }>): BatchStatementRequest {
    const item = freshItem(request, 1);
    const names = Object.keys(item);
    return {
      Statement: `INSERT INTO "${this.#table}" VALUE {${names.map((name) => `'${name}': ?`).join(', ')}}`,
      Parameters: names.map((name) => item[name] as Item[string]),
    };
  }

  /** What DynamoDbIdempotencyStore.complete sets, on the same condition (owner token, IN_PROGRESS). */
  #complete(statement: Extract<BatchStatement, { kind: 'complete' }>): BatchStatementRequest {
    const sets = ['"status" = ?', 'updatedAtMs = ?', 'completedAtMs = ?'];
    const values = [status('COMPLETED'), num(statement.now), num(statement.now)];
    if (statement.expiresAt !== undefined) {
      sets.push('expiresAt = ?');
      values.push(num(statement.expiresAt));
    }
    if (statement.result !== undefined) {
      sets.push('"result" = ?');
      values.push({ S: statement.result });
    }
    return {
      Statement:
        `UPDATE "${this.#table}" ${sets.map((set) => `SET ${set}`).join(' ')} ` +
        'WHERE pk = ? AND "owner" = ? AND "status" = ?',
      Parameters: [...values, { S: statement.claim.pk }, { S: statement.claim.owner }, status('IN_PROGRESS')],
    };
  }
}

const REFUSED = new Set(['DuplicateItem', 'ConditionalCheckFailed']);
const THROTTLED = new Set([
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
  'TransactionConflict',
]);

function outcomeOf(response: BatchStatementResponse | undefined): StatementOutcome {
  if (response === undefined) return 'unknown';
  const code = response.Error?.Code;
  if (code === undefined) return 'applied';
  if (REFUSED.has(code)) return 'refused';
  return THROTTLED.has(code) ? 'throttled' : 'unknown';
}

/**
 * Whether the store takes BatchExecuteStatement, asked once at start with a batch of one read
 * (the namespace's generation marker): it writes nothing. DynamoDB Local and AWS answer; dynalite
 * says UnknownOperationException. A table not created yet answers ResourceNotFound inside the 200:
 * the operation exists, and the worker waits for the table anyway. Any other failure, of the
 * request or of its statement (AccessDenied where the role lacks PartiQL's IAM actions), keeps
 * the single calls, its reason kept for the log and /status.json.
 */
export async function probeStoreBatching(
  client: DynamoDBClient,
  table: string,
  namespace: string,
): Promise<StoreBatchingChoice> {
  const statement = `SELECT pk FROM "${table}" WHERE pk = ?`;
  try {
    const out = await client.send(
      new BatchExecuteStatementCommand({
        Statements: [{ Statement: statement, Parameters: [{ S: generationPk(namespace) }] }],
      }),
    );
    const error = out.Responses?.[0]?.Error;
    if (error === undefined || error.Code === 'ResourceNotFound') {
      const note = error === undefined ? '' : ' (the table is not there yet)';
      return { mode: 'batched', reason: `the store answered a BatchExecuteStatement probe${note}` };
    }
    // AccessDenied above all: PartiQL has IAM actions of its own (dynamodb:PartiQLSelect, ...).
    return {
      mode: 'single',
      reason: `BatchExecuteStatement probe: ${error.Code ?? '?'}: ${error.Message ?? ''}`,
    };
  } catch (error) {
    return { mode: 'single', reason: `BatchExecuteStatement probe failed: ${describeError(error)}` };
  }
}
