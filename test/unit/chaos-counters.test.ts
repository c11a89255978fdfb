import {
  checkDeadLetters,
  falseLeaseLost,
  findOverlaps,
  pairRuns,
  parseLeaseLostLines,
  parseRunLog,
  permanentRunsNotOnce,
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
    leaseLost: [],
    records: new Map(),
    killedAt: new Map(),
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
    expect(failed(clean({ runs }))).toEqual(['0 extra runs', '0 handler runs after a success']);
    expect(failed(clean({ runs, inFlightAtKills: 0 }), 'kills')).toEqual([
      'extra runs <= in flight at kills',
      '0 handler runs after a success',
      'SIGKILLs hit work in flight',
    ]);
    // The successful run's process was SIGKILLed (before its complete, say) and the key ran again
    // after that: the kills' bound covers it.
    const killedAt = new Map([[1, 250]]);
    expect(failed(clean({ runs, inFlightAtKills: 1, killedAt }), 'kills')).toEqual([]);
    // Run again while that process still lived: a second run after a success all the same.
    expect(failed(clean({ runs, inFlightAtKills: 1, killedAt: new Map([[1, 350]]) }), 'kills')).toEqual([
      '0 handler runs after a success',
    ]);
  });

  it('fail a kill scenario whose SIGKILLs all landed on idle workers, or that killed none', () => {
    const name = 'SIGKILLs hit work in flight';
    // Workers 1 and 2 each killed after their runs ended, holding nothing: every other criterion
    // passes, this one does not.
    const idle = clean({
      inFlightAtKills: 0,
      killedAt: new Map([
        [1, 300],
        [2, 400],
      ]),
    });
    expect(failed(idle, 'kills')).toEqual([name]);
    expect(failed(clean({ inFlightAtKills: 0 }), 'kills')).toEqual([name]);
    // One kill found messages held (the gauge at the kill): the scenario tested something.
    expect(
      failed(
        clean({
          inFlightAtKills: 2,
          killedAt: new Map([
            [1, 300],
            [2, 400],
          ]),
        }),
        'kills',
      ),
    ).toEqual([]);
    // A handler run cut short by the kill counts even when the gauge read 0.
    const cut = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, undefined],
          ['a', 2, 2, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map([[1, 200]]),
      1000,
    );
    expect(failed(clean({ runs: cut, inFlightAtKills: 0, killedAt: new Map([[1, 200]]) }), 'kills')).toEqual([
      'extra runs <= in flight at kills',
    ]);
    // Scenarios without kills are not judged on it.
    expect(
      evaluate(idle, { extraRuns: 'none', termExitLimitMs: 10_000 }).criteria.map((c) => c.name),
    ).not.toContain(name);
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
    expect(failed(clean({ runs: twice }), 'retries')).toEqual(['0 handler runs after a success']);
  });

  it('fail when a later run of a key has no larger fencing token', () => {
    const runs = pairRuns(
      parseRunLog(
        log([
          ['a', 1, 1, 100, 200, 'aborted'],
          ['a', 2, 1, 300, 400],
          ['b', 2, 1, 150, 250],
        ]),
      ),
      new Map(),
      1000,
    );
    expect(failed(clean({ runs, inFlightAtKills: 5, killedAt: new Map([[9, 900]]) }), 'kills')).toEqual([
      'fencing tokens grow',
    ]);
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
      poison: new Map([['p2', 'INVALID_JSON']]),
      deadLetters: [{ key: 'p2', reason: 'SCHEMA_VIOLATION' }],
    });
    expect(failed(wrong)).toEqual(['dead letters as expected']);
    const right = clean({
      poison: new Map([['p2', 'INVALID_JSON']]),
      deadLetters: [{ key: 'p2', reason: 'INVALID_JSON' }],
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

  it('fail when a poison message reaches the dead-letter queue twice, or never', () => {
    const name = 'each poison message in the DLQ exactly once';
    const poison = new Map([['p1', 'INVALID_JSON']]);
    const once = [{ key: 'p1', reason: 'INVALID_JSON' }];
    expect(failed(clean({ poison, deadLetters: once }))).toEqual([]);
    // The dead-lettering that is not final: the same poison message sent to the DLQ 3 times.
    expect(failed(clean({ poison, deadLetters: [...once, ...once, ...once] }))).toEqual([name]);
    expect(failed(clean({ poison, deadLetters: [] }))).toEqual(['0 lost', name]);
  });

  it('fail when a PermanentError handler runs more than once, or never', () => {
    const name = 'each PermanentError handler run once';
    const poison = new Map([['permanent-0', 'PERMANENT_ERROR']]);
    const deadLetters = [{ key: 'permanent-0', reason: 'PERMANENT_ERROR' }];
    const withRuns = (extra: Parameters<typeof log>[0]) =>
      pairRuns(parseRunLog(log([['a', 1, 1, 100, 200], ['b', 2, 1, 150, 250], ...extra])), new Map(), 1000);
    const once = withRuns([['permanent-0', 1, 1, 100, 200, 'permanent']]);
    expect(failed(clean({ runs: once, poison, deadLetters }))).toEqual([]);
    // A fail applied, answered with an error, taken for a lost lease: the redelivery runs it again.
    const twice = withRuns([
      ['permanent-0', 1, 1, 100, 200, 'permanent'],
      ['permanent-0', 2, 2, 5300, 5400, 'permanent'],
    ]);
    expect(permanentRunsNotOnce(twice, ['permanent-0'], false)).toEqual([{ key: 'permanent-0', runs: 2 }]);
    expect(failed(clean({ runs: twice, poison, deadLetters }))).toEqual([name]);
    expect(failed(clean({ runs: twice, poison, deadLetters }), 'retries')).toEqual([name]);
    expect(failed(clean({ runs: withRuns([]), poison, deadLetters }))).toEqual([name]);
    // Where lost leases are retried by design, a run aborted by one does not count.
    const retried = withRuns([
      ['permanent-0', 1, 1, 100, 200, 'aborted'],
      ['permanent-0', 2, 2, 300, 400, 'permanent'],
    ]);
    expect(failed(clean({ runs: retried, poison, deadLetters }), 'retries')).toEqual([]);
  });

  it('fail on a lease_lost outcome logged for a claim that completed the key', () => {
    const name = '0 false lease_lost';
    const workerLog = [
      '{"level":30,"time":"2026-12-07T02:00:00.000Z","msg":"worker started"}',
      JSON.stringify({
        level: 40,
        time: '2026-12-07T02:00:01.000Z',
        key: 'a',
        messageId: 'm-1',
        outcome: 'lease_lost',
        action: 'leave',
        attempt: 1,
        fence: 1,
        reason: 'LEASE_LOST',
        msg: 'message lease_lost',
      }),
      '{"level":40,"key":"b","msg":"lease lost while the handler ran: another worker took the key over"}',
      '{"level":40,"outcome":"lease_lost","key":"b","fence":1,"msg":"message lease_lost"}',
      '{"torn',
    ].join('\n');
    const lines = parseLeaseLostLines(workerLog, 'w1');
    expect(lines.map((l) => [l.worker, l.key, l.fence])).toEqual([
      ['w1', 'a', 1],
      ['w1', 'b', 1],
    ]);
    // a: the record is COMPLETED with the fence of the claim that said it lost the lease (its own
    // complete went through). b: another worker took it over (fence 2): a real loss.
    const records = new Map([
      ['a', { status: 'COMPLETED', fence: 1 }],
      ['b', { status: 'COMPLETED', fence: 2 }],
    ]);
    expect(falseLeaseLost(lines, records).map((l) => l.key)).toEqual(['a']);
    expect(failed(clean({ leaseLost: lines, records }))).toEqual([name]);
    const real = new Map([
      ['a', { status: 'COMPLETED', fence: 2 }],
      ['b', { status: 'COMPLETED', fence: 2 }],
    ]);
    expect(failed(clean({ leaseLost: lines, records: real }))).toEqual([]);
  });
});
