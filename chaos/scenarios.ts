import type { Emulator } from './processes.js';
import { pause } from './processes.js';
import type { Fleet, Worker } from './fleet.js';
import type { HttpFaultProxy } from './http-proxy.js';
import type { FaultProxy } from './proxy.js';

/** Sizes of a run: `--short` for CI, the long form for a soak. */
export interface Form {
  readonly name: 'short' | 'long';
  readonly workers: number;
  readonly messages: number;
  /** How long the paced load lasts, ms. */
  readonly loadMs: number;
  readonly maxInFlight: number;
  readonly handlerMs: number;
  /** Between restarts in the restart scenarios, ms. */
  readonly restartEveryMs: number;
  /** Length of each outage, stall or slow window, ms. */
  readonly faultMs: number;
  /**
   * A DynamoDB stall or slow window that must show on /readyz: longer than three store calls
   * using all their attempts (docs/operations.md, "Health": about 10 s), ms.
   */
  readonly storeOutageMs: number;
  readonly startupKills: number;
  /** Poison messages of each kind. */
  readonly poisonEach: number;
  /** After the load: how long the workers get to finish everything, ms. */
  readonly settleMs: number;
}

export const FORMS: Record<'short' | 'long', Form> = {
  short: {
    name: 'short',
    workers: 3,
    messages: 240,
    loadMs: 10_000,
    maxInFlight: 8,
    handlerMs: 150,
    restartEveryMs: 2500,
    faultMs: 9000,
    storeOutageMs: 15_000,
    startupKills: 6,
    poisonEach: 5,
    settleMs: 60_000,
  },
  long: {
    name: 'long',
    workers: 3,
    messages: 2400,
    loadMs: 75_000,
    maxInFlight: 16,
    handlerMs: 150,
    restartEveryMs: 5000,
    faultMs: 20_000,
    storeOutageMs: 25_000,
    startupKills: 20,
    poisonEach: 20,
    settleMs: 120_000,
  },
};

/** What a fault function gets. */
export interface FaultContext {
  readonly form: Form;
  readonly fleet: Fleet;
  readonly sqsProxy: FaultProxy;
  readonly dynamoProxy: FaultProxy;
  readonly dynamo: Emulator;
  readonly fauxqs: Emulator;
  /** The per-request proxies (scenarios with `via: 'http'` point the workers at them). */
  readonly sqsHttp: HttpFaultProxy;
  readonly dynamoHttp: HttpFaultProxy;
  /** Runs `fn` once the scenario's workers have stopped (a victim's own proxy is closed there). */
  readonly onEnd: (fn: () => Promise<void>) => void;
  /** SIGTERM's allowed time to exit: SHUTDOWN_TIMEOUT + margin. */
  readonly termLimitMs: number;
  /** Windows in which /readyz must turn 503. */
  readonly outages: { from: number; to: number }[];
  /** Lines for the report: what was injected when. */
  readonly note: (line: string) => void;
  /** True once the scenario's own deadline passed: faults stop injecting. */
  readonly expired: () => boolean;
}

export interface Scenario {
  readonly name: string;
  readonly injects: string;
  readonly env?: Record<string, string>;
  /**
   * `kills`: a SIGKILL may re-run the messages in flight at it; `retries`: runs aborted on
   * purpose are retried, but no key runs again after a success.
   */
  readonly extraRuns: 'none' | 'kills' | 'retries';
  /** Good messages, when not the form's number. */
  readonly messages?: (form: Form) => number;
  /** Poison messages in the load (scenario 7). */
  readonly poison?: boolean;
  /** Workers besides the fault's own (start-up kills use two steady workers). */
  readonly workers?: number;
  /** `http`: the workers reach both emulators through the per-request proxies (http-proxy.ts). */
  readonly via?: 'tcp' | 'http';
  readonly fault: (ctx: FaultContext) => Promise<void>;
}

/** Waits (at most `maxMs`) until the worker's in-flight gauge shows messages it holds. */
async function whileIdle(ctx: FaultContext, w: Worker, maxMs: number): Promise<void> {
  const end = Date.now() + maxMs;
  while (Date.now() < end && !ctx.expired() && (await ctx.fleet.inFlight(w)) === 0) await pause(20);
}

/** Restarts one worker at a time, round robin, while the load runs. */
async function restarts(ctx: FaultContext, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const end = Date.now() + ctx.form.loadMs;
  let i = 0;
  while (Date.now() + ctx.form.restartEveryMs < end && !ctx.expired()) {
    await pause(ctx.form.restartEveryMs);
    const live = ctx.fleet.live();
    const victim = live[i % live.length];
    i += 1;
    if (!victim) break;
    // A SIGKILL of an idle worker proves nothing (criteria.ts, killCriteria): wait until the
    // victim holds messages, so the kill cuts work short.
    if (signal === 'SIGKILL') await whileIdle(ctx, victim, ctx.form.restartEveryMs);
    const exit = await ctx.fleet.signal(victim, signal, ctx.termLimitMs + 10_000);
    ctx.note(`${signal} ${victim.name}: ${exit.code ?? exit.bySignal} after ${exit.ms ?? '-'} ms`);
    await ctx.fleet.spawn();
  }
}

