/**
 * The chaos suite's counters: pure functions of what a scenario observed (the recording
 * handler's run log, the drained queues, the table, /readyz samples, exits); criteria.ts turns
 * them into PASS/FAIL. No I/O, so test/unit/chaos-counters.test.ts feeds them synthetic logs.
 */

/** One line of the run log written by chaos/recording-handler.mjs. */
export interface RunEvent {
  readonly type: 'start' | 'end';
  readonly run: string;
  readonly key: string;
  readonly pid: number;
  readonly fence: number;
  readonly attempt: number;
  readonly at: number;
  /** Only on end lines. */
  readonly outcome?: RunOutcome;
}

export type RunOutcome = 'ok' | 'aborted' | 'permanent' | 'error';

/** A handler run: a start line and, unless its process died first, an end line. */
export interface Run {
  readonly run: string;
  readonly key: string;
  readonly pid: number;
  readonly fence: number;
  readonly attempt: number;
  readonly start: number;
  /** The end line's time; for a process that died mid-run, its death; else the observation's end. */
  readonly end: number;
  /** `killed`: the process died before the run ended; `open`: no end seen by the end of the scenario. */
  readonly outcome: RunOutcome | 'killed' | 'open';
}

/** Parses the JSON lines of a run log; a torn last line (a process killed mid-write) is skipped. */
export function parseRunLog(text: string): RunEvent[] {
  const events: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      events.push(JSON.parse(line) as RunEvent);
    } catch {
      // a partial line of a killed process
    }
  }
  return events;
}

/** Pairs start and end lines into runs. `deaths`: pid -> when the process was seen dead. */
export function pairRuns(
  events: readonly RunEvent[],
  deaths: ReadonlyMap<number, number>,
  observedUntil: number,
): Run[] {
  const ends = new Map<string, RunEvent>();
  for (const e of events) if (e.type === 'end') ends.set(e.run, e);
  const runs: Run[] = [];
  for (const s of events) {
    if (s.type !== 'start') continue;
    const end = ends.get(s.run);
    const death = deaths.get(s.pid);
    const base = { run: s.run, key: s.key, pid: s.pid, fence: s.fence, attempt: s.attempt, start: s.at };
    if (end) runs.push({ ...base, end: end.at, outcome: end.outcome ?? 'ok' });
    else if (death !== undefined) runs.push({ ...base, end: death, outcome: 'killed' });
    else runs.push({ ...base, end: observedUntil, outcome: 'open' });
  }
  return runs;
}

function byKey(runs: readonly Run[]): Map<string, Run[]> {
  const map = new Map<string, Run[]>();
  for (const r of runs) {
    const list = map.get(r.key) ?? [];
    list.push(r);
    map.set(r.key, list);
  }
  for (const list of map.values()) list.sort((a, b) => a.start - b.start);
  return map;
}

export interface Overlap {
  readonly key: string;
  readonly first: Run;
  readonly second: Run;
}

/** Pairs of runs of one key whose [start, end] intervals overlap (sharing only an endpoint is not). */
export function findOverlaps(runs: readonly Run[]): Overlap[] {
  const overlaps: Overlap[] = [];
  for (const [key, list] of byKey(runs)) {
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as Run;
        const b = list[j] as Run;
        if (b.start >= a.end) continue;
        overlaps.push({ key, first: a, second: b });
      }
    }
  }
  return overlaps;
}

/** Later runs of a key whose fencing token is not larger than an earlier run's. */
export function fenceRegressions(runs: readonly Run[]): { key: string; earlier: Run; later: Run }[] {
  const found: { key: string; earlier: Run; later: Run }[] = [];
  for (const [key, list] of byKey(runs)) {
    for (let i = 1; i < list.length; i++) {
      const earlier = list[i - 1] as Run;
      const later = list[i] as Run;
      if (later.fence <= earlier.fence) found.push({ key, earlier, later });
    }
  }
  return found;
}

export interface RunCounts {
  /** How many keys had 0, 1, 2, ... handler runs: { "1": 240, "2": 3 }. */
  readonly runsPerKey: Record<string, number>;
  /** Runs beyond the first of each key that should run once. */
  readonly extraRuns: number;
  readonly keysRunMoreThanOnce: string[];
  readonly totalRuns: number;
}

/** Counts handler runs of the keys expected to run exactly once (poison keys are left out). */
export function countRuns(runs: readonly Run[], onceKeys: Iterable<string>): RunCounts {
  const grouped = byKey(runs);
  const runsPerKey: Record<string, number> = {};
  let extraRuns = 0;
  let totalRuns = 0;
  const keysRunMoreThanOnce: string[] = [];
  for (const key of onceKeys) {
    const n = grouped.get(key)?.length ?? 0;
    runsPerKey[String(n)] = (runsPerKey[String(n)] ?? 0) + 1;
    totalRuns += n;
    if (n > 1) {
      extraRuns += n - 1;
      keysRunMoreThanOnce.push(key);
    }
  }
  return { runsPerKey, extraRuns, keysRunMoreThanOnce, totalRuns };
}

