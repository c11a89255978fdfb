/**
 * The fault-injection suite: `npm run chaos` (long form) or `npm run chaos -- --short` (CI).
 * Runs real worker processes (`node dist/main.js start`) against fauxqs and DynamoDB Local as
 * separate processes behind fault proxies, injects one fault per scenario, and checks from the
 * handler's run log, the drained queues, the table, /readyz and the exits that no message was
 * lost and no key ran twice at once. Prints PASS/FAIL per criterion, writes
 * chaos/results/latest.json, exits 1 on any FAIL (2 when the harness itself failed).
 *
 * Options: --short, --only name[,name], --keep-going is the default (every scenario runs).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { awsClients, drainDeadLetters, queueDepth, recordStates, sendMessages, type Aws } from './aws.js';
import { pairRuns, parseLeaseLostLines, parseRunLog, type LeaseLostLine } from './counters.js';
import { evaluate, type Counters, type Criterion } from './criteria.js';
import { FAULT_SCENARIOS } from './fault-scenarios.js';
import { Fleet } from './fleet.js';
import { PASS, startHttpProxy, type HttpFaultProxy } from './http-proxy.js';
import { ROOT, pause, runNode, startDynamo, startFauxqs, stopAll, type Emulator } from './processes.js';
import { startProxy, type FaultProxy } from './proxy.js';
import { markdown } from './report.js';
import { FORMS, POISON_KINDS, SCENARIOS as BASE_SCENARIOS, type Form, type Scenario } from './scenarios.js';

/** Every scenario, in the order they run. */
const SCENARIOS: readonly Scenario[] = [...BASE_SCENARIOS, ...FAULT_SCENARIOS];

const SHUTDOWN_TIMEOUT_S = 5;
/** docs/reliability.md, "Worker runtime": SHUTDOWN_TIMEOUT plus "a few seconds for the releases and the log flush". */
const EXIT_MARGIN_MS = 5000;
const VISIBILITY_S = 5;
const TABLE = 'chaos-idempotency';
const RESULTS = join(ROOT, 'chaos', 'results');

export interface ScenarioResult {
  readonly name: string;
  readonly injects: string;
  readonly durationMs: number;
  readonly notes: string[];
  readonly counters: Counters | undefined;
  readonly criteria: Criterion[];
  readonly error?: string;
}

interface Env {
  readonly form: Form;
  readonly aws: Aws;
  readonly fauxqs: Emulator;
  readonly dynamo: Emulator;
  readonly sqsProxy: FaultProxy;
  readonly dynamoProxy: FaultProxy;
  readonly sqsHttp: HttpFaultProxy;
  readonly dynamoHttp: HttpFaultProxy;
  readonly runId: string;
  readonly deadline: number;
}

function log(line: string): void {
  process.stderr.write(`chaos: ${line}\n`);
}

