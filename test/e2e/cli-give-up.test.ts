import { startCliFixture, type CliFixture } from '../helpers/cli.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import type { RunningProcess } from '../helpers/process.js';

/**
 * Issue 21, item 8: one-shot commands give up on a service that does not answer within a bound
 * (--give-up S, 30 s by default), exit 1 and name the service and its endpoint. The bound here is
 * small, so no test waits for the default.
 */
describe('one-shot commands give up on a service that does not answer', () => {
  let f: CliFixture;
  let env: Record<string, string>;
  let proxy: TcpProxy;
  const spawned: RunningProcess[] = [];

  beforeAll(async () => {
    f = await startCliFixture();
    env = await f.queue('giveup');
  });

  beforeEach(async () => {
    proxy = await TcpProxy.start(f.env.AWS_ENDPOINT_URL_SQS as string);
  });

  afterEach(async () => {
    for (const cli of spawned.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
      await cli.exit();
    }
    await proxy.close();
  });

  afterAll(async () => {
    await f.close();
  });

  const start = (args: string[]) => {
    const cli = f.spawn(args, { ...env, AWS_ENDPOINT_URL_SQS: proxy.url });
    spawned.push(cli);
    return cli;
  };

  it('queue stats against an SQS that accepts connections but never answers: exit 1 naming SQS', async () => {
    proxy.stall();
    const cli = start(['queue', 'stats', '--give-up', '1']);
    expect((await cli.exit()).code).toBe(1);
    expect(cli.stderr()).toContain(`failed: SQS at ${proxy.url} did not answer for 1 s`);
    expect(cli.stdout()).toBe('');
  });

  it('consume --count 2 whose SQS goes away after the first message: exit 1 naming SQS', async () => {
    expect((await f.run(['produce', '--count', '1'], env)).code).toBe(0);
    const cli = start(['consume', '--count', '2', '--give-up', '2']);
    await cli.waitForLine((line) => line.outcome === 'success');
    await proxy.refuse();
    expect((await cli.exit()).code).toBe(1);
    expect(cli.stderr()).toMatch(
      new RegExp(`failed: SQS at ${proxy.url} did not answer for 2 s \\(last error: .*ECONNREFUSED`),
    );
    expect(cli.stderr()).not.toContain('still open');
  });
});
