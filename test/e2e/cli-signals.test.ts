import { runCli } from '../helpers/process.js';

/** Issue 21, item 8: how `sqs-worker emulators` answers one Ctrl-C. */
describe('sqs-worker emulators and Ctrl-C', () => {
  it('one Ctrl-C delivered twice (terminal and npm) stops it quietly, with an "emulators stopped" line', async () => {
    const emulators = runCli(['emulators'], {
      EMBEDDED_SQS_PORT: '0',
      EMBEDDED_DYNAMODB_PORT: '0',
      LOG_LEVEL: 'info',
    });
    await emulators.waitForLine((l) => l.msg === 'emulators running');
    emulators.child.kill('SIGINT');
    emulators.child.kill('SIGINT');
    expect(await emulators.exit()).toEqual({ code: 0, signal: null });
    expect(emulators.stderr()).not.toContain('already stopping');
    expect(emulators.lines.find((l) => l.msg === 'emulators stopped')).toMatchObject({ signal: 'SIGINT' });
  });
});
