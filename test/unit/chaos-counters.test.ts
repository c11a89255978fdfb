import {
  checkDeadLetters,
  findOverlaps,
  pairRuns,
  parseRunLog,
  readyThroughOutage,
  readyTransitions,
  runsAfterSuccess,
  type Exit,
  type ReadySample,
  type RunEvent,
} from '../../chaos/counters.js';
import { evaluate, type Observation } from '../../chaos/criteria.js';

/** A run log of runs given as [key, pid, fence, start, end | undefined, outcome]. */
function log(
  runs: readonly [string, number, number, number, number | undefined, RunEvent['outcome']?][],
): string {
  const lines: RunEvent[] = [];
  runs.forEach(([key, pid, fence, start, end, outcome], i) => {
    const base = { run: `${pid}-${i}`, key, pid, fence, attempt: fence };
    lines.push({ type: 'start', ...base, at: start });
    if (end !== undefined) lines.push({ type: 'end', ...base, at: end, outcome: outcome ?? 'ok' });
  });
  return lines.map((l) => JSON.stringify(l)).join('\n');
}

/** A clean observation: keys a and b handled once each, nothing dead-lettered, one clean SIGTERM. */
function clean(overrides: Partial<Observation> = {}): Observation {
  return {
    runs: pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    ),
    goodKeys: ['a', 'b'],
    poison: new Map(),
    deadLetters: [],
    leftInQueue: 0,
    inProgressRecords: 0,
    readySamples: [],
    exits: [],
    inFlightAtKills: 0,
    outages: [],
    endedAt: 1000,
    ...overrides,
  };
}

function failed(o: Observation, extraRuns: 'none' | 'kills' | 'retries' = 'none'): string[] {
  return evaluate(o, { extraRuns, termExitLimitMs: 10_000 })
    .criteria.filter((c) => !c.pass)
    .map((c) => c.name);
}

