import { durationOrZero, env, group, int, maybe, oneOf, pattern } from './leaves.js';

/**
 * The idempotency store in DynamoDB: the table, the key, how long records live, how leases
 * tolerate clock skew, the in-memory cache and batched writes.
 * Part of the one config schema (schema.ts), which lists the fields in the documented order.
 */
export const dynamodbFields = {
  idempotency: group({
    table: env(
      'IDEMPOTENCY_TABLE',
      pattern(
        /^[a-zA-Z0-9_.-]{3,255}$/,
        'not a DynamoDB table name',
        '3 to 255 characters of a-z, A-Z, 0-9, _, - and .',
      ),
      {
        default: 'sqs-worker-idempotency',
        description: 'DynamoDB table holding the idempotency records (partition key `pk`, a string).',
      },
    ),
    keyAttribute: env(
      'IDEMPOTENCY_KEY_ATTRIBUTE',
      pattern(
        /^(?!(aws|amazon)\.)(?!\.)(?!.*\.\.)(?!.*\.$)[a-zA-Z0-9_.-]{1,256}$/i,
        'not a name SQS allows for a message attribute',
        "1 to 256 characters of a-z, A-Z, 0-9, _, - and . (SQS's rule): not starting or ending with ., no .., not starting with AWS. or Amazon. in any case",
      ),
      {
        default: 'IdempotencyKey',
        description:
          'Message attribute that carries the idempotency key; messages without it use their MessageId.',
      },
    ),
    /** undefined: derived from the queue name once the queue URL is known. */
    namespace: env(
      'IDEMPOTENCY_NAMESPACE',
      maybe(pattern(/^[^#]{1,200}$/, 'empty, too long or contains #', '1 to 200 characters, no #')),
      {
        description:
          'Prefix of every record key, so several workers can share one table. Default: the queue name.',
      },
    ),
    retentionSeconds: env('IDEMPOTENCY_RETENTION_SECONDS', int(60, 31_536_000, { unit: 'seconds' }), {
      default: '86400',
      description:
        'How long a record is kept after its last write (and a completed key answers "duplicate" after completion), in seconds; longer than SQS_VISIBILITY_TIMEOUT.',
    }),
    /** undefined: min(1 s, a tenth of the visibility timeout); see leaseClockSkewMs() in worker/lease.ts. */
    clockSkewMs: env('LEASE_CLOCK_SKEW', maybe(durationOrZero('no margin', 0.001, 7200)), {
      description:
        'Clock difference between workers that leases tolerate, in seconds: a lease is taken over only this long after it lapsed, and its holder stops this long before. At most a sixth of SQS_VISIBILITY_TIMEOUT. Default: 1, or a tenth of the visibility timeout when that is smaller.',
    }),
    /** Completed keys kept in memory; 0: none. */
    cacheSize: env('IDEMPOTENCY_CACHE_SIZE', int(0, 10_000_000, { note: '0: no cache' }), {
      default: '10000',
      description:
        'Completed keys remembered in memory, least recently used first out, so hot duplicates cost no DynamoDB call.',
    }),
    batching: env('STORE_BATCHING', oneOf(['auto', 'off']), {
      default: 'auto',
      description:
        '`auto`: the first claims of one receive go to DynamoDB as one PartiQL BatchExecuteStatement, and completes gathered for up to SQS_BATCH_FLUSH_DELAY go together (up to 25 a request), when the table takes it (probed at start: AWS and DynamoDB Local do, dynalite does not); a write a batch cannot settle goes through the single calls. `off`: single calls only. The choice is logged and shown in /status.json.',
    }),
  }),
};
