import { dynamoAppliedThenFail, dynamoThrottle, failEntries, sqsErrors } from '../../chaos/faults.js';
import type { HttpRequest } from '../../chaos/http-proxy.js';

function req(target: string, body: unknown = {}): HttpRequest {
  return { method: 'POST', target, body: Buffer.from(JSON.stringify(body)) };
}

/** A `random` that returns the given draws in turn (then the last one again). */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

const batch = {
  QueueUrl: 'http://q',
  Entries: [
    { Id: '0', ReceiptHandle: 'r0' },
    { Id: '1', ReceiptHandle: 'r1' },
    { Id: '2', ReceiptHandle: 'r2' },
  ],
};

describe('chaos fault rules', () => {
  it('throttle or fail a share of DynamoDB requests, never SQS ones', () => {
    const rule = dynamoThrottle({ throttled: 0.3, errors: 0.1 }, draws(0.1, 0));
    const throttled = rule(req('DynamoDB_20120810.UpdateItem'));
    expect(throttled).toMatchObject({ kind: 'reply', status: 400 });
    expect(JSON.parse((throttled as { body: string }).body).__type).toMatch(
      /ProvisionedThroughputExceededException$/,
    );
    expect(
      dynamoThrottle({ throttled: 0.3, errors: 0.1 }, draws(0.35))(req('DynamoDB_20120810.GetItem')),
    ).toMatchObject({
      kind: 'reply',
      status: 500,
    });
    expect(
      dynamoThrottle({ throttled: 0.3, errors: 0.1 }, draws(0.5))(req('DynamoDB_20120810.GetItem')),
    ).toEqual({
      kind: 'pass',
    });
    expect(dynamoThrottle({ throttled: 1, errors: 0 }, draws(0))(req('AmazonSQS.ReceiveMessage'))).toEqual({
      kind: 'pass',
    });
  });

  it('apply writes and then answer 500 or nothing, and leave reads alone', () => {
    const shares = { answered500: 0.2, hang: 0.1 };
    expect(dynamoAppliedThenFail(shares, draws(0.1))(req('DynamoDB_20120810.PutItem'))).toMatchObject({
      kind: 'applied-then-reply',
      status: 500,
    });
    expect(dynamoAppliedThenFail(shares, draws(0.25))(req('DynamoDB_20120810.UpdateItem'))).toEqual({
      kind: 'applied-then-hang',
    });
    expect(dynamoAppliedThenFail(shares, draws(0))(req('DynamoDB_20120810.GetItem'))).toEqual({
      kind: 'pass',
    });
  });

  it('forward a batch without its failing entries and report them in Failed', () => {
    const decision = failEntries(req('AmazonSQS.DeleteMessageBatch', batch), 0.5, draws(0.9, 0.1, 0.9));
    if (decision.kind !== 'rewrite') throw new Error(`expected a rewrite, got ${decision.kind}`);
    expect(JSON.parse(decision.body).Entries.map((e: { Id: string }) => e.Id)).toEqual(['0', '2']);
    const answer = decision.answer(
      200,
      Buffer.from(JSON.stringify({ Successful: [{ Id: '0' }, { Id: '2' }] })),
    );
    expect(JSON.parse(answer.body)).toEqual({
      Successful: [{ Id: '0' }, { Id: '2' }],
      Failed: [
        {
          Id: '1',
          SenderFault: false,
          Code: 'InternalError',
          Message: 'chaos: this entry failed on purpose',
        },
      ],
    });
    // An error from the emulator is relayed as it is.
    expect(decision.answer(500, Buffer.from('{}'))).toEqual({ status: 500, body: '{}' });
  });

  it('answer a batch whose entries all fail without forwarding it', () => {
    const decision = failEntries(req('AmazonSQS.DeleteMessageBatch', batch), 1, draws(0));
    expect(decision.kind).toBe('reply');
    const body = JSON.parse((decision as { body: string }).body);
    expect(body.Successful).toEqual([]);
    expect(body.Failed.map((f: { Id: string }) => f.Id)).toEqual(['0', '1', '2']);
  });

  it('fail every delete while deletes are down, and a share of other SQS requests with 5xx', () => {
    let down = true;
    const rule = sqsErrors({ errors: 0.1, failedEntries: 0, deletesDown: () => down }, draws(0.5));
    expect(rule(req('AmazonSQS.DeleteMessage'))).toMatchObject({ kind: 'reply', status: 503 });
    expect(rule(req('AmazonSQS.DeleteMessageBatch', batch)).kind).toBe('reply');
    expect(rule(req('AmazonSQS.ChangeMessageVisibilityBatch', batch))).toEqual({ kind: 'pass' });
    down = false;
    expect(rule(req('AmazonSQS.DeleteMessage'))).toEqual({ kind: 'pass' });
    expect(
      sqsErrors(
        { errors: 0.1, failedEntries: 0, deletesDown: () => false },
        draws(0.05),
      )(req('AmazonSQS.SendMessage')),
    ).toMatchObject({
      kind: 'reply',
    });
  });
});
