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

  it('signals that keep coming until it has exited do not turn a clean stop into death by signal', async () => {
    // A copy of the Ctrl-C that arrives late (npm's forward on a loaded machine) can land after the
    // stop is done, while Node tears down: Node has then put SIGINT back to its default action,
    // and the process died of it (exit signal SIGINT instead of code 0). Keep signalling until the
    // process is gone, so one of them lands in that moment.
    const emulators = runCli(['emulators'], {
      EMBEDDED_SQS_PORT: '0',
      EMBEDDED_DYNAMODB_PORT: '0',
      LOG_LEVEL: 'info',
    });
    await emulators.waitForLine((l) => l.msg === 'emulators running');
    const again = setInterval(() => {
      if (emulators.child.exitCode === null && emulators.child.signalCode === null)
        emulators.child.kill('SIGINT');
    }, 1);
    try {
      expect(await emulators.exit()).toEqual({ code: 0, signal: null });
    } finally {
      clearInterval(again);
    }
  });
});
