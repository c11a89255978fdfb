import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { fixture, send, useTestAws, type Fixture } from '../helpers/aws.js';
import {
  eventually,
  isAlive,
  refusesConnections,
  runCli,
  type RunningProcess,
  EMBEDDED_ON_FREE_PORTS,
} from '../helpers/process.js';

const EMBEDDED = EMBEDDED_ON_FREE_PORTS;
const HOLD_IMPORT = ['--import', pathToFileURL(resolve('test/e2e/hold-import.mjs')).href];

const msg = (text: string) => (l: Record<string, unknown>) => l.msg === text;

/** The worker, held at the first import of `specifier` until `release()` (hold-import.mjs). */
async function heldAt(specifier: string, env: Record<string, string>) {
  const worker = runCli(
    ['start'],
    { ...env, HOLD_IMPORT: specifier },
    { nodeArgs: HOLD_IMPORT, stdin: true },
  );
  await worker.waitForLine((l) => typeof l.held === 'string');
  return { worker, release: () => worker.child.stdin?.end('\n') };
}

/** Exit 0, no "worker started", and nothing was left open to keep the process alive. */
async function expectCancelledStart(worker: RunningProcess): Promise<void> {
  expect(await worker.exit()).toEqual({ code: 0, signal: null });
  expect(worker.lines.filter(msg('worker started'))).toEqual([]);
  expect(worker.stderr()).not.toMatch(/still open/);
}

/**
 * A DynamoDB endpoint in front of the test's emulator that holds the first DescribeTable (the
 * worker's table check at start) until `release()`, and says when it has it.
 */
