/**
 * Scenarios of ambiguous and partial answers (issue 19): throttles and 5xx, writes applied and
 * then answered with an error, SQS 5xx and failing batch entries, one worker cut off from DynamoDB
 * or SQS while the others run, a store slow under its request timeout, and skewed clocks.
 */
import { existsSync } from 'node:fs';
import { dynamoAppliedThenFail, dynamoThrottle, sqsErrors } from './faults.js';
import { PASS } from './http-proxy.js';
import { pause } from './processes.js';
import { startProxy, type FaultProxy, type ProxyMode } from './proxy.js';
import { window, type FaultContext, type Form, type Scenario } from './scenarios.js';

/** Poison among the good messages, retried quickly: redrive after 4 receives. */
const POISON_ENV = { MAX_RECEIVE_COUNT: '4', RETRY_BACKOFF_BASE: '0.2', RETRY_BACKOFF_MAX: '1' };
/** Handlers that live on lease renewals (longer than the 5 s visibility timeout). */
const LONG_HANDLER_MS = '6000';
/** `LEASE_CLOCK_SKEW`'s default at V = 5 s: min(1 s, V/10). */
const SKEW_MARGIN_S = 0.5;

const FAKETIME_LIBS = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];

/** The environment that moves one process's wall clock by `offsetS` (Debian's libfaketime). */
export function faketimeEnv(offsetS: number): Record<string, string> {
  const lib = FAKETIME_LIBS.find((p) => existsSync(p));
  if (!lib) throw new Error("libfaketime not found: install Debian's faketime (apt-get install faketime)");
  return {
    LD_PRELOAD: lib,
    FAKETIME: `${offsetS >= 0 ? '+' : ''}${offsetS}`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    // The recording handler takes it off the times it logs, so runs compare on one clock.
    CHAOS_CLOCK_OFFSET_MS: String(Math.round(offsetS * 1000)),
  };
}

/**
 * Spawns one more worker whose DynamoDB or SQS goes through a proxy of its own (closed when the
 * scenario ends), waits until it is ready and returns that proxy.
 */
async function victim(
  ctx: FaultContext,
  service: 'dynamodb' | 'sqs',
  extraEnv: Record<string, string> = {},
): Promise<FaultProxy> {
  const port = service === 'dynamodb' ? ctx.dynamo.port : ctx.fauxqs.port;
  const proxy = await startProxy(port);
  ctx.onEnd(() => proxy.close());
  const variable = service === 'dynamodb' ? 'AWS_ENDPOINT_URL_DYNAMODB' : 'AWS_ENDPOINT_URL_SQS';
  const w = await ctx.fleet.spawn({ [variable]: proxy.url, ...extraEnv });
  await ctx.fleet.allReady(60_000);
  ctx.note(`victim ${w.name} up, its ${service} through its own proxy`);
  return proxy;
}

/** Cuts the victim's proxy (`mode`) for `ms`, a quarter into the load. */
async function cut(
  ctx: FaultContext,
  proxy: FaultProxy,
  mode: ProxyMode,
  ms: number,
  what: string,
): Promise<void> {
  const w = await window(
    ctx,
    () => proxy.set(mode),
    () => proxy.set({ kind: 'pass' }),
    ms,
  );
  ctx.note(`${what}: ${mode.kind} for ${w.to - w.from} ms`);
}

/** The per-request rule set for `ms` (the whole load by default), then pass again. */
async function httpWindow(
  ctx: FaultContext,
  target: 'sqs' | 'dynamodb',
  rule: Parameters<FaultContext['sqsHttp']['set']>[0],
  ms: number,
): Promise<void> {
  const proxy = target === 'sqs' ? ctx.sqsHttp : ctx.dynamoHttp;
  proxy.set(rule);
  const from = Date.now();
  try {
    await pause(ms);
  } finally {
    const counts = { ...proxy.counts };
    proxy.set(PASS);
    ctx.note(`${target} requests for ${Date.now() - from} ms: ${JSON.stringify(counts)}`);
  }
}

const cutOneMs = (form: Form) => (form.name === 'short' ? 12_000 : 30_000);
const sqsCutMs = (form: Form) => (form.name === 'short' ? 15_000 : 60_000);
const half = (form: Form) => Math.round(form.messages / 2);
const quarter = (form: Form) => Math.round(form.messages / 4);