/**
 * Runs of a key that started after a run of that key had succeeded: the key handled twice, not
 * merely retried after an aborted or failed run. `killedAt` (pid -> when SIGKILL ended it): a
 * success whose process was killed before it could `complete` is re-run by design (docs/reliability.md,
 * "What is guaranteed"), so runs that start after that kill are left to the kills' own bound.
 */
export function runsAfterSuccess(
  runs: readonly Run[],
  killedAt: ReadonlyMap<number, number> = new Map(),
): Run[] {
  const found: Run[] = [];
  for (const list of byKey(runs).values()) {
    const firstOk = list.find((r) => r.outcome === 'ok');
    if (!firstOk) continue;
    const killed = killedAt.get(firstOk.pid);
    found.push(
      ...list.filter(
        (r) => r.start >= firstOk.end && r !== firstOk && (killed === undefined || r.start < killed),
      ),
    );
  }
  return found;
}

/**
 * Keys neither completed by a handler run nor in the dead-letter queue. A key still in the
 * main queue at the end is lost too (the scenario's deadline passed without it being handled);
 * `stuckInQueue` says how many of the lost were still there.
 */
export function lostKeys(
  expected: Iterable<string>,
  runs: readonly Run[],
  deadLettered: Iterable<string>,
): string[] {
  const done = new Set<string>(deadLettered);
  for (const r of runs) if (r.outcome === 'ok') done.add(r.key);
  return [...expected].filter((k) => !done.has(k));
}

export interface DeadLetter {
  readonly key: string | undefined;
  /** DeadLetterReason, or SQS_REDRIVE when SQS's own redrive moved it (no attribute). */
  readonly reason: string;
}

export interface DeadLetterCheck {
  readonly byReason: Record<string, number>;
  /** Poison keys not in the dead-letter queue. */
  readonly missing: string[];
  /** Poison keys there more than once. */
  readonly duplicated: string[];
  /** Poison keys there with another reason than expected: "key: got X, want Y". */
  readonly wrongReason: string[];
  /** Keys there that are not poison (good messages dead-lettered). */
  readonly unexpected: string[];
}

/** Checks the drained dead-letter queue against the poison keys and their expected reasons. */
export function checkDeadLetters(
  entries: readonly DeadLetter[],
  expected: ReadonlyMap<string, string>,
): DeadLetterCheck {
  const byReason: Record<string, number> = {};
  const seen = new Map<string, DeadLetter[]>();
  const unexpected: string[] = [];
  for (const e of entries) {
    byReason[e.reason] = (byReason[e.reason] ?? 0) + 1;
    const key = e.key ?? '(no key)';
    if (!expected.has(key)) unexpected.push(key);
    seen.set(key, [...(seen.get(key) ?? []), e]);
  }
  const missing: string[] = [];
  const duplicated: string[] = [];
  const wrongReason: string[] = [];
  for (const [key, reason] of expected) {
    const got = seen.get(key) ?? [];
    if (got.length === 0) missing.push(key);
    if (got.length > 1) duplicated.push(key);
    for (const g of got) if (g.reason !== reason) wrongReason.push(`${key}: got ${g.reason}, want ${reason}`);
  }
  return { byReason, missing, duplicated, wrongReason, unexpected };
}

/** One /readyz probe: the HTTP status, or 0 when nothing answered. */
export interface ReadySample {
  readonly worker: string;
  readonly at: number;
  readonly status: number;
}

export interface ReadyTransition {
  readonly worker: string;
  readonly at: number;
  readonly from: number | undefined;
  readonly to: number;
}

/** The samples reduced to changes of status, per worker, in time order. */
export function readyTransitions(samples: readonly ReadySample[]): ReadyTransition[] {
  const last = new Map<string, number>();
  const out: ReadyTransition[] = [];
  for (const s of [...samples].sort((a, b) => a.at - b.at)) {
    const from = last.get(s.worker);
    if (from === s.status) continue;
    out.push({ worker: s.worker, at: s.at, from, to: s.status });
    last.set(s.worker, s.status);
  }
  return out;
}

/**
 * For an outage [from, to]: did every worker that was up throughout answer 503 at some point
 * during it, and 200 again after it (by `until`)? Names the workers that did not.
 */
