import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { StoreUnavailableError } from '../core/errors.js';
import {
  MARKER_PREFIX,
  type IdempotencyRecord,
  type ListPage,
  type ListQuery,
} from '../core/idempotency-store.js';
import { call, fromItem, num, status, unavailable, type Item } from './dynamodb-items.js';

/**
 * The operators' side of DynamoDbIdempotencyStore (RecordStore: list, clear, forget): scans and
 * deletes the hot path never makes, kept apart from the conditional writes of dynamodb-store.ts.
 */

const IN_PROGRESS = status('IN_PROGRESS');

export async function listRecords(
  client: DynamoDBClient,
  table: string,
  query: ListQuery,
): Promise<ListPage> {
  // Markers (the records generation) are not records.
  const filters = ['expiresAt > :nowS', 'NOT begins_with(pk, :marker)'];
  const values: Item = { ':nowS': num(query.now / 1000), ':marker': { S: MARKER_PREFIX } };
  if (query.prefix !== undefined) {
    filters.push('begins_with(pk, :prefix)');
    values[':prefix'] = { S: query.prefix };
  }
  if (query.status !== undefined) {
    filters.push('#status = :status');
    values[':status'] = status(query.status);
  }
  const records: IdempotencyRecord[] = [];
  let startKey: Item | undefined = query.cursor === undefined ? undefined : { pk: { S: query.cursor } };
  do {
    const out = await call('list', () =>
      client.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: filters.join(' AND '),
          ExpressionAttributeValues: values,
          ExpressionAttributeNames: query.status === undefined ? undefined : { '#status': 'status' },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      ),
    );
    for (const item of out.Items ?? []) {
      records.push(fromItem(item));
      if (records.length === query.limit) {
        return { records, cursor: records[records.length - 1]?.pk as string };
      }
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { records };
}

export async function forgetRecord(client: DynamoDBClient, table: string, pk: string): Promise<boolean> {
  const out = await call('forget', () =>
    client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: pk } }, ReturnValues: 'ALL_OLD' })),
  );
  return out.Attributes !== undefined;
}

/**
 * Reads only the keys (and what tells a live claim), so it deletes malformed records as well:
 * the way out of a corrupt one. Unless forced, each delete is conditional on the record not
 * being a live claim at `now`, so a key claimed between the scan and the delete is kept too.
 */
export async function clearRecords(
  client: DynamoDBClient,
  table: string,
  prefix?: string,
  options?: { readonly force?: boolean; readonly now: number },
): Promise<{ deleted: number; skipped: number }> {
  const spare = options?.force === true ? undefined : options?.now;
  let deleted = 0;
  let skipped = 0;
  let startKey: Item | undefined;
  do {
    const out = await call('clear', () => client.send(clearScan(table, prefix, startKey)));
    const items = out.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      const chunk = items.slice(i, i + 25);
      if (spare === undefined) {
        await deleteBatch(
          client,
          table,
          chunk.map((item) => ({ pk: item.pk as AttributeValue })),
        );
        deleted += chunk.length;
      } else {
        const done = await Promise.all(chunk.map((item) => deleteUnlessLive(client, table, item, spare)));
        const count = done.filter(Boolean).length;
        deleted += count;
        skipped += chunk.length - count;
      }
    }
    startKey = out.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { deleted, skipped };
}

/** Deletes the item unless it is (or has meanwhile become) a live claim at `now`. */
async function deleteUnlessLive(
  client: DynamoDBClient,
  table: string,
  item: Item,
  now: number,
): Promise<boolean> {
  if (isLiveItem(item, now)) return false;
  try {
    await client.send(
      new DeleteItemCommand({
        TableName: table,
        Key: { pk: item.pk as AttributeValue },
        ConditionExpression: 'NOT (#s = :p AND leaseExpiresAtMs > :now AND expiresAt > :nowS)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':p': IN_PROGRESS, ':now': num(now), ':nowS': num(now / 1000) },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw unavailable('clear', error);
  }
}

async function deleteBatch(client: DynamoDBClient, table: string, keys: Item[]): Promise<void> {
  let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
  for (let round = 0; pending.length > 0; round += 1) {
    if (round === 10) throw new StoreUnavailableError('BatchWriteItem kept leaving items unprocessed');
    const out = await call('clear', () =>
      client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } })),
    );
    pending = (out.UnprocessedItems?.[table] ?? []).flatMap((r) =>
      r.DeleteRequest?.Key ? [{ DeleteRequest: { Key: r.DeleteRequest.Key } }] : [],
    );
  }
}

/** One page of clear's scan: the keys, and what tells a live claim (see isLiveItem). */
function clearScan(table: string, prefix: string | undefined, startKey: Item | undefined): ScanCommand {
  return new ScanCommand({
    TableName: table,
    ProjectionExpression: 'pk, #s, leaseExpiresAtMs, expiresAt',
    ExpressionAttributeNames: { '#s': 'status' },
    ExclusiveStartKey: startKey,
    // As list() does: an eventually consistent scan can miss records written just before.
    ConsistentRead: true,
    FilterExpression: prefix === undefined ? undefined : 'begins_with(pk, :prefix)',
    ExpressionAttributeValues: prefix === undefined ? undefined : { ':prefix': { S: prefix } },
  });
}

/** A projected item (clearScan) that is a live claim at `now`; a malformed one never is. */
function isLiveItem(item: Item, now: number): boolean {
  const lease = Number(item.leaseExpiresAtMs?.N);
  const expiresAt = Number(item.expiresAt?.N);
  return item.status?.S === 'IN_PROGRESS' && lease > now && expiresAt * 1000 > now;
}
