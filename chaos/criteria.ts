/**
 * The PASS/FAIL criteria of a scenario, from the counters in counters.ts: pure, so
 * test/unit/chaos-counters.test.ts can feed them synthetic observations and see each one FAIL.
 */
import {
  badTermExits,
  bootTermExits,
  checkDeadLetters,
  countRuns,
  falseLeaseLost,
  fenceRegressions,
  findOverlaps,
  lostKeys,
  permanentRunsNotOnce,
  readyThroughOutage,
  readyTransitions,
  runsAfterSuccess,
  type DeadLetter,
  type Exit,
  type LeaseLostLine,
  type ReadySample,
  type RecordState,
  type Run,
} from './counters.js';

/** The DeadLetterReason of a PermanentError: those keys' handlers must run exactly once. */
export const PERMANENT_REASON = 'PERMANENT_ERROR';

export interface Criterion {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

export function criterion(name: string, pass: boolean, detail: string): Criterion {
  return { name, pass, detail };
}

/** A short list for a detail column: the first few items and how many more. */
export function sample(items: readonly string[], n = 3): string {
  if (items.length === 0) return 'none';
  const head = items.slice(0, n).join(', ');
  return items.length > n ? `${head} (+${items.length - n} more)` : head;
}

/** Everything a scenario observed, gathered by the harness. */
export interface Observation {
  readonly runs: readonly Run[];
  /** Keys that must be handled exactly once. */
  readonly goodKeys: readonly string[];
  /** Poison keys and the DeadLetterReason each must arrive with. */
  readonly poison: ReadonlyMap<string, string>;
  readonly deadLetters: readonly DeadLetter[];
  /** Messages still in the main queue (visible or in flight) when the scenario ended. */
  readonly leftInQueue: number;
  readonly inProgressRecords: number;
  readonly readySamples: readonly ReadySample[];
  readonly exits: readonly Exit[];
  /** Messages the killed workers held (received, not settled) when SIGKILL hit them. */
  readonly inFlightAtKills: number;
  /** Windows in which /readyz must turn 503 (and 200 after). */
  readonly outages: readonly { from: number; to: number }[];
  readonly endedAt: number;
  /** The workers' `lease_lost` outcome lines. */
  readonly leaseLost: readonly LeaseLostLine[];
  /** The namespace's records at the end, by key. */
  readonly records: ReadonlyMap<string, RecordState>;
  /** SIGKILLed workers: pid -> when the process was seen dead. */
  readonly killedAt: ReadonlyMap<number, number>;
}

export interface Expectations {
  /**
   * `none`: not one extra run; `kills`: at most the messages in flight at the SIGKILLs;
   * `retries`: runs after an aborted or failed run are expected (leases lost on purpose), but
   * not one run after a successful one.
   */
  readonly extraRuns: 'none' | 'kills' | 'retries';
  /** Longest a SIGTERM may take to end the process with code 0 (SHUTDOWN_TIMEOUT + margin). */
  readonly termExitLimitMs: number;
}

export interface Counters {
  readonly keys: number;
  readonly lost: number;
  readonly lostKeys: string[];
  readonly runs: number;
  readonly runsPerKey: Record<string, number>;
  readonly extraRuns: number;
  readonly extraRunsAllowed: number | null;
  /** Runs of a key after it had been handled successfully. */
  readonly runsAfterSuccess: number;
  /** Runs that ended with their signal aborted (lease lost, shutdown, timeout). */
  readonly abortedRuns: number;
  readonly overlaps: number;
  readonly overlapKeys: string[];
  readonly fenceRegressions: number;
  readonly inProgressRecords: number;
  readonly leftInQueue: number;
  readonly deadLettered: Record<string, number>;
  readonly readyTransitions: number;
  readonly exits: Record<string, number>;
  readonly termExitMaxMs: number | null;
  /** SIGTERMs during Node's boot that ended the process by signal (accepted). */
  readonly termDuringBoot: number;
  readonly killedRuns: number;
  /** `lease_lost` outcomes logged, and those whose own claim had completed the key. */
  readonly leaseLost: number;
  readonly falseLeaseLost: number;
  /** PermanentError keys whose handler ran other than once. */
  readonly permanentNotOnce: number;
}

/** The counters and the PASS/FAIL criteria of one scenario. */
export function evaluate(o: Observation, x: Expectations): { counters: Counters; criteria: Criterion[] } {
  const lost = lostKeys(
    [...o.goodKeys, ...o.poison.keys()],
    o.runs,
    o.deadLetters.map((d) => d.key ?? ''),
  );
  const counts = countRuns(o.runs, o.goodKeys);
  const overlaps = findOverlaps(o.runs);
  const fences = fenceRegressions(o.runs);
  const dlq = checkDeadLetters(o.deadLetters, o.poison);
  const allowed = x.extraRuns === 'none' ? 0 : x.extraRuns === 'kills' ? o.inFlightAtKills : null;
  const good = new Set(o.goodKeys);
  const afterSuccess = runsAfterSuccess(
    o.runs.filter((r) => good.has(r.key)),
    o.killedAt,
  );
  const permanentKeys = [...o.poison].filter(([, reason]) => reason === PERMANENT_REASON).map(([k]) => k);
  const permanent = permanentRunsNotOnce(o.runs, permanentKeys, x.extraRuns !== 'none');
  const falseLost = falseLeaseLost(o.leaseLost, o.records);
  const badExits = badTermExits(o.exits, x.termExitLimitMs);
  const termMs = o.exits.filter((e) => e.signal === 'SIGTERM' && e.ms !== null).map((e) => e.ms as number);
  const exitsByCode: Record<string, number> = {};
  for (const e of o.exits) {
    const label = `${e.signal}->${e.code ?? e.bySignal ?? 'running'}`;
    exitsByCode[label] = (exitsByCode[label] ?? 0) + 1;
  }
  const counters: Counters = {
    keys: o.goodKeys.length + o.poison.size,
    lost: lost.length,
    lostKeys: lost.slice(0, 20),
    runs: o.runs.length,
    runsPerKey: counts.runsPerKey,
    extraRuns: counts.extraRuns,
    extraRunsAllowed: allowed,
    runsAfterSuccess: afterSuccess.length,
    abortedRuns: o.runs.filter((r) => r.outcome === 'aborted').length,
    overlaps: overlaps.length,
    overlapKeys: overlaps.map((v) => v.key).slice(0, 20),
    fenceRegressions: fences.length,
    inProgressRecords: o.inProgressRecords,
    leftInQueue: o.leftInQueue,
    deadLettered: dlq.byReason,
    readyTransitions: readyTransitions(o.readySamples).length,
    exits: exitsByCode,
    termExitMaxMs: termMs.length === 0 ? null : Math.max(...termMs),
    termDuringBoot: bootTermExits(o.exits).length,
    killedRuns: o.runs.filter((r) => r.outcome === 'killed').length,
    leaseLost: o.leaseLost.length,
    falseLeaseLost: falseLost.length,
    permanentNotOnce: permanent.length,
  };
  const criteria: Criterion[] = [
    criterion('0 lost', lost.length === 0, `${lost.length} lost: ${sample(lost)}`),
    criterion(
      '0 overlapping runs of a key',
      overlaps.length === 0,
      `${overlaps.length} overlaps: ${sample(overlaps.map((v) => `${v.key} (pids ${v.first.pid}/${v.second.pid})`))}`,
    ),
    ...(allowed === null
      ? []
      : [
          criterion(
            x.extraRuns === 'none' ? '0 extra runs' : 'extra runs <= in flight at kills',
            counts.extraRuns <= allowed,
            `${counts.extraRuns} extra (allowed ${allowed}): ${sample(counts.keysRunMoreThanOnce)}`,
          ),
        ]),
    criterion(
      '0 handler runs after a success',
      afterSuccess.length === 0,
      `${afterSuccess.length} runs after success: ${sample(afterSuccess.map((r) => `${r.key} (pid ${r.pid})`))}; ` +
        `${counts.extraRuns} extra runs in all`,
    ),
    criterion(
      'fencing tokens grow',
      fences.length === 0,
      `${fences.length} runs with a fence not above the previous run's`,
    ),
    criterion(
      '0 records left IN_PROGRESS',
      o.inProgressRecords === 0,
      `${o.inProgressRecords} IN_PROGRESS: ${sample([...o.records].filter(([, r]) => r.status === 'IN_PROGRESS').map(([k]) => k))}`,
    ),
    ...deadLetterCriteria(o, dlq),
    criterion(
      'each PermanentError handler run once',
      permanent.length === 0,
      `${permanentKeys.length} PermanentError keys; ${permanent.length} not run once: ` +
        sample(permanent.map((p) => `${p.key} x${p.runs}`)),
    ),
    criterion(
      '0 false lease_lost',
      falseLost.length === 0,
      `${o.leaseLost.length} lease_lost outcomes logged, ${falseLost.length} of them for a claim that completed the key: ` +
        sample(falseLost.map((l) => `${l.key} fence ${l.fence ?? '?'} (${l.worker})`)),
    ),
    ...killCriteria(o, x, counters.killedRuns),
    ...exitCriteria(o, x, badExits, counters.termDuringBoot),
    ...readinessCriteria(o),
  ];
  return { counters, criteria };
}

function deadLetterCriteria(o: Observation, dlq: ReturnType<typeof checkDeadLetters>): Criterion[] {
  return [
    criterion(
      'each poison message in the DLQ exactly once',
      dlq.missing.length + dlq.duplicated.length === 0,
      `expected ${o.poison.size}; missing ${sample(dlq.missing)}; more than once ${sample(dlq.duplicated)}`,
    ),
    criterion(
      'dead letters as expected',
      dlq.wrongReason.length + dlq.unexpected.length === 0,
      `wrong reason ${sample(dlq.wrongReason)}; not poison ${sample(dlq.unexpected)}`,
    ),
  ];
}

/**
 * A kill scenario proves something only when its SIGKILLs cut work short: a kill that lands on an
 * idle worker leaves nothing to lose or to run twice, and every other criterion passes trivially.
 * Work in flight is what the killed workers held at the kill (messages received and not settled,
 * by their gauge) or the handler runs the kill cut short, summed over the scenario.
 */
export function killCriteria(o: Observation, x: Expectations, killedRuns: number): Criterion[] {
  if (x.extraRuns !== 'kills') return [];
  const kills = o.killedAt.size;
  return [
    criterion(
      'SIGKILLs hit work in flight',
      kills > 0 && (o.inFlightAtKills > 0 || killedRuns > 0),
      `${kills} SIGKILLs; ${o.inFlightAtKills} messages held at them; ${killedRuns} handler runs cut short`,
    ),
  ];
}

function exitCriteria(
  o: Observation,
  x: Expectations,
  badExits: readonly Exit[],
  duringBoot: number,
): Criterion[] {
  if (!o.exits.some((e) => e.signal === 'SIGTERM')) return [];
  return [
    criterion(
      `SIGTERM exits 0 within ${x.termExitLimitMs} ms`,
      badExits.length === 0,
      `${badExits.length} of ${o.exits.filter((e) => e.signal === 'SIGTERM').length} bad ` +
        `(${duringBoot} while Node was still booting, by signal, accepted): ` +
        sample(badExits.map((e) => `${e.worker} code=${e.code} signal=${e.bySignal} ${e.ms ?? '-'}ms`)),
    ),
  ];
}

function readinessCriteria(o: Observation): Criterion[] {
  return o.outages.map((outage) => {
    const r = readyThroughOutage(o.readySamples, outage, o.endedAt);
    return criterion(
      '/readyz 503 during the outage, 200 after',
      r.notUnready.length + r.notReadyAgain.length === 0,
      `never 503: ${sample(r.notUnready)}; not 200 after: ${sample(r.notReadyAgain)}`,
    );
  });
}