export function readyThroughOutage(
  samples: readonly ReadySample[],
  outage: { from: number; to: number },
  until: number,
): { notUnready: string[]; notReadyAgain: string[] } {
  const workers = new Set(samples.map((s) => s.worker));
  const notUnready: string[] = [];
  const notReadyAgain: string[] = [];
  for (const w of workers) {
    const mine = samples.filter((s) => s.worker === w);
    const during = mine.filter((s) => s.at >= outage.from && s.at <= outage.to);
    if (during.length === 0) continue; // not running then
    if (!during.some((s) => s.status === 503)) notUnready.push(w);
    if (!mine.some((s) => s.at > outage.to && s.at <= until && s.status === 200)) notReadyAgain.push(w);
  }
  return { notUnready, notReadyAgain };
}

/** How a process the harness stopped ended. */
export interface Exit {
  readonly worker: string;
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly code: number | null;
  readonly bySignal: string | null;
  /** From the signal to the exit, ms; null when it had not exited by the deadline. */
  readonly ms: number | null;
  /** When the signal was sent (start-up kills: how long after spawn). */
  readonly afterSpawnMs: number;
  /**
   * Whether a bare Node started beside the worker had not yet run its first line when the signal
   * was sent: Node was still booting, no JavaScript could have installed a handler. Null: unknown.
   */
  readonly duringBoot?: boolean | null;
}

/**
 * A SIGTERM that finds Node still booting, before any JavaScript could install a handler, ends
 * the process by signal whatever the worker's code says: accepted, and counted apart. Start-up
 * kills know it from a twin Node process (`duringBoot`); otherwise the first 50 ms count as boot
 * (measured on these machines, FACTS.md).
 */
export const NODE_BOOT_MS = 50;

/** SIGTERMs that arrived while Node was still booting and ended the process by signal. */
export function bootTermExits(exits: readonly Exit[], bootMs = NODE_BOOT_MS): Exit[] {
  return exits.filter(
    (e) =>
      e.signal === 'SIGTERM' &&
      e.bySignal === 'SIGTERM' &&
      (e.duringBoot === true || (e.duringBoot == null && e.afterSpawnMs < bootMs)),
  );
}

/** SIGTERM exits that were not "code 0 within limitMs" (those during Node's boot aside). */
export function badTermExits(exits: readonly Exit[], limitMs: number, bootMs = NODE_BOOT_MS): Exit[] {
  const boot = new Set(bootTermExits(exits, bootMs));
  return exits.filter(
    (e) => e.signal === 'SIGTERM' && !boot.has(e) && (e.code !== 0 || e.ms === null || e.ms > limitMs),
  );
}

/** A worker's log line with `outcome: "lease_lost"` (the delivery's settled outcome). */
export interface LeaseLostLine {
  readonly worker: string;
  readonly key: string;
  /** The fencing token of the claim that reported it (absent when the line carries none). */
  readonly fence: number | undefined;
  /** The line's time as logged (ISO). */
  readonly at: string | undefined;
}

/** A record at the end of a scenario: its status and fencing token. */
export interface RecordState {
  readonly status: string;
  readonly fence: number;
}

/** The `lease_lost` outcome lines of one worker's log (pino JSON lines; other lines skipped). */
export function parseLeaseLostLines(text: string, worker: string): LeaseLostLine[] {
  const found: LeaseLostLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('lease_lost')) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (parsed.outcome !== 'lease_lost' || typeof parsed.key !== 'string') continue;
    found.push({
      worker,
      key: parsed.key,
      fence: typeof parsed.fence === 'number' ? parsed.fence : undefined,
      at: typeof parsed.time === 'string' ? parsed.time : undefined,
    });
  }
  return found;
}

/**
 * `lease_lost` outcomes that were not: the key's record ended COMPLETED with the fencing token of
 * the very claim that reported the loss. Nobody else took the key over (a takeover raises the
 * fence) and only that claim's owner can complete it, so the worker's own write went through and
 * its answer (an error, a timeout, a retry refused by its own effect) was taken for a loss.
 */
export function falseLeaseLost(
  lines: readonly LeaseLostLine[],
  records: ReadonlyMap<string, RecordState>,
): LeaseLostLine[] {
  return lines.filter((l) => {
    const record = records.get(l.key);
    return record !== undefined && record.status === 'COMPLETED' && record.fence === l.fence;
  });
}

/**
 * PermanentError keys whose handler did not run exactly once. With `retriesAllowed`, runs cut
 * short on purpose (aborted by a lost lease, killed) are retried by design and not counted.
 */
export function permanentRunsNotOnce(
  runs: readonly Run[],
  permanentKeys: Iterable<string>,
  retriesAllowed: boolean,
): { key: string; runs: number }[] {
  const grouped = byKey(runs);
  const cutShort = new Set<Run['outcome']>(['aborted', 'killed', 'open']);
  const found: { key: string; runs: number }[] = [];
  for (const key of permanentKeys) {
    const list = grouped.get(key) ?? [];
    const n = retriesAllowed ? list.filter((r) => !cutShort.has(r.outcome)).length : list.length;
    if (n !== 1) found.push({ key, runs: n });
  }
  return found;
}
