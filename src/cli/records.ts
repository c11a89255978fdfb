import { setTimeout } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { skewMs } from '../app/parts.js';
import { cacheQuietMs, clearWithCaches } from '../core/completed-cache.js';
import { systemClock } from '../core/clock.js';
import {
  CorruptRecordError,
  RECORD_STATUSES,
  isLiveClaim,
  isRecordStatus,
  namespacePrefix,
  namespacedPk,
} from '../core/idempotency-store.js';
import { DynamoDbIdempotencyStore } from '../aws/dynamodb-store.js';
import { listRecords } from '../seeding/seed.js';
import { UsageError } from './args.js';
import { flag, withDynamo, type CommandContext, type CommandResult } from './context.js';

function storeOf(ctx: CommandContext, clients: { readonly dynamodb: DynamoDBClient }) {
  return new DynamoDbIdempotencyStore(clients.dynamodb, ctx.config.idempotency.table);
}

/** How records clear and forget keep workers' completed-key caches honest (docs/reliability.md, "The algorithm"). */
function cacheProtocol(ctx: CommandContext) {
  return { quietMs: cacheQuietMs(skewMs(ctx.config)), sleep: (ms: number) => setTimeout(ms) };
}

/** `records show`: one page, as GET /records answers it, each record with its key. */
export async function recordsShow(ctx: CommandContext): Promise<CommandResult> {
  const status = flag<string>(ctx, 'status')?.toUpperCase();
  if (status !== undefined && !isRecordStatus(status)) {
    throw new UsageError(`--status must be one of ${RECORD_STATUSES.join(', ')}`, 'records show');
  }
  const cursor = flag<string>(ctx, 'cursor');
  await withDynamo(ctx, async (clients, namespace) => {
    const query = { limit: flag<number>(ctx, 'limit') ?? 100, status, cursor };
    const page = await listRecords(storeOf(ctx, clients), namespace, query, systemClock.now());
    if (ctx.out.json) ctx.out.rows(page.records);
    else {
      const rows = page.records.map((r) => ({ ...r, updated: new Date(r.updatedAtMs).toISOString() }));
      ctx.out.rows(rows, ['key', 'status', 'attempts', 'fence', 'updated', 'lastError']);
    }
    if (page.next !== null) ctx.out.item({ next: page.next });
  });
}

/**
 * The record's times as ISO-8601, for a person to read: the `...AtMs` fields (epoch ms) and
 * `expiresAt` (epoch s, DynamoDB's TTL attribute). JSON output keeps the stored numbers.
 */
export function withIsoTimes(record: object): Record<string, unknown> {
  const iso = (name: string, value: unknown): unknown => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return value;
    if (name.endsWith('AtMs')) return new Date(value).toISOString();
    return name === 'expiresAt' ? new Date(value * 1000).toISOString() : value;
  };
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, iso(name, value)]));
}

/** `records get KEY`: the live record, or exit 1 saying there is none. */
export async function recordsGet(ctx: CommandContext): Promise<CommandResult> {
  const key = ctx.args.positionals[0] as string;
  return withDynamo(ctx, async (clients, namespace) => {
    const record = await storeOf(ctx, clients).get(namespacedPk(namespace, key), systemClock.now());
    if (!record) {
      ctx.streams.stderr.write(`no record for key ${JSON.stringify(key)} in namespace ${namespace}\n`);
      return 1;
    }
    // JSON keeps the stored epoch milliseconds; a person on a terminal reads ISO-8601 times.
    ctx.out.item(ctx.out.json ? { key, ...record } : { key, ...withIsoTimes(record) });
    return 0;
  });
}

/**
 * `records forget KEY`: deletes the key's record so the key can be claimed again. Refused while a
 * worker holds a live claim (its handler still runs: a new claim would run the key twice) unless
 * `--force`. The generation is bumped around the delete, as for clear, so no cache answers for it.
 */
export async function recordsForget(ctx: CommandContext): Promise<CommandResult> {
  const key = ctx.args.positionals[0] as string;
  return withDynamo(ctx, async (clients, namespace) => {
    const store = storeOf(ctx, clients);
    const pk = namespacedPk(namespace, key);
    const now = systemClock.now();
    // A record that cannot be decoded is still forgotten: forget is the way out of CorruptRecordError.
    const record = await store.get(pk, now).catch((error: unknown) => {
      if (error instanceof CorruptRecordError) return 'corrupt' as const;
      throw error;
    });
    if (!record) {
      // Nothing to forget, so no worker's cache can answer for it: no generation bump, no waits.
      ctx.streams.stderr.write(`no record for key ${JSON.stringify(key)} in namespace ${namespace}\n`);
      return 1;
    }
    if (record !== 'corrupt' && isLiveClaim(record, now) && flag(ctx, 'force') !== true) {
      ctx.streams.stderr.write(
        `key ${JSON.stringify(key)} is claimed by ${record.owner} until ${new Date(record.leaseExpiresAtMs).toISOString()}; ` +
          'forgetting it now may run it twice (--force to do it anyway)\n',
      );
      return 1;
    }
    const protocol = cacheProtocol(ctx);
    if (ctx.streams.stderr.isTTY === true) {
      ctx.streams.stderr.write(
        `records forget: about ${Math.ceil((2 * protocol.quietMs) / 1000)} s, so that no worker's cache still answers for the key\n`,
      );
    }
    const forgotten = await clearWithCaches(
      () => store.bumpGeneration(namespace),
      () => store.forget(pk),
      protocol,
    );
    ctx.out.item({ key, forgotten });
    return 0;
  });
}

/**
 * `records clear`: asks on a terminal; elsewhere refuses without --yes. Live claims (IN_PROGRESS,
 * lease not lapsed) are kept unless `--force`, as `records forget` keeps them: deleting one lets a
 * copy of the key be claimed afresh while its handler still runs. Says how many it kept; running
 * it again deletes what has lapsed since.
 */
export async function recordsClear(ctx: CommandContext): Promise<CommandResult> {
  return withDynamo(ctx, async (clients, namespace) => {
    if (flag(ctx, 'yes') !== true) {
      if (!ctx.interactive) {
        throw new UsageError(
          'records clear deletes records: pass --yes (nothing asks when not on a terminal)',
          'records clear',
        );
      }
      const asked = await ctx.confirm(`Delete every idempotency record of namespace ${namespace}?`);
      if (!asked) {
        ctx.streams.stderr.write('records clear: nothing deleted (not confirmed)\n');
        return 1;
      }
    }
    const store = storeOf(ctx, clients);
    const force = flag(ctx, 'force') === true;
    const { deleted, skipped } = await clearWithCaches(
      () => store.bumpGeneration(namespace),
      () => store.clear(namespacePrefix(namespace), { force, now: systemClock.now() }),
      cacheProtocol(ctx),
    );
    ctx.out.item({ deleted, skipped });
    if (skipped > 0) {
      ctx.streams.stderr.write(
        `records clear: kept ${skipped} live claim${skipped === 1 ? '' : 's'} (a worker's handler still runs); ` +
          'run it again once they end, or pass --force to delete them anyway\n',
      );
    }
    return 0;
  });
}
