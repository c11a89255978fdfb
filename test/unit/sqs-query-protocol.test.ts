import fc from 'fast-check';
import {
  QueryProtocolError,
  escapeXml,
  readInput,
  writeError,
  writeResponse,
} from '../../src/aws/sqs-query-protocol.js';
import { OPERATIONS, type Operation } from '../../src/aws/sqs-query-shapes.js';
import { all, child, parseXml, text } from '../helpers/query-protocol.js';

/** The query protocol's translation on its own, without HTTP: form to JSON input, JSON to XML. */
describe('SQS query protocol: reading forms', () => {
  const operation = (action: string): Operation => OPERATIONS[action]!;

  it('reads batch entries in numeric order, with their own message attributes and list values', () => {
    const params = new Map<string, string>([
      ['QueueUrl', 'http://q/000000000000/q'],
      ['SendMessageBatchRequestEntry.10.Id', 'ten'],
      ['SendMessageBatchRequestEntry.10.MessageBody', 'b10'],
      ['SendMessageBatchRequestEntry.2.Id', 'two'],
      ['SendMessageBatchRequestEntry.2.MessageBody', 'b2'],
      ['SendMessageBatchRequestEntry.2.DelaySeconds', '5'],
      ['SendMessageBatchRequestEntry.2.MessageAttribute.1.Name', 'tags'],
      ['SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.DataType', 'String'],
      ['SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringListValue.2', 'y'],
      ['SendMessageBatchRequestEntry.2.MessageAttribute.1.Value.StringListValue.1', 'x'],
      ['SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Name', 'AWSTraceHeader'],
      ['SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Value.DataType', 'String'],
      ['SendMessageBatchRequestEntry.2.MessageSystemAttribute.1.Value.StringValue', 'Root=1'],
      ['Version', '2012-11-05'],
    ]);
    expect(readInput(params, operation('SendMessageBatch').input)).toEqual({
      QueueUrl: 'http://q/000000000000/q',
      Entries: [
        {
          Id: 'two',
          MessageBody: 'b2',
          DelaySeconds: 5,
          MessageAttributes: { tags: { DataType: 'String', StringListValues: ['x', 'y'] } },
          MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1' } },
        },
        { Id: 'ten', MessageBody: 'b10' },
      ],
    });
  });

  it('reads lists, maps and tags under their query names, and leaves out what is absent', () => {
    const receive = new Map([
      ['QueueUrl', 'u'],
      ['AttributeName.1', 'All'],
      ['AttributeName.x', 'ignored'],
      ['AttributeName.0', 'ignored'],
      ['MessageAttributeName.1', 'k'],
      ['WaitTimeSeconds', '20'],
    ]);
    expect(readInput(receive, operation('ReceiveMessage').input)).toEqual({
      QueueUrl: 'u',
      AttributeNames: ['All'],
      MessageAttributeNames: ['k'],
      WaitTimeSeconds: 20,
    });
    const create = new Map([
      ['QueueName', 'q'],
      ['Attribute.1.Name', 'VisibilityTimeout'],
      ['Attribute.1.Value', '10'],
      ['Tag.1.Key', 'team'],
      ['Tag.1.Value', 'a'],
    ]);
    expect(readInput(create, operation('CreateQueue').input)).toEqual({
      QueueName: 'q',
      Attributes: { VisibilityTimeout: '10' },
      tags: { team: 'a' },
    });
    expect(readInput(new Map(), operation('ListQueues').input)).toEqual({});
  });

  it('refuses a map entry without its name and an integer that is not one', () => {
    const noName = new Map([
      ['QueueUrl', 'u'],
      ['MessageBody', 'b'],
      ['MessageAttribute.1.Value.DataType', 'String'],
    ]);
    expect(() => readInput(noName, operation('SendMessage').input)).toThrow(
      expect.objectContaining({ code: 'MissingParameter', message: 'MessageAttribute.1.Name is missing.' }),
    );
    for (const bad of ['1.5', '', 'ten', '1e3']) {
      const params = new Map([['MaxNumberOfMessages', bad]]);
      expect(() => readInput(params, operation('ReceiveMessage').input)).toThrow(QueryProtocolError);
    }
  });
});