async function createQueue(
  env: Env,
  name: string,
  scenario: Scenario,
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const out = await runNode([join(ROOT, 'dist', 'main.js'), 'queue', 'create', '--name', name], {
    AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${env.fauxqs.port}`,
    SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_S),
    MAX_RECEIVE_COUNT: scenario.env?.MAX_RECEIVE_COUNT ?? '5',
    LOG_LEVEL: 'warn',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { queueUrl: string; dlqUrl: string };
}

function buildMessages(env: Env, scenario: Scenario) {
  const good = Array.from({ length: scenario.messages?.(env.form) ?? env.form.messages }, (_, i) => {
    const key = `k-${i}`;
    return { key, body: JSON.stringify({ n: i, key }) };
  });
  const poison = new Map<string, string>();
  const bad: { key: string; body: string }[] = [];
  if (scenario.poison) {
    for (const kind of POISON_KINDS) {
      for (let i = 0; i < env.form.poisonEach; i++) {
        bad.push({ key: `${kind.prefix}${i}`, body: kind.body(i) });
        poison.set(`${kind.prefix}${i}`, kind.reason);
      }
    }
  }
  // Poison spread among the good messages.
  const all = [...good];
  bad.forEach((m, i) => all.splice(Math.floor(((i + 1) * all.length) / (bad.length + 1)), 0, m));
  return { all, goodKeys: good.map((m) => m.key), poison };
}

/** Sends the messages in batches of ten, evenly over loadMs. */
async function paceLoad(
  env: Env,
  queueUrl: string,
  messages: { key: string; body: string }[],
): Promise<void> {
  const batches = Math.ceil(messages.length / 10);
  const started = Date.now();
  for (let b = 0; b < batches; b++) {
    const due = started + (b * env.form.loadMs) / batches;
    if (due > Date.now()) await pause(due - Date.now());
    await sendMessages(env.aws, queueUrl, messages.slice(b * 10, b * 10 + 10));
  }
}

async function runScenario(env: Env, scenario: Scenario, index: number): Promise<ScenarioResult> {
  const started = Date.now();
  const name = `chaos-${env.runId}-${index + 1}`;
  const dir = join(RESULTS, scenario.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const runLog = join(dir, 'runs.jsonl');
  writeFileSync(runLog, '');
  const notes: string[] = [];
  const note = (line: string) => {
    notes.push(`+${((Date.now() - started) / 1000).toFixed(1)}s ${line}`);
    log(`[${scenario.name}] ${line}`);
  };
  // Each scenario gets at most its share of what is left of the global deadline.
  const scenarioDeadline = Math.min(env.deadline, Date.now() + env.form.loadMs + env.form.settleMs + 90_000);
  const expired = () => Date.now() > scenarioDeadline;

  const { queueUrl, dlqUrl } = await createQueue(env, name, scenario);
  const termLimitMs = SHUTDOWN_TIMEOUT_S * 1000 + EXIT_MARGIN_MS;
  const fleet = new Fleet(
    {
      SQS_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_SQS: scenario.via === 'http' ? env.sqsHttp.url : env.sqsProxy.url,
      AWS_ENDPOINT_URL_DYNAMODB: scenario.via === 'http' ? env.dynamoHttp.url : env.dynamoProxy.url,
      IDEMPOTENCY_TABLE: TABLE,
      IDEMPOTENCY_NAMESPACE: name,
      HANDLER: join(ROOT, 'chaos', 'recording-handler.mjs'),
      CHAOS_RUN_LOG: runLog,
      CHAOS_HANDLER_MS: String(env.form.handlerMs),
      HTTP_HOST: '127.0.0.1',
      SQS_WAIT_TIME_SECONDS: '1',
      SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_S),
      SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
      HANDLER_TIMEOUT: '30',
      MAX_IN_FLIGHT: String(env.form.maxInFlight),
      RETRY_BACKOFF_BASE: '0.5',
      RETRY_BACKOFF_MAX: '2',
      QUEUE_METRICS_INTERVAL: '0',
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'info',
      ...(scenario.poison ? { MESSAGE_SCHEMA: join(ROOT, 'chaos', 'schema.json') } : {}),
      ...scenario.env,
    },
    dir,
  );
  const { all, goodKeys, poison } = buildMessages(env, scenario);
  const outages: { from: number; to: number }[] = [];
  const atEnd: (() => Promise<void>)[] = [];
  try {
    for (let i = 0; i < (scenario.workers ?? env.form.workers); i++) await fleet.spawn();
    await fleet.allReady(60_000);
    fleet.startPolling();
    note(`${fleet.live().length} workers ready; ${all.length} messages over ${env.form.loadMs} ms`);

    await Promise.all([
      paceLoad(env, queueUrl, all),
      scenario.fault({
        form: env.form,
        fleet,
        sqsProxy: env.sqsProxy,
        dynamoProxy: env.dynamoProxy,
        dynamo: env.dynamo,
        fauxqs: env.fauxqs,
        sqsHttp: env.sqsHttp,
        dynamoHttp: env.dynamoHttp,
        onEnd: (fn) => atEnd.push(fn),
        termLimitMs,
        outages,
        note,
        expired,
      }),
    ]);
    note('load sent and faults over; waiting for the queue to drain');

    // Done when every good key has a successful run and the main queue is empty (poison moved).
    const settleBy = Math.min(scenarioDeadline, Date.now() + env.form.settleMs);
    for (;;) {
      const okKeys = new Set(
        parseRunLog(readFileSync(runLog, 'utf8'))
          .filter((e) => e.type === 'end' && e.outcome === 'ok')
          .map((e) => e.key),
      );
      const depth = await queueDepth(env.aws, queueUrl).catch(() => -1);
      if (depth === 0 && goodKeys.every((k) => okKeys.has(k))) break;
      if (Date.now() > settleBy) {
        note(
          `not drained by the deadline: ${depth} in the queue, ${goodKeys.length - okKeys.size} keys without a successful run`,
        );
        break;
      }
      await pause(500);
    }
    // A last readiness sample after the outage, then the final SIGTERMs.
    await pause(600);
  } finally {
    await fleet.stopAll(termLimitMs + 10_000);
    await env.sqsProxy.set({ kind: 'pass' });
    await env.dynamoProxy.set({ kind: 'pass' });
    env.sqsHttp.set(PASS);
    env.dynamoHttp.set(PASS);
    for (const fn of atEnd) await fn().catch(() => undefined);
  }
  const endedAt = Date.now();
  const runs = pairRuns(parseRunLog(readFileSync(runLog, 'utf8')), fleet.deaths, endedAt);
  const deadLetters = await drainDeadLetters(env.aws, dlqUrl);
  const leftInQueue = await queueDepth(env.aws, queueUrl);
  const { statuses, records } = await recordStates(env.aws, TABLE, name);
  const killedRunsByPid = new Map<number, number>();
  for (const r of runs)
    if (r.outcome === 'killed') killedRunsByPid.set(r.pid, (killedRunsByPid.get(r.pid) ?? 0) + 1);
  const inFlightAtKills = fleet.kills.reduce(
    (sum, k) => sum + Math.max(k.inFlight, killedRunsByPid.get(k.pid) ?? 0),
    0,
  );

  const { counters, criteria } = evaluate(
    {
      runs,
      goodKeys,
      poison,
      deadLetters,
      leftInQueue,
      inProgressRecords: statuses.IN_PROGRESS ?? 0,
      readySamples: fleet.readySamples,
      exits: fleet.exits,
      inFlightAtKills,
      outages,
      endedAt,
      leaseLost: leaseLostLines(dir),
      records,
      killedAt: new Map(
        fleet.kills.flatMap((k) => {
          const at = fleet.deaths.get(k.pid);
          return at === undefined ? [] : [[k.pid, at] as const];
        }),
      ),
    },
    { extraRuns: scenario.extraRuns, termExitLimitMs: termLimitMs },
  );
  writeFileSync(join(dir, 'readyz.jsonl'), fleet.readySamples.map((r) => JSON.stringify(r)).join('\n'));
  notes.push(`records: ${JSON.stringify(statuses)}`);
  return {
    name: scenario.name,
    injects: scenario.injects,
    durationMs: Date.now() - started,
    notes,
    counters,
    criteria,
  };
}

/** The `lease_lost` outcome lines of every worker log of a scenario (w1.log, w2.log, ...). */
function leaseLostLines(dir: string): LeaseLostLine[] {
  return readdirSync(dir)
    .filter((f) => /^w\d+\.log$/.test(f))
    .flatMap((f) => parseLeaseLostLines(readFileSync(join(dir, f), 'utf8'), f.replace(/\.log$/, '')));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { short: { type: 'boolean', default: false }, only: { type: 'string' } },
    strict: true,
  });
  const form = FORMS[values.short ? 'short' : 'long'];
  const only = values.only?.split(',');
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const globalMs = form.name === 'short' ? 14 * 60_000 : 60 * 60_000;
  const startedAt = Date.now();
  const deadline = startedAt + globalMs;
  // The global deadline: whatever hangs, the harness stops everything it started and exits.
  const guard = setTimeout(() => {
    log(`global deadline of ${globalMs} ms passed: stopping`);
    void stopAll().finally(() => process.exit(2));
  }, globalMs + 60_000);
  guard.unref();
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interrupted = true;
      log(`${sig}: stopping every process started`);
      void stopAll().finally(() => process.exit(130));
    });
  }

  mkdirSync(RESULTS, { recursive: true });
  const results: ScenarioResult[] = [];
  let emulators: string;
  let aws: Aws | undefined;
  const proxies: { close(): Promise<void> }[] = [];
  try {
    const fauxqs = await startFauxqs();
    const dynamo = await startDynamo(join(RESULTS, 'dynamodb.log'), log);
    emulators = `fauxqs (process, port ${fauxqs.port}); ${dynamo.name} (process, port ${dynamo.port})`;
    log(`emulators: ${emulators}`);
    const sqsProxy = await startProxy(fauxqs.port);
    const dynamoProxy = await startProxy(dynamo.port);
    const sqsHttp = await startHttpProxy(fauxqs.port);
    const dynamoHttp = await startHttpProxy(dynamo.port);
    proxies.push(sqsProxy, dynamoProxy, sqsHttp, dynamoHttp);
    aws = awsClients(fauxqs.port, dynamo.port);
    await runNode([join(ROOT, 'dist', 'main.js'), 'table', 'create'], {
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${dynamo.port}`,
      IDEMPOTENCY_TABLE: TABLE,
      LOG_LEVEL: 'warn',
    });
    const env: Env = {
      form,
      aws,
      fauxqs,
      dynamo,
      sqsProxy,
      dynamoProxy,
      sqsHttp,
      dynamoHttp,
      runId: startedAt.toString(36),
      deadline,
    };
    for (const [i, scenario] of scenarios.entries()) {
      if (interrupted) break;
      if (Date.now() > deadline) {
        results.push({
          name: scenario.name,
          injects: scenario.injects,
          durationMs: 0,
          notes: [],
          counters: undefined,
          criteria: [],
          error: 'skipped: global deadline passed',
        });
        continue;
      }
      log(`scenario ${i + 1}/${scenarios.length}: ${scenario.name} (${scenario.injects})`);
      try {
        results.push(await runScenario(env, scenario, SCENARIOS.indexOf(scenario)));
      } catch (error) {
        log(`[${scenario.name}] harness error: ${String(error)}`);
        results.push({
          name: scenario.name,
          injects: scenario.injects,
          durationMs: 0,
          notes: [],
          counters: undefined,
          criteria: [],
          error: String(error),
        });
      }
    }
  } finally {
    aws?.close();
    for (const p of proxies) await p.close();
    await stopAll();
    clearTimeout(guard);
  }

  const failed = results.some((r) => r.error !== undefined || r.criteria.some((c) => !c.pass));
  const report = {
    form: form.name,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
    emulators,
    settings: {
      form,
      visibilityTimeoutS: VISIBILITY_S,
      shutdownTimeoutS: SHUTDOWN_TIMEOUT_S,
      exitMarginMs: EXIT_MARGIN_MS,
    },
    pass: !failed,
    scenarios: results,
  };
  // Formatted as prettier would: `prettier --check .` (npm run lint) sees this file too.
  const latest = join(RESULTS, 'latest.json');
  const style = await resolveConfig(latest);
  writeFileSync(latest, await format(JSON.stringify(report), { ...style, filepath: latest }));
  process.stdout.write(markdown(report));
  process.stdout.write(`\nreport: chaos/results/latest.json; logs: chaos/results/<scenario>/\n`);
  if (interrupted) return 130;
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    log(`harness failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    await stopAll();
    process.exit(2);
  },
);
