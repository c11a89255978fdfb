import { startCliFixture, type CliFixture } from '../helpers/cli.js';
import { eventually, MAIN, runProcess, type RunningProcess } from '../helpers/process.js';

/** The commands on a terminal: tables, a progress bar, a question before records clear. */
describe('sqs-worker on a terminal (util-linux script gives it a pseudo-terminal)', () => {
  let f: CliFixture;
  let env: Record<string, string>;

  beforeAll(async () => {
    f = await startCliFixture();
    env = await f.queue('tty');
  });

  afterAll(async () => {
    await f.close();
  });

  /** The command on a terminal (stdout and stderr both the terminal's); stdin writes go to it. */
  function onTerminal(args: string[], queue = env): RunningProcess {
    const command = [process.execPath, MAIN, ...args].join(' ');
    return runProcess('script', ['-qec', command, '/dev/null'], { ...f.env, ...queue }, { stdin: true });
  }

  it('prints a table, not JSON, and --json still prints JSON', async () => {
    const table = onTerminal(['queue', 'stats']);
    expect((await table.exit()).code).toBe(0);
    expect(table.stdout()).toMatch(/^role +queue +visible +inFlight +delayed/m);
    expect(table.stdout()).not.toContain('{');
    const json = onTerminal(['queue', 'stats', '--json']);
    expect((await json.exit()).code).toBe(0);
    expect(json.stdout()).toContain('{"role":"queue"');
  });

  it('produce draws a progress bar and prints its summary as fields', async () => {
    const produced = onTerminal(['produce', '--count', '50']);
    expect((await produced.exit()).code).toBe(0);
    expect(produced.stdout()).toContain('[##############################] produce: 50/50');
    expect(produced.stdout()).toMatch(/^sent: +50\r?$/m);
  });

  it('records clear asks, and deletes nothing unless the answer is yes', async () => {
    const produced = await f.run(['produce', '--count', '2'], env);
    expect(produced.code).toBe(0);
    expect((await f.run(['consume', '--count', '2'], env)).code).toBe(0);

    const declined = onTerminal(['records', 'clear']);
    await eventually(async () => (declined.stdout().includes('Type yes to confirm') ? true : undefined));
    declined.child.stdin?.write('no\n');
    expect((await declined.exit()).code).toBe(1);
    expect(declined.stdout()).toContain('nothing deleted');
    expect((await f.run(['records', 'show'], env)).out).toHaveLength(2);

    const confirmed = onTerminal(['records', 'clear']);
    await eventually(async () => (confirmed.stdout().includes('Type yes to confirm') ? true : undefined));
    confirmed.child.stdin?.write('yes\n');
    expect((await confirmed.exit()).code).toBe(0);
    expect(confirmed.stdout()).toMatch(/deleted: +2/);
    expect((await f.run(['records', 'show'], env)).out).toHaveLength(0);
  });

  it('queue purge asks, as records clear does, and purges nothing unless the answer is yes', async () => {
    const own = await f.queue('purge');
    expect((await f.run(['produce', '--count', '2'], own)).code).toBe(0);
    const declined = onTerminal(['queue', 'purge'], own);
    await eventually(async () => (declined.stdout().includes('Type yes to confirm') ? true : undefined));
    declined.child.stdin?.write('no\n');
    expect((await declined.exit()).code).toBe(1);
    expect(declined.stdout()).toContain('queue purge: nothing deleted');
    const stats = await f.run(['queue', 'stats'], own);
    expect(stats.out[0]).toMatchObject({ role: 'queue', visible: 2 });

    const confirmed = onTerminal(['queue', 'purge'], own);
    await eventually(async () => (confirmed.stdout().includes('Type yes to confirm') ? true : undefined));
    confirmed.child.stdin?.write('yes\n');
    expect((await confirmed.exit()).code).toBe(0);
    expect(confirmed.stdout()).toMatch(/purged: +purge/);
  });

  it('records get shows ISO-8601 times on a terminal; --json keeps epoch numbers', async () => {
    await f.run(['produce', '--count', '1'], env);
    expect((await f.run(['consume', '--count', '1'], env)).code).toBe(0);
    const [record] = (await f.run(['records', 'show'], env)).out;
    const key = record?.key as string;
    const shown = onTerminal(['records', 'get', key]);
    expect((await shown.exit()).code).toBe(0);
    expect(shown.stdout()).toMatch(/^updatedAtMs: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\r?$/m);
    expect(shown.stdout()).toMatch(/^expiresAt: +\d{4}-\d\d-\d\dT/m);
    const json = await f.run(['records', 'get', key, '--json'], env);
    expect(typeof json.out[0]?.updatedAtMs).toBe('number');
  });
});
