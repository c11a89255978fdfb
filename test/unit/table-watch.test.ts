import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TableWatch } from '../../src/aws/table-watch.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { TableStatus } from '../../src/core/events.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A sink like the health monitor's, and a watch that has found the table usable. */
async function setup(maxFailures = 3) {
  const health = { table: { ok: false, reason: 'unreachable', detail: 'not checked yet' } as TableStatus };
  const sink = {
    get table() {
      return health.table;
    },
    setTable: (s: TableStatus) => void (health.table = s),
  };
  // Nothing listens there: the rechecks fail fast, and fake timers decide when they run.
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  const watch = new TableWatch({
    client,
    table: 't',
    health: sink,
    logger: silentLogger,
    recheckMs: 5000,
    maxFailures,
    // A manual clock nobody moves: the DescribeTable rechecks (to an unreachable port) never run.
    clock: new ManualClock(),
  });
  sink.setTable({ ok: true });
  return { sink, watch, client };
}

const outage = () => new StoreUnavailableError('idempotency store claim failed: TimeoutError: no answer');

describe('TableWatch: unreachable after consecutive store failures', () => {
  it('marks the table unreachable after maxFailures failed calls in a row, naming the last error', async () => {
    const { sink, watch, client } = await setup(3);
    watch.onStoreResult('claim', 'error', outage());
    watch.onStoreResult('renew', 'error', outage());
    expect(sink.table.ok).toBe(true);
    watch.onStoreResult('claim', 'error', outage());
    expect(sink.table).toEqual({
      ok: false,
      reason: 'unreachable',
      detail: expect.stringMatching(
        /^3 idempotency store calls in a row failed \(last: StoreUnavailableError: .*TimeoutError/,
      ),
    });
    watch.stop();
    client.destroy();
  });

  it('counts only failures in a row: a success in between starts again', async () => {
    const { sink, watch, client } = await setup(2);
    watch.onStoreResult('claim', 'error', outage());
    watch.onStoreResult('claim', 'acquired');
    watch.onStoreResult('claim', 'error', outage());
    expect(sink.table.ok).toBe(true);
    watch.stop();
    client.destroy();
  });

  it('does not count errors that are not outages (a corrupt record, say)', async () => {
    const { sink, watch, client } = await setup(1);
    watch.onStoreResult('get', 'error', new Error('corrupt record'));
    expect(sink.table.ok).toBe(true);
    watch.stop();
    client.destroy();
  });

  it('is usable again after the first success', async () => {
    const { sink, watch, client } = await setup(1);
    watch.onStoreResult('claim', 'error', outage());
    expect(sink.table.ok).toBe(false);
    watch.onStoreResult('claim', 'acquired');
    expect(sink.table).toEqual({ ok: true });
    watch.stop();
    client.destroy();
  });
});
