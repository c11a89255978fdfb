import { RECORD_STATUSES, type RecordStatus } from '../core/idempotency-store.js';
import { SEED_ENVELOPES, type SeedEnvelope } from '../seeding/envelopes.js';
import type { RecordsQuery } from '../seeding/seed.js';

/**
 * JSON Schemas of the seed and records routes. Every object rejects unknown fields (the server
 * turns off Ajv's removeAdditional) and every number and string is bounded.
 */

export const MAX_SEED_COUNT = 10_000;
export const MAX_SEED_MESSAGES = 100;
/** Largest POST /seed body, bytes: room for MAX_SEED_MESSAGES small messages or a few large ones. */
export const SEED_BODY_LIMIT = 1024 * 1024;
export const MAX_RECORDS_LIMIT = 1000;

/** Printable ASCII, as SQS allows in MessageGroupId. */
const groupId = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' } as const;

const explicitMessage = {
  type: 'object',
  additionalProperties: false,
  required: ['body'],
  properties: {
    body: {
      anyOf: [{ type: 'string', minLength: 1, maxLength: 262_144 }, { type: 'object' }, { type: 'array' }],
    },
    key: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^\\x00-\\x1f\\x7f]+$' },
    groupId,
    delaySeconds: { type: 'integer', minimum: 0, maximum: 900 },
    // Names and characters are checked by seeding/validate.ts, which names the rule broken.
    attributes: {
      type: 'object',
      maxProperties: 9,
      additionalProperties: { type: 'string', minLength: 1, maxLength: 1024 },
    },
  },
} as const;

/**
 * Either `{count, duplicates?, groupId?}` or `{messages: [...], groupId?}`. Which one is given is
 * checked in the handler (see seedShapeError) so that the answer names the field, which Ajv's
 * oneOf errors do not.
 */
export const seedBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    count: { type: 'integer', minimum: 1, maximum: MAX_SEED_COUNT },
    duplicates: { type: 'integer', minimum: 0, maximum: MAX_SEED_COUNT },
    messages: { type: 'array', minItems: 1, maxItems: MAX_SEED_MESSAGES, items: explicitMessage },
    groupId,
    envelope: { type: 'string', enum: SEED_ENVELOPES },
  },
} as const;

export const recordsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: RECORD_STATUSES },
    // Query values are strings, and the server's Ajv does not coerce (a JSON body's "10" is no
    // count): limit is checked as text here and bounded in recordsQuery().
    limit: { type: 'string', pattern: '^[0-9]{1,6}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 2048 },
  },
} as const;

export interface SeedBody {
  readonly count?: number;
  readonly duplicates?: number;
  readonly messages?: readonly {
    readonly body: unknown;
    readonly key?: string;
    readonly groupId?: string;
    readonly delaySeconds?: number;
    readonly attributes?: Readonly<Record<string, string>>;
  }[];
  readonly groupId?: string;
  /** Send each message as SNS or EventBridge would deliver it (seeding/envelopes.ts). */
  readonly envelope?: SeedEnvelope;
}

/** The rules JSON Schema says badly: exactly one form, and duplicates within count. */
export function seedShapeError(body: SeedBody): { field: string; message: string } | undefined {
  if (body.count !== undefined && body.messages !== undefined) {
    return { field: 'messages', message: 'give either count or messages, not both' };
  }
  if (body.count === undefined && body.messages === undefined) {
    return { field: 'count', message: 'count (generated messages) or messages is required' };
  }
  if (body.duplicates !== undefined && body.count === undefined) {
    return { field: 'duplicates', message: 'duplicates goes with count' };
  }
  if (body.count !== undefined && (body.duplicates ?? 0) > body.count) {
    return { field: 'duplicates', message: 'duplicates must not exceed count' };
  }
  return undefined;
}

export interface RecordsQueryString {
  readonly status?: RecordStatus;
  readonly limit?: string;
  readonly cursor?: string;
}

/** The query string as a records query, or the field that is out of bounds. */
export function recordsQuery(query: RecordsQueryString): RecordsQuery | { field: string; message: string } {
  const limit = query.limit === undefined ? 100 : Number(query.limit);
  if (limit < 1 || limit > MAX_RECORDS_LIMIT) {
    return { field: 'limit', message: `limit must be an integer from 1 to ${MAX_RECORDS_LIMIT}` };
  }
  return { limit, status: query.status, cursor: query.cursor };
}