describe('SQS query protocol: writing XML', () => {
  it('writes a result in the order of its shape, repeating flattened lists, skipping absent members', () => {
    const xml = writeResponse(
      'DeleteMessageBatch',
      {
        Failed: [{ Id: 'b', SenderFault: false, Code: 'InternalError', Message: 'x & y' }],
        Successful: [{ Id: 'a' }, { Id: 'c', Unknown: 'dropped' }],
        Extra: 'dropped',
      },
      OPERATIONS.DeleteMessageBatch!.output,
      'req-1',
    );
    const root = parseXml(xml);
    expect(root.name).toBe('DeleteMessageBatchResponse');
    const result = child(root, 'DeleteMessageBatchResult');
    expect(result.children.map((c) => c.name)).toEqual([
      'DeleteMessageBatchResultEntry',
      'DeleteMessageBatchResultEntry',
      'BatchResultErrorEntry',
    ]);
    expect(all(result, 'DeleteMessageBatchResultEntry').map((e) => e.children.length)).toEqual([1, 1]);
    expect(text(result, 'BatchResultErrorEntry', 'SenderFault')).toBe('false');
    expect(text(result, 'BatchResultErrorEntry', 'Message')).toBe('x & y');
    expect(text(root, 'ResponseMetadata', 'RequestId')).toBe('req-1');
    expect(xml).toContain(`xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`);
  });

  it('writes no result element for an action that has none', () => {
    const root = parseXml(writeResponse('PurgeQueue', {}, undefined, 'r'));
    expect(root.children.map((c) => c.name)).toEqual(['ResponseMetadata']);
  });

  it('writes an error with its type, code, message and request id', () => {
    const root = parseXml(
      writeError(
        { code: 'AWS.SimpleQueueService.NonExistentQueue', message: '<q> & "x"', type: 'Sender' },
        'id',
      ),
    );
    expect(root.name).toBe('ErrorResponse');
    expect(text(root, 'Error', 'Type')).toBe('Sender');
    expect(text(root, 'Error', 'Code')).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect(text(root, 'Error', 'Message')).toBe('<q> & "x"');
    expect(text(root, 'RequestId')).toBe('id');
  });

  /** SQS's allowed characters: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. */
  const allowed = (cp: number) =>
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    cp >= 0x10000;
  const codePoint = fc.oneof(
    fc.constantFrom(
      0x9,
      0xa,
      0xd,
      0x26,
      0x3c,
      0x3e,
      0x22,
      0x27,
      0x5d,
      0xfffd,
      0xd7ff,
      0xe000,
      0x10000,
      0x10ffff,
    ),
    fc.integer({ min: 0, max: 0x10ffff }),
  );
  const body = (filter: (cp: number) => boolean) =>
    fc.array(codePoint.filter(filter), { maxLength: 40 }).map((cps) => String.fromCodePoint(...cps));

  it('carries every body SQS allows through XML unchanged (CR and CR LF included)', () => {
    fc.assert(
      fc.property(body(allowed), (value) => {
        const xml = writeResponse(
          'ReceiveMessage',
          { Messages: [{ Body: value }] },
          OPERATIONS.ReceiveMessage!.output,
          'r',
        );
        expect(text(parseXml(xml), 'ReceiveMessageResult', 'Message', 'Body')).toBe(value);
      }),
    );
  });

  it('never writes a character XML cannot carry, whatever the text', () => {
    const units = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
      .map((u) => String.fromCharCode(...u));
    fc.assert(
      fc.property(units, (value) => {
        const escaped = escapeXml(value);
        for (const char of escaped) expect(allowed(char.codePointAt(0)!)).toBe(true);
        expect(escaped).not.toMatch(/[<>\r]/);
      }),
    );
    expect(escapeXml('a\u0000b\uD800c\uDC00d\uD83D\uDE00\uFFFF')).toBe(
      'a\uFFFDb\uFFFDc\uFFFDd\uD83D\uDE00\uFFFD',
    );
  });
});
