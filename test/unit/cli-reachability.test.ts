import { jest } from '@jest/globals';
import { ReachabilityWatch, UnreachableError, type WatchTimers } from '../../src/cli/reachability.js';

type Next = (args: { input: unknown }) => Promise<unknown>;
type Middleware = (next: Next) => Next;

/** A client whose calls go through the watch's middleware to an answer the test decides. */
function fakeClient() {
  let middleware: Middleware | undefined;
  return {
    middlewareStack: {
      add(m: never) {
        middleware = m as Middleware;
      },
    },
    /** A call whose answer comes when the test settles it. */
    call(input: unknown = {}) {
      let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
      const answer = new Promise((resolve, reject) => (settle = { resolve, reject }));
      const done = (middleware as Middleware)(() => answer)({ input }).catch(() => 'failed');
      return { ...settle, done };
    },
  };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' });
const answeredWith = (status: number) =>
  Object.assign(new Error('QueueDoesNotExist'), { $metadata: { httpStatusCode: status } });

describe('ReachabilityWatch (issue 21: one-shot commands give up on a service that does not answer)', () => {
  let timers: WatchTimers;

  beforeEach(() => {
    jest.useFakeTimers();
    timers = {
      now: () => Date.now(),
      setInterval: (run, ms) => setInterval(run, ms),
      clearInterval: (timer) => clearInterval(timer),
    };
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  function watching(boundMs: number) {
    const watch = new ReachabilityWatch(boundMs, timers);
    const sqs = fakeClient();
    const dynamodb = fakeClient();
    watch.watch(sqs, 'SQS', 'http://127.0.0.1:9324');
    watch.watch(dynamodb, 'DynamoDB', 'http://127.0.0.1:8000');
    let gaveUp: UnreachableError | undefined;
    void watch.gaveUp.then((error) => (gaveUp = error));
    return { watch, sqs, dynamodb, gaveUp: () => gaveUp };
  }

  it('gives up once calls have failed without an answer for the bound, naming the service and endpoint', async () => {
    const w = watching(5000);
    const first = w.sqs.call();
    first.reject(refused());
    await first.done;
    await jest.advanceTimersByTimeAsync(4000);
    expect(w.gaveUp()).toBeUndefined();
    const second = w.sqs.call();
    second.reject(refused());
    await second.done;
    await jest.advanceTimersByTimeAsync(1000);
    expect(w.gaveUp()).toBeInstanceOf(UnreachableError);
    expect(w.gaveUp()?.message).toBe(
      'SQS at http://127.0.0.1:9324 did not answer for 5 s (last error: connect ECONNREFUSED 127.0.0.1:9324); gave up (--give-up S sets how long)',
    );
    expect(w.gaveUp()?.service).toBe('SQS');
  });

  it('gives up on a call that hangs, without waiting for its own timeout', async () => {
    const w = watching(3000);
    w.dynamodb.call();
    await jest.advanceTimersByTimeAsync(3000);
    expect(w.gaveUp()?.message).toMatch(
      /^DynamoDB at http:\/\/127\.0\.0\.1:8000 did not answer for 3 s; gave up/,
    );
  });

  it('an answer clears the count, an error status included (the service is there)', async () => {
    const w = watching(5000);
    const failed = w.sqs.call();
    failed.reject(refused());
    await failed.done;
    await jest.advanceTimersByTimeAsync(4000);
    const answered = w.sqs.call();
    answered.reject(answeredWith(400));
    await answered.done;
    await jest.advanceTimersByTimeAsync(4000);
    const ok = w.sqs.call();
    ok.resolve({});
    await ok.done;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(w.gaveUp()).toBeUndefined();
  });

  it('a long poll is owed its answer only after its WaitTimeSeconds', async () => {
    const w = watching(5000);
    const poll = w.sqs.call({ WaitTimeSeconds: 20 });
    await jest.advanceTimersByTimeAsync(20_000);
    poll.resolve({});
    await poll.done;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(w.gaveUp()).toBeUndefined();
    w.sqs.call({ WaitTimeSeconds: 20 });
    await jest.advanceTimersByTimeAsync(24_000);
    expect(w.gaveUp()).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1000);
    expect(w.gaveUp()?.service).toBe('SQS');
  });

  it('a call the command aborted says nothing; after dispose nothing gives up', async () => {
    const w = watching(1000);
    const aborted = w.sqs.call();
    aborted.reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    await aborted.done;
    await jest.advanceTimersByTimeAsync(5000);
    expect(w.gaveUp()).toBeUndefined();
    w.dynamodb.call();
    w.watch.dispose();
    await jest.advanceTimersByTimeAsync(5000);
    expect(w.gaveUp()).toBeUndefined();
  });
});
