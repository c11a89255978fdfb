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

/**
 * Creates the idempotency table (on-demand capacity, partition key `pk`) and turns on TTL for
 * `expiresAt`. Used by embedded mode and the `table create` command; production tables are
 * expected to exist. Stores without TTL (dynalite) are tolerated: `ttl` is then false.
 */
export async function createTable(
  client: DynamoDBClient,
  table: string,
): Promise<{ ttl: boolean; ttlError?: string }> {
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
    return { ttl: true };
  } catch (error) {
    const text = describeError(error);
    // Already enabled counts as success; anything else (no TTL support) is reported, not fatal.
    if (/already enabled/i.test(text)) return { ttl: true };
    return { ttl: false, ttlError: text };
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
