import { afterAll, afterEach, beforeEach } from '@jest/globals';
import { endChildren, testStarted } from './children.js';

// Loaded by every test file (setupFilesAfterEnv in jest.config.js). These hooks sit above the
// file's own: beforeEach runs before the file's, afterEach and afterAll after the file's, so a
// file's own cleanup still runs first (a graceful SIGTERM and its checks), and whatever it left
// running is killed here, also after a test that failed or timed out.
beforeEach(() => {
  testStarted();
});

afterEach(async () => {
  await endChildren('test');
});

afterAll(async () => {
  await endChildren('file');
});
