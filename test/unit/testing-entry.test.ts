import { readFileSync } from 'node:fs';
import * as main from '../../src/index.js';
import * as testing from '../../src/testing/index.js';

/**
 * The package's two entry points: the worker ('sqs-idempotent-worker') and the in-memory twins for
 * users' tests ('sqs-idempotent-worker/testing'). npm run test:pack installs both for real.
 */
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, { types: string; default: string }>;
};

describe('the package entry points', () => {
  it('exports the testing entry built from src/testing/index.ts', () => {
    expect(manifest.exports['./testing']).toEqual({
      types: './dist/testing/index.d.ts',
      default: './dist/testing/index.js',
    });
  });

  it('has the twins in the testing entry and not in the main one', () => {
    const twins = ['MemoryIdempotencyStore', 'MemoryQueue', 'MemoryQueues', 'QueueError'];
    expect(twins.filter((name) => typeof (testing as Record<string, unknown>)[name] !== 'function')).toEqual(
      [],
    );
    expect(twins.filter((name) => name in main)).toEqual([]);
  });

  it("gives a twin that satisfies the main entry's IdempotencyStore", async () => {
    const store: main.IdempotencyStore = new testing.MemoryIdempotencyStore();
    const now = 1_000_000;
    const claim = { pk: 'k', owner: 'o', payloadHash: 'h', now, leaseExpiresAtMs: now + 1000 };
    expect((await store.claim({ ...claim, expiresAt: 2000 })).kind).toBe('acquired');
  });
});
