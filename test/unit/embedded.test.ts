import { EmbeddedUnavailableError } from '../../src/core/errors.js';
import { startEmulators } from '../../src/aws/embedded.js';

describe('embedded mode in an install without the emulators', () => {
  it('fails with a message that says to set SQS_QUEUE_URL', async () => {
    const attempt = startEmulators(
      { sqs: 0, dynamodb: 0 },
      { fauxqs: 'fauxqs-not-installed', dynalite: 'dynalite' },
    );
    await expect(attempt).rejects.toBeInstanceOf(EmbeddedUnavailableError);
    await expect(attempt).rejects.toThrow(/needs the dev dependency fauxqs-not-installed.*Set SQS_QUEUE_URL/);
  });
});