function holdingDynamoProxy(target: string) {
  let release: () => void = () => {};
  let onHeld: () => void = () => {};
  const held = new Promise<void>((resolveHeld) => (onHeld = resolveHeld));
  let holding = false;
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const { hostname, port } = new URL(target);
    const upstream = request(
      { hostname, port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!holding && String(req.headers['x-amz-target']).endsWith('.DescribeTable')) {
        holding = true;
        release = () => {
          release = () => {};
          forward(req, body, res);
        };
        onHeld();
        return;
      }
      forward(req, body, res);
    });
  });
  return {
    held,
    release: () => release(),
    async listen(): Promise<string> {
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('the worker under SIGTERM and SIGINT at every moment of its start-up', () => {
  const running: RunningProcess[] = [];
  const track = (p: RunningProcess) => (running.push(p), p);

  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGKILL');
        await p.exit();
      }
    }
  });

  it('before the configuration is read: exits 0 without reading it', async () => {
    // HTTP_PORT is invalid: reading the configuration would exit 2.
    const { worker, release } = await heldAt('./cli/run.js', { ...EMBEDDED, HTTP_PORT: 'eighty' });
    track(worker);
    worker.child.kill('SIGTERM');
    release();
    await expectCancelledStart(worker);
    expect(worker.stderr()).not.toMatch(/config error/);
  });

  it('while the embedded emulators start: cancels the start, closes them, exits 0', async () => {
    const { worker, release } = await heldAt('fauxqs', EMBEDDED);
    track(worker);
    worker.child.kill('SIGTERM');
    release();
    await expectCancelledStart(worker);
    expect(worker.lines.some(msg('stopped'))).toBe(true);
  });

  it('right after "worker started": drains, exits 0, and its ports are free', async () => {
    const worker = track(runCli(['start'], EMBEDDED));
    const started = await worker.waitForLine(msg('worker started'));
    worker.child.kill('SIGTERM');
    expect(await worker.exit()).toEqual({ code: 0, signal: null });
    expect(isAlive(worker.child.pid ?? 0)).toBe(false);
    for (const address of [started.http, started.sqsEndpoint, started.dynamodbEndpoint]) {
      expect(await refusesConnections(address as string)).toBe(true);
    }
    expect(worker.stderr()).not.toMatch(/still open/);
  });

  it('SIGINT to the whole process group (Ctrl-C in a terminal) exits 0', async () => {
    const worker = track(runCli(['start'], EMBEDDED, { detached: true }));
    await worker.waitForLine(msg('worker started'));
    process.kill(-(worker.child.pid ?? 0), 'SIGINT');
    expect(await worker.exit()).toEqual({ code: 0, signal: null });
    expect(worker.lines.some(msg('stopped'))).toBe(true);
  });

  it('an HTTP port in use is a configuration error found before the emulators start: exits 2', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const port = (taken.address() as AddressInfo).port;
    try {
      const worker = track(runCli(['start'], { ...EMBEDDED, HTTP_PORT: String(port) }));
      expect(await worker.exit()).toEqual({ code: 2, signal: null });
      expect(worker.stderr()).toMatch(/^config error: HTTP_PORT=\d+: the port is in use/m);
      expect(worker.stdout()).toBe('');
      expect(worker.stderr()).not.toMatch(/still open/);
    } finally {
      await new Promise<void>((done) => taken.close(() => done()));
    }
  });

  it('a start that fails inside the emulators set-up still exits 1', async () => {
    // The SDK refuses FIPS with the emulators' custom endpoints at the first call (a bad
    // AWS_REGION, used here before, is now a configuration error: exit 2, issue 20).
    const worker = track(runCli(['start'], { ...EMBEDDED, AWS_USE_FIPS_ENDPOINT: 'true' }));
    expect(await worker.exit()).toEqual({ code: 1, signal: null });
    expect(worker.stderr()).toMatch(/^failed: .*FIPS/m);
  });

  describe('on a queue and table of its own', () => {
    const aws = useTestAws();
    let f: Fixture;

    beforeEach(async () => {
      f = await fixture(aws);
    });

    const env = (dynamodbEndpoint: string) => ({
      SQS_QUEUE_URL: f.queueUrl,
      AWS_ENDPOINT_URL_SQS: aws.settings.sqsEndpoint as string,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      IDEMPOTENCY_TABLE: f.table,
      HANDLER: resolve('test/fixtures/slow-handler.mjs'),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      SQS_WAIT_TIME_SECONDS: '1',
      // Per-message outcome lines are at debug.
      LOG_LEVEL: 'debug',
    });

    it('while the table is checked: exits 0 and never polls', async () => {
      await send(aws, f.queueUrl, [{ body: '{"job":1}', key: 'untouched' }]);
      const proxy = holdingDynamoProxy(aws.settings.dynamodbEndpoint as string);
      const worker = track(runCli(['start'], env(await proxy.listen())));
      try {
        await proxy.held;
        // The stop must be taken while the check is still held, without waiting for the
        // request's timeout to free it: a further SIGTERM is reported ("already stopping") only
        // once the first was taken. Sent until then, as two signals sent at once may merge.
        await eventually(async () => {
          worker.child.kill('SIGTERM');
          return /SIGTERM: already stopping/.test(worker.stderr()) ? true : undefined;
        });
        proxy.release();
        await worker.waitForLine(msg('stopping: draining in-flight messages'));
        await expectCancelledStart(worker);
      } finally {
        proxy.release();
        await proxy.close();
      }
      // Received now for the first time: the worker never took it.
      const out = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: f.queueUrl,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      expect(out.Messages?.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1']);
    });

    it('a second signal while draining does not cut the drain short: the message finishes, exit 0', async () => {
      const worker = track(
        runCli(['start'], { ...env(aws.settings.dynamodbEndpoint as string), SLOW_HANDLER_MS: '1500' }),
      );
      await worker.waitForLine(msg('worker started'));
      await send(aws, f.queueUrl, [{ body: '{"job":2}', key: 'drained' }]);
      await worker.waitForLine(msg('slow handler started'));
      worker.child.kill('SIGTERM');
      await worker.waitForLine(msg('stopping: draining in-flight messages'));
      worker.child.kill('SIGTERM');
      expect(await worker.exit()).toEqual({ code: 0, signal: null });
      expect(worker.stderr()).toMatch(/SIGTERM: already stopping/);
      expect(worker.lines.find((l) => l.key === 'drained' && l.msg === 'message success')).toBeDefined();
    });
  });
});