/** Holds a fault for `ms` (default faultMs), starting a quarter into the load. */
export async function window(
  ctx: FaultContext,
  on: () => Promise<void>,
  off: () => Promise<void>,
  ms = ctx.form.faultMs,
): Promise<{ from: number; to: number }> {
  await pause(Math.round(ctx.form.loadMs / 4));
  const from = Date.now();
  await on();
  try {
    await pause(ms);
  } finally {
    await off();
  }
  return { from, to: Date.now() };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'sigterm-restarts',
    injects: 'one worker at a time gets SIGTERM under load and is replaced',
    extraRuns: 'none',
    fault: (ctx) => restarts(ctx, 'SIGTERM'),
  },
  {
    name: 'sigkill-restarts',
    injects: 'one worker at a time gets SIGKILL under load and is replaced',
    extraRuns: 'kills',
    fault: (ctx) => restarts(ctx, 'SIGKILL'),
  },
  {
    name: 'dynamodb-stall',
    injects: 'the DynamoDB process is frozen (SIGSTOP) past the visibility timeout, then SIGCONT',
    extraRuns: 'none',
    fault: async (ctx) => {
      const pid = ctx.dynamo.child.pid;
      const w = await window(
        ctx,
        async () => void process.kill(pid, 'SIGSTOP'),
        async () => void process.kill(pid, 'SIGCONT'),
        ctx.form.storeOutageMs,
      );
      ctx.outages.push(w);
      ctx.note(`${ctx.dynamo.name} stopped for ${w.to - w.from} ms`);
    },
  },
  {
    name: 'slow-dynamodb',
    injects: 'every DynamoDB reply delayed 7 s (visibility timeout 5 s) for a while',
    extraRuns: 'none',
    fault: async (ctx) => {
      const w = await window(
        ctx,
        () => ctx.dynamoProxy.set({ kind: 'delay', ms: 7000 }),
        () => ctx.dynamoProxy.set({ kind: 'pass' }),
        ctx.form.storeOutageMs,
      );
      ctx.outages.push(w);
      ctx.note(`DynamoDB replies delayed 7000 ms for ${w.to - w.from} ms`);
    },
  },
  {
    name: 'sqs-refused',
    injects: 'SQS refuses connections (listener closed, open connections cut) for a while',
    extraRuns: 'none',
    fault: async (ctx) => {
      const w = await window(
        ctx,
        () => ctx.sqsProxy.set({ kind: 'refuse' }),
        () => ctx.sqsProxy.set({ kind: 'pass' }),
      );
      ctx.outages.push(w);
      ctx.note(`SQS refused connections for ${w.to - w.from} ms`);
    },
  },
  {
    name: 'startup-sigterm',
    injects: 'extra workers get SIGTERM at random moments of their start-up (0-1.5 s), under load',
    workers: 2,
    extraRuns: 'none',
    fault: async (ctx) => {
      for (let i = 0; i < ctx.form.startupKills && !ctx.expired(); i++) {
        // The first two in Node's first moments (before any JavaScript ran, and while modules
        // load), the rest anywhere in the start-up.
        const planned = i === 0 ? 0 : i === 1 ? 40 : Math.floor(Math.random() * 1500);
        const w = await ctx.fleet.spawn({}, true);
        if (planned > 0) await pause(planned);
        const exit = await ctx.fleet.signal(w, 'SIGTERM', ctx.termLimitMs + 10_000);
        ctx.note(
          `SIGTERM ${w.name} ${exit.afterSpawnMs} ms after spawn (planned ${planned}` +
            `${exit.duringBoot ? ', Node still booting' : ''}): ` +
            `${exit.code ?? exit.bySignal} after ${exit.ms ?? '-'} ms`,
        );
      }
    },
  },
  {
    name: 'lease-stall',
    injects:
      'handlers of 6 s (longer than the 5 s visibility timeout: they live on renewals) while DynamoDB is frozen (SIGSTOP) past their leases',
    env: { CHAOS_HANDLER_MS: '6000' },
    messages: (form) => Math.round(form.messages / 4),
    extraRuns: 'retries',
    fault: async (ctx) => {
      const pid = ctx.dynamo.child.pid;
      const w = await window(
        ctx,
        async () => void process.kill(pid, 'SIGSTOP'),
        async () => void process.kill(pid, 'SIGCONT'),
      );
      ctx.note(`${ctx.dynamo.name} stopped for ${w.to - w.from} ms`);
    },
  },
  {
    name: 'poison',
    injects:
      'non-JSON bodies and schema violations (MESSAGE_SCHEMA), PermanentError keys, always-throwing keys, among good messages',
    env: { MAX_RECEIVE_COUNT: '3', RETRY_BACKOFF_BASE: '0.2', RETRY_BACKOFF_MAX: '1' },
    poison: true,
    extraRuns: 'none',
    fault: async () => {},
  },
];

/** A poison message's key prefix, body and the DeadLetterReason it must arrive with. */
export const POISON_KINDS = [
  { prefix: 'badjson-', body: (i: number) => `not json {${i}`, reason: 'INVALID_JSON' },
  { prefix: 'schema-', body: (i: number) => JSON.stringify({ wrong: i }), reason: 'SCHEMA_VIOLATION' },
  {
    prefix: 'permanent-',
    body: (i: number) => JSON.stringify({ n: i, key: `permanent-${i}` }),
    reason: 'PERMANENT_ERROR',
  },
  {
    prefix: 'throw-',
    body: (i: number) => JSON.stringify({ n: i, key: `throw-${i}` }),
    reason: 'SQS_REDRIVE',
  },
] as const;
