import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { describeError } from '../core/errors.js';
import type { TableStatus } from '../core/events.js';

export type { TableStatus } from '../core/events.js';

/** What TTL on `expiresAt` came to. */
export const TTL_UNSUPPORTED = 'unsupported by this store';

export type TableCreated =
  | { readonly ttl: 'enabled' | typeof TTL_UNSUPPORTED }
  /** UpdateTimeToLive failed otherwise (permissions, throttling): the records expire only logically. */
  | { readonly ttl: 'not enabled'; readonly ttlError: string };

/**
 * Creates the idempotency table (on-demand capacity, partition key `pk`) and turns on TTL for
 * `expiresAt`. Used by embedded mode and the `table create` command; production tables are
 * expected to exist. A store without TTL (dynalite answers UnknownOperationException) is no
 * failure: `ttl` says `unsupported by this store`, and records still expire logically.
 */
export async function createTable(client: DynamoDBClient, table: string): Promise<TableCreated> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: table });
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    return { ttl: 'enabled' };
  } catch (error) {
    const text = describeError(error);
    if (/already enabled/i.test(text)) return { ttl: 'enabled' };
    const name = (error as { name?: string }).name;
    if (name === 'UnknownOperationException' || /UnknownOperation/.test(text))
      return { ttl: TTL_UNSUPPORTED };
    return { ttl: 'not enabled', ttlError: text };
  }
}

/** Checks that the table exists with a string partition key `pk` (one DescribeTable call). */
export async function checkTable(client: DynamoDBClient, table: string): Promise<TableStatus> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    const hash = out.Table?.KeySchema?.find((k) => k.KeyType === 'HASH');
    const type = out.Table?.AttributeDefinitions?.find((a) => a.AttributeName === hash?.AttributeName);
    if (
      hash?.AttributeName !== 'pk' ||
      type?.AttributeType !== 'S' ||
      (out.Table?.KeySchema?.length ?? 0) !== 1
    ) {
      return {
        ok: false,
        reason: 'wrong_key',
        detail: `table ${table} must have exactly one key, a string partition key named pk`,
      };
    }
    return { ok: true };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) {
      return {
        ok: false,
        reason: 'missing',
        detail: `table ${table} does not exist (create it: sqs-worker table create)`,
      };
    }
    return {
      ok: false,
      reason: 'unreachable',
      detail: `DescribeTable ${table} failed: ${describeError(error)}`,
    };
  }
}