describe('chaos counters', () => {
  it('pass a clean observation on every criterion', () => {
    expect(failed(clean())).toEqual([]);
  });

  it('skip a torn last line of a killed process', () => {
    const text = `${log([['a', 1, 1, 100, 200]])}\n{"type":"start","ru`;
    expect(parseRunLog(text)).toHaveLength(2);
  });

  it('end a run of a dead process at its death, and an unfinished one at the end of observation', () => {
    const runs = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, undefined],
          ['b', 2, 1, 100, undefined],
        ]),
      ),
      new Map([[1, 300]]),
      900,
    );
    expect(runs.map((r) => [r.key, r.end, r.outcome])).toEqual([
      ['a', 300, 'killed'],
      ['b', 900, 'open'],
    ]);
  });

  it('fail on two runs of one key that overlap, also when the first was killed mid-run', () => {
    const events = parseRunLog(
      log([
        ['a', 1, 1, 100, undefined], // killed at 500
        ['a', 2, 2, 400, 600],
        ['b', 2, 1, 100, 200],
        ['b', 3, 2, 200, 300], // starts exactly when the first ended: no overlap
      ]),
    );
    const runs = pairRuns(events, new Map([[1, 500]]), 1000);
    expect(findOverlaps(runs).map((o) => o.key)).toEqual(['a']);
    expect(failed(clean({ runs }), 'kills')).toEqual(
      expect.arrayContaining(['0 overlapping runs of a key', 'extra runs <= in flight at kills']),
    );
  });

  it('fail on a lost key: neither completed nor dead-lettered', () => {
    const runs = pairRuns(parseRunLog(log([['a', 1, 1, 100, 200]])), new Map(), 1000);
    const result = evaluate(clean({ runs }), { extraRuns: 'none', termExitLimitMs: 10_000 });
    expect(result.counters.lostKeys).toEqual(['b']);
    expect(result.criteria.find((c) => c.name === '0 lost')?.pass).toBe(false);
  });

  it('count a key whose only run failed as lost', () => {
    const runs = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200],
          ['b', 1, 1, 100, 200, 'aborted'],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(failed(clean({ runs }))).toContain('0 lost');
  });

  it('fail on extra runs: any with "none", more than in flight at the kills with "kills"', () => {
    const runs = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200],
          ['a', 2, 2, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(failed(clean({ runs }))).toEqual(['0 extra runs']);
    expect(failed(clean({ runs, inFlightAtKills: 0 }), 'kills')).toEqual([
      'extra runs <= in flight at kills',
    ]);
    expect(failed(clean({ runs, inFlightAtKills: 1 }), 'kills')).toEqual([]);
  });

  it('with retries expected, pass a run after an aborted one and fail a run after a successful one', () => {
    const retried = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200, 'aborted'],
          ['a', 2, 2, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(failed(clean({ runs: retried }), 'retries')).toEqual([]);
    expect(failed(clean({ runs: retried }))).toEqual(['0 extra runs']);
    const twice = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200],
          ['a', 2, 2, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(runsAfterSuccess(twice).map((r) => [r.key, r.pid])).toEqual([['a', 2]]);
    expect(failed(clean({ runs: twice }), 'retries')).toEqual(['0 runs after a successful run']);
  });

  it('fail when a later run of a key has no larger fencing token', () => {
    const runs = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200],
          ['a', 2, 1, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(failed(clean({ runs, inFlightAtKills: 5 }), 'kills')).toEqual(['fencing tokens grow']);
  });

  it('fail on records left IN_PROGRESS', () => {
    expect(failed(clean({ inProgressRecords: 2 }))).toEqual(['0 records left IN_PROGRESS']);
  });

  it('fail on a poison message missing, twice, with a wrong reason, or a good message dead-lettered', () => {
    const poison = new Map([
      ['p1', 'INVALID_JSON'],
      ['p2', 'PERMANENT_ERROR'],
      ['p3', 'SQS_REDRIVE'],
    ]);
    const check = checkDeadLetters(
      [
        { key: 'p1', reason: 'INVALID_JSON' },
        { key: 'p2', reason: 'HANDLER_ERROR' },
        { key: 'p1', reason: 'INVALID_JSON' },
        { key: 'a', reason: 'SQS_REDRIVE' },
      ],
      poison,
    );
    expect(check).toEqual({
      byReason: { INVALID_JSON: 2, HANDLER_ERROR: 1, SQS_REDRIVE: 1 },
      missing: ['p3'],
      duplicated: ['p1'],
      wrongReason: ['p2: got HANDLER_ERROR, want PERMANENT_ERROR'],
      unexpected: ['a'],
    });
    // Only the wrong reason: still a FAIL.
    const wrong = clean({
      poison: new Map([['p2', 'PERMANENT_ERROR']]),
      deadLetters: [{ key: 'p2', reason: 'SCHEMA_VIOLATION' }],
    });
    expect(failed(wrong)).toEqual(['dead letters as expected']);
    const right = clean({
      poison: new Map([['p2', 'PERMANENT_ERROR']]),
      deadLetters: [{ key: 'p2', reason: 'PERMANENT_ERROR' }],
    });
    expect(failed(right)).toEqual([]);
  });

  it('fail on a SIGTERM exit that is not 0, too slow, or did not happen', () => {
    const exit = (
      code: number | null,
      ms: number | null,
      bySignal: string | null = null,
      afterSpawnMs = 500,
    ): Exit => ({ worker: 'w1', signal: 'SIGTERM', code, bySignal, ms, afterSpawnMs });
    const name = 'SIGTERM exits 0 within 10000 ms';
    expect(failed(clean({ exits: [exit(0, 300)] }))).toEqual([]);
    expect(failed(clean({ exits: [exit(null, 30, 'SIGTERM')] }))).toEqual([name]);
    expect(failed(clean({ exits: [exit(1, 300)] }))).toEqual([name]);
    expect(failed(clean({ exits: [exit(0, 10_001)] }))).toEqual([name]);
    expect(failed(clean({ exits: [exit(null, null, 'still running')] }))).toEqual([name]);
    // Dying of a SIGTERM during Node's own boot is accepted; a moment later it is a FAIL.
    expect(failed(clean({ exits: [exit(null, 2, 'SIGTERM', 10)] }))).toEqual([]);
    expect(failed(clean({ exits: [exit(null, 2, 'SIGTERM', 95)] }))).toEqual([name]);
    expect(failed(clean({ exits: [exit(null, null, 'still running', 10)] }))).toEqual([name]);
    // With a twin Node telling whether Node had booted when the signal was sent, that decides.
    const twin = (duringBoot: boolean, afterSpawnMs: number): Exit => ({
      ...exit(null, 2, 'SIGTERM', afterSpawnMs),
      duringBoot,
    });
    expect(failed(clean({ exits: [twin(true, 400)] }))).toEqual([]);
    expect(failed(clean({ exits: [twin(false, 10)] }))).toEqual([name]);
  });

  it('fail when /readyz stays 200 through an outage or does not come back', () => {
    const samples = (statuses: [number, number][]): ReadySample[] =>
      statuses.map(([at, status]) => ({ worker: 'w1', at, status }));
    const outage = { from: 100, to: 500 };
    const good = samples([
      [50, 200],
      [200, 200],
      [300, 503],
      [600, 200],
    ]);
    expect(readyTransitions(good).map((t) => t.to)).toEqual([200, 503, 200]);
    expect(readyThroughOutage(good, outage, 1000)).toEqual({ notUnready: [], notReadyAgain: [] });
    const name = '/readyz 503 during the outage, 200 after';
    expect(failed(clean({ readySamples: good, outages: [outage] }))).toEqual([]);
    const never503 = samples([
      [50, 200],
      [300, 200],
      [600, 200],
    ]);
    expect(failed(clean({ readySamples: never503, outages: [outage] }))).toEqual([name]);
    const stuck = samples([
      [300, 503],
      [600, 503],
    ]);
    expect(failed(clean({ readySamples: stuck, outages: [outage] }))).toEqual([name]);
  });
});
