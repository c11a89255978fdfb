/**
 * The per-request fault rules of the HTTP proxies (chaos/http-proxy.ts): throttles and 5xx that
 * DynamoDB answers itself, writes applied and then answered with an error (or not at all), SQS 5xx
 * and batch entries that fail while the rest succeed. Each rule draws from `random` (Math.random in
 * the harness), so a share of the requests is hit.
 */
import type { Decision, HttpRequest, Reply, Rule } from './http-proxy.js';

const DYNAMODB = 'DynamoDB_20120810.';
const SQS = 'AmazonSQS.';

const PASS: Decision = { kind: 'pass' };

function jsonError(status: number, type: string, message: string): Reply {
  return {
    status,
    body: JSON.stringify({ __type: type, message }),
    headers: { 'x-amzn-query-error': `${type.split('#').at(-1) ?? type};Receiver` },
  };
}

const THROTTLES: readonly Reply[] = [
  jsonError(
    400,
    'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    'chaos: The level of configured provisioned throughput for the table was exceeded.',
  ),
  jsonError(
    400,
    'com.amazon.coral.availability#ThrottlingException',
    'chaos: Rate of requests exceeds the allowed throughput.',
  ),
];
const DYNAMODB_500 = jsonError(
  500,
  'com.amazonaws.dynamodb.v20120810#InternalServerError',
  'chaos: Internal server error',
);
const SQS_5XX: readonly Reply[] = [
  jsonError(500, 'com.amazonaws.sqs#InternalError', 'chaos: We encountered an internal error.'),
  jsonError(
    503,
    'com.amazonaws.sqs#ServiceUnavailable',
    'chaos: The request has failed due to a temporary failure.',
  ),
];

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length) % items.length] as T;
}

/** DynamoDB answers `throttled` of the requests 400 (either throttle) and `errors` of them 500, itself. */
export function dynamoThrottle(shares: { throttled: number; errors: number }, random = Math.random): Rule {
  return (req) => {
    if (!req.target?.startsWith(DYNAMODB)) return PASS;
    const draw = random();
    if (draw < shares.throttled) return { kind: 'reply', ...pick(THROTTLES, random) };
    if (draw < shares.throttled + shares.errors) return { kind: 'reply', ...DYNAMODB_500 };
    return PASS;
  };
}

const WRITES = new Set([`${DYNAMODB}PutItem`, `${DYNAMODB}UpdateItem`]);

/**
 * PutItem and UpdateItem are forwarded and applied; then `answered500` of them get a 500 instead of
 * the emulator's answer, and `hang` of them no answer at all (past DYNAMODB_REQUEST_TIMEOUT).
 */
export function dynamoAppliedThenFail(
  shares: { answered500: number; hang: number },
  random = Math.random,
): Rule {
  return (req) => {
    if (!req.target || !WRITES.has(req.target)) return PASS;
    const draw = random();
    if (draw < shares.answered500) return { kind: 'applied-then-reply', ...DYNAMODB_500 };
    if (draw < shares.answered500 + shares.hang) return { kind: 'applied-then-hang' };
    return PASS;
  };
}

const BATCHES = new Set([`${SQS}DeleteMessageBatch`, `${SQS}ChangeMessageVisibilityBatch`]);
const DELETES = new Set([`${SQS}DeleteMessageBatch`, `${SQS}DeleteMessage`]);

export interface SqsFaults {
  /** Share of all SQS requests answered 500 or 503 by the proxy, not forwarded. */
  readonly errors: number;
  /** Share of DeleteMessageBatch / ChangeMessageVisibilityBatch entries that fail. */
  readonly failedEntries: number;
  /** While true, every delete fails (batch entries in `Failed`, DeleteMessage with a 500). */
  readonly deletesDown: () => boolean;
}

interface BatchEntry {
  readonly Id: string;
}

/** SQS answers a share of requests 5xx and fails chosen batch entries (the others are applied). */
export function sqsErrors(faults: SqsFaults, random = Math.random): Rule {
  return (req) => {
    if (!req.target?.startsWith(SQS)) return PASS;
    const deletesDown = faults.deletesDown() && DELETES.has(req.target);
    if (BATCHES.has(req.target)) return failEntries(req, deletesDown ? 1 : faults.failedEntries, random);
    if (deletesDown || random() < faults.errors) return { kind: 'reply', ...pick(SQS_5XX, random) };
    return PASS;
  };
}

/** A batch whose chosen entries fail: the rest are forwarded, the chosen added to `Failed`. */
export function failEntries(req: HttpRequest, share: number, random: () => number): Decision {
  let parsed: { Entries?: BatchEntry[] } & Record<string, unknown>;
  try {
    parsed = JSON.parse(req.body.toString('utf8')) as typeof parsed;
  } catch {
    return PASS;
  }
  const entries = parsed.Entries ?? [];
  const failing = entries.filter(() => random() < share);
  if (failing.length === 0) return PASS;
  const failed = failing.map((e) => ({
    Id: e.Id,
    SenderFault: false,
    Code: 'InternalError',
    Message: 'chaos: this entry failed on purpose',
  }));
  const kept = entries.filter((e) => !failing.includes(e));
  if (kept.length === 0) {
    return { kind: 'reply', status: 200, body: JSON.stringify({ Successful: [], Failed: failed }) };
  }
  return {
    kind: 'rewrite',
    body: JSON.stringify({ ...parsed, Entries: kept }),
    answer: (status, body) => {
      if (status !== 200) return { status, body: body.toString('utf8') };
      const answer = JSON.parse(body.toString('utf8')) as { Successful?: unknown[]; Failed?: unknown[] };
      return {
        status,
        body: JSON.stringify({
          Successful: answer.Successful ?? [],
          Failed: [...(answer.Failed ?? []), ...failed],
        }),
      };
    },
  };
}
