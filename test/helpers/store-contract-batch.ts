import type { ClaimResult, IdempotencyStore } from '../../src/core/idempotency-store.js';
import type { BatchingStats } from '../../src/worker/batching-store.js';
import {
  LEASE_MS,
  T0,
  acquired,
  claimAt,
  withFirstDeliveryHint,
  type FullStore,
  type RawTable,
  type RequestLog,
} from './store-contract-dynamodb.js';
import { scenarios, withoutPk } from './store-contract-hint.js';

/**
 * Batched claims and completes (issue 22, worker/batching-store.ts) against the single calls, on
 * one table: every scenario of the first-delivery hint is brought about, claimed and completed
 * once through the batches and once through the single calls, and the answers and the items
 * stored after each step must be the same, attribute by attribute. Then the races and the cost.
 */
export interface BatchedSubject {
  /** The batching store (its claims carry the first-delivery hint, as a first receive's do). */
  readonly batched: FullStore;
  /** The same table through the single calls. */
  readonly single: FullStore;
  readonly raw: RawTable;
  readonly requests: RequestLog;
  readonly stats: () => BatchingStats;
  /** Another worker: a batching store of its own on the same table. */
  readonly worker: () => IdempotencyStore;
}

/** Claims, then completes twice (the second meets its own write), reading the item after each. */
async function lifeOf(
  store: IdempotencyStore,
  raw: RawTable,
  pk: string,
  request: ReturnType<typeof claimAt>,
) {
  const result: ClaimResult = await store.claim({ ...request, pk });
  const claimed = await raw.get(pk);
  if (result.kind !== 'acquired') return withoutPk({ result, claimed }, pk);
  const completed = await store.complete(result.claim, request.now + 5, '{"n":1}', request.now / 1000 + 7200);
  const again = await store.complete(result.claim, request.now + 6);
  return withoutPk({ result, claimed, completed, again, item: await raw.get(pk) }, pk);
}

export function describeBatchedPath(subjectOf: () => BatchedSubject, key: (label: string) => string): void {
  describe('batched claims and completes: the same answers and items as the single calls', () => {
    for (const scenario of scenarios) {
      it(`claims ${scenario.name}; completes, twice`, async () => {
        const { batched, single, raw } = subjectOf();
        const hinted = withFirstDeliveryHint(batched);
        const [viaBatch, viaSingle] = [key('batched'), key('single')];
        await scenario.setup(hinted, viaBatch);
        await scenario.setup(single, viaSingle);
        const request = claimAt('(set per key)', scenario.at, scenario.payloadHash);
        const batchedLife = await lifeOf(hinted, raw, viaBatch, request);
        const singleLife = await lifeOf(single, raw, viaSingle, request);
        expect(batchedLife).toEqual(singleLife);
        expect((batchedLife as { result: unknown }).result).toMatchObject(scenario.expected);
      });
    }

    it('a complete of a claim taken over since: false, and the new claim untouched, as single', async () => {
      const { batched, single, raw } = subjectOf();
      const hinted = withFirstDeliveryHint(batched);
      const lost = async (store: IdempotencyStore, pk: string) => {
        const first = acquired(await store.claim(claimAt(pk, T0)));
        const next = acquired(await store.claim(claimAt(pk, T0 + LEASE_MS)));
        const answer = await store.complete(first, T0 + LEASE_MS + 1);
        return withoutPk(
          { answer, next: { ...next, owner: '' }, item: { ...(await raw.get(pk)), owner: '' } },
          pk,
        );
      };
      const [a, b] = [key('lost-batched'), key('lost-single')];
      const batchedAnswer = await lost(hinted, a);
      expect(batchedAnswer).toEqual(await lost(single, b));
      expect(batchedAnswer).toMatchObject({ answer: false, item: { status: 'IN_PROGRESS', fence: 2 } });
    });

    it('50 racing workers, each claiming the same 10 keys in one batch: one winner per key', async () => {
      const { single } = subjectOf();
      const keys = Array.from({ length: 10 }, () => key('race'));
      const workers = Array.from({ length: 50 }, () =>
        withFirstDeliveryHint(subjectOf().worker() as FullStore),
      );
      const results = await Promise.all(
        workers.map((worker) => Promise.all(keys.map((pk) => worker.claim(claimAt(pk, T0))))),
      );
      for (const [index, pk] of keys.entries()) {
        const answers = results.map((perWorker) => perWorker[index] as ClaimResult);
        const winners = answers.flatMap((r) => (r.kind === 'acquired' ? [r.claim] : []));
        expect(winners).toHaveLength(1);
        expect(answers.filter((r) => r.kind === 'in_progress')).toHaveLength(49);
        expect(await single.get(pk, T0)).toMatchObject({ owner: winners[0]?.owner, fence: 1, attempts: 1 });
      }
    });

    it("one receive's 10 new keys, claimed and completed: 2 requests, 0.2 per message", async () => {
      const { batched, requests, stats } = subjectOf();
      const hinted = withFirstDeliveryHint(batched);
      const keys = Array.from({ length: 10 }, () => key('cost'));
      const before = stats().requests;
      requests.reset();
      const claims = (await Promise.all(keys.map((pk) => hinted.claim(claimAt(pk, T0))))).map(acquired);
      expect(await Promise.all(claims.map((claim) => hinted.complete(claim, T0 + 1)))).toEqual(
        keys.map(() => true),
      );
      expect(requests.counts()).toEqual({ BatchExecuteStatement: 2 });
      expect(stats().requests - before).toBe(2);
    });
  });
}