export const FAULT_SCENARIOS: readonly Scenario[] = [
  {
    name: 'dynamodb-throttle',
    injects:
      'DynamoDB answers 35 % of requests 400 (ProvisionedThroughputExceededException / ThrottlingException) and 10 % 500, itself, through the load; poison mixed in',
    via: 'http',
    poison: true,
    env: POISON_ENV,
    extraRuns: 'none',
    fault: (ctx) =>
      httpWindow(ctx, 'dynamodb', dynamoThrottle({ throttled: 0.35, errors: 0.1 }), ctx.form.loadMs),
  },
  {
    name: 'dynamodb-applied-500',
    injects:
      'PutItem/UpdateItem applied by DynamoDB, then 15 % answered 500 and 5 % not answered (past DYNAMODB_REQUEST_TIMEOUT); poison mixed in',
    via: 'http',
    poison: true,
    env: POISON_ENV,
    extraRuns: 'none',
    fault: (ctx) =>
      httpWindow(ctx, 'dynamodb', dynamoAppliedThenFail({ answered500: 0.15, hang: 0.05 }), ctx.form.loadMs),
  },
  {
    name: 'sqs-errors',
    injects:
      'SQS answers 10 % of requests 500/503 and fails 25 % of DeleteMessageBatch / ChangeMessageVisibilityBatch entries; every delete fails for 8 s; poison mixed in',
    via: 'http',
    poison: true,
    env: POISON_ENV,
    extraRuns: 'none',
    fault: async (ctx) => {
      const from = Date.now() + Math.round(ctx.form.loadMs / 2);
      const down = { from, to: from + 8000 };
      const rule = sqsErrors({
        errors: 0.1,
        failedEntries: 0.25,
        deletesDown: () => Date.now() >= down.from && Date.now() < down.to,
      });
      await httpWindow(ctx, 'sqs', rule, ctx.form.loadMs + 4000);
      ctx.note('every delete failed for 8000 ms from the middle of the load');
    },
  },
  {
    name: 'dynamodb-cut-one',
    injects:
      "one worker's DynamoDB stalled 12 s (30 s long), past the 5 s visibility timeout, its own proxy; two healthy workers; 2 s handlers",
    workers: 2,
    messages: half,
    env: { CHAOS_HANDLER_MS: '2000' },
    extraRuns: 'retries',
    fault: async (ctx) => {
      const proxy = await victim(ctx, 'dynamodb');
      await cut(ctx, proxy, { kind: 'stall' }, cutOneMs(ctx.form), "the victim's DynamoDB");
    },
  },
  {
    name: 'sqs-cut-one',
    injects:
      "one worker's SQS stalled for 15 s (60 s long), its own proxy, DynamoDB healthy; two healthy workers; 6 s handlers living on renewals; poison mixed in",
    workers: 2,
    messages: quarter,
    poison: true,
    // Poison handlers short: an always-failing key needs four receives before SQS's redrive.
    env: { ...POISON_ENV, CHAOS_HANDLER_MS: LONG_HANDLER_MS, CHAOS_POISON_HANDLER_MS: '150' },
    extraRuns: 'none',
    fault: async (ctx) => {
      const proxy = await victim(ctx, 'sqs');
      await cut(ctx, proxy, { kind: 'stall' }, sqsCutMs(ctx.form), "the victim's SQS");
    },
  },
  {
    name: 'slow-store',
    injects:
      'every DynamoDB answer 2 s late (under DYNAMODB_REQUEST_TIMEOUT 3 s) through the load, 6 s handlers living on renewals',
    messages: quarter,
    env: { CHAOS_HANDLER_MS: LONG_HANDLER_MS },
    extraRuns: 'none',
    fault: async (ctx) => {
      const w = await window(
        ctx,
        () => ctx.dynamoProxy.set({ kind: 'delay', ms: 2000 }),
        () => ctx.dynamoProxy.set({ kind: 'pass' }),
        ctx.form.loadMs,
      );
      ctx.note(`DynamoDB replies delayed 2000 ms for ${w.to - w.from} ms`);
    },
  },
  {
    name: 'clock-skew',
    injects: `one worker's clock ${SKEW_MARGIN_S - 0.05} s behind (faketime, within LEASE_CLOCK_SKEW ${SKEW_MARGIN_S} s) and its DynamoDB stalled past its leases; 6 s handlers`,
    workers: 2,
    messages: quarter,
    env: { CHAOS_HANDLER_MS: LONG_HANDLER_MS },
    extraRuns: 'retries',
    fault: async (ctx) => {
      const proxy = await victim(ctx, 'dynamodb', faketimeEnv(-(SKEW_MARGIN_S - 0.05)));
      await cut(ctx, proxy, { kind: 'stall' }, cutOneMs(ctx.form), "the skewed victim's DynamoDB");
    },
  },
  {
    name: 'clock-skew-past',
    injects:
      "one worker's clock 2 s ahead (faketime; past 2 x LEASE_CLOCK_SKEW, well under the nearly V = 5 s that renewed leases tolerate), healthy store, 6 s handlers living on renewals",
    workers: 2,
    messages: quarter,
    env: { CHAOS_HANDLER_MS: LONG_HANDLER_MS },
    extraRuns: 'none',
    fault: async (ctx) => {
      const w = await ctx.fleet.spawn(faketimeEnv(2));
      await ctx.fleet.allReady(60_000);
      ctx.note(`${w.name} runs 2 s ahead`);
    },
  },
];
