import { randomUUID } from 'node:crypto';

/**
 * jest's globalSetup: names this run in the jest process's environment, which its workers
 * inherit. The helpers mark every child they start with it (children.ts), and the global
 * teardown looks for processes that still carry the mark.
 *
 * jest loads this file and the teardown with Node's own loader (types stripped, no module
 * mapping): they import nothing relative, so the variable's name is repeated here
 * (RUN_VARIABLE in jest-global-teardown.ts).
 */
// eslint-disable-next-line no-restricted-syntax -- jest takes the module's default export
export default function globalSetup(): void {
  process.env.SQS_WORKER_TEST_RUN = `${process.pid}-${randomUUID().slice(0, 8)}`;
}
