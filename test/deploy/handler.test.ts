import { describe, expect, it } from '@jest/globals';
import { dockerfileInstructions, workerParts } from './helpers/artifacts.js';
import {
  bin,
  readCompose,
  readText,
  render,
  replaceOnce,
  run,
  scratchCopy,
  useRendered,
} from './helpers/tools.js';

/**
 * Issue 21, item 2: a deploy names its handler. Following the steps for `kubectl apply -k
 * k8s/overlays/prod` used to deploy the `log` handler, which logs and deletes every production
 * message. Now each overlay renders only with HANDLER in its ConfigMap, compose refuses to start
 * without it, the worker image sets none, and the example handler package's image (FROM the
 * worker's) puts the handler where the overlays say it is.
 */
const OVERLAYS = ['k8s/overlays/dev', 'k8s/overlays/prod'];
const ANNOTATION = 'sqs-idempotent-worker/handler';
const EXAMPLE_DOCKERFILE = 'examples/handler-package/Dockerfile';
const objectsOf = useRendered(['k8s/base', ...OVERLAYS]);
const partsOf = (target: string) => workerParts(objectsOf(target));
const envOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    dockerfileInstructions(text)
      .filter((s) => s.keyword === 'ENV')
      .map((s) => s.args.split('=') as [string, string]),
  );

describe.each(OVERLAYS)('%s', (target) => {
  it('sets HANDLER and shows it on the pod template', () => {
    const { env, deployment } = partsOf(target);
    expect(env['HANDLER']).toBe(envOf(readText(EXAMPLE_DOCKERFILE))['HANDLER']);
    const template = (deployment as unknown as { spec: { template: { metadata: { annotations?: object } } } })
      .spec.template;
    expect(template.metadata.annotations).toEqual({ [ANNOTATION]: env['HANDLER'] });
  });

  it('runs an image of its own, not the bare worker image', () => {
    expect(partsOf(target).container.image).not.toMatch(/(^|\/)sqs-idempotent-worker[:@]/);
  });

  it('does not render without HANDLER', () => {
    const copy = scratchCopy(['k8s']);
    try {
      const file = `${target}/kustomization.yaml`;
      copy.write(file, replaceOnce(copy.read(file), '      - HANDLER=/app/handler/dist/handler.js\n', ''));
      expect(() => render(target, copy.dir)).toThrow(/fieldPath `data\.HANDLER` is missing/);
    } finally {
      copy.remove();
    }
  });
});

it('the base sets no HANDLER, so no overlay inherits a default', () => {
  expect(partsOf('k8s/base').env).not.toHaveProperty('HANDLER');
});

describe('compose', () => {
  const compose = readCompose();

  it('requires HANDLER for the worker: ${HANDLER:?...}, no default', () => {
    expect(compose.services['worker']?.environment?.['HANDLER']).toMatch(/^\$\{HANDLER:\?[^}]+\}$/);
  });

  it('docker-compose config fails without HANDLER, saying what to set', () => {
    const result = run('env', ['-u', 'HANDLER', 'docker-compose', 'config', '-q']);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/set HANDLER - log to try the stack, or the path of your handler module/);
  });
});

describe('the images', () => {
  it('the worker image sets no HANDLER and links the package name to itself for handlers', () => {
    const steps = dockerfileInstructions(readText('Dockerfile'));
    expect(envOf(readText('Dockerfile'))).not.toHaveProperty('HANDLER');
    expect(steps).toContainEqual({
      keyword: 'RUN',
      args: 'ln -s /app /app/node_modules/sqs-idempotent-worker',
    });
  });

  it('the example handler image is FROM the worker image, on the same Node, and sets HANDLER', () => {
    const text = readText(EXAMPLE_DOCKERFILE);
    const froms = dockerfileInstructions(text).filter((s) => s.keyword === 'FROM');
    expect(froms.at(-1)?.args).toBe('${WORKER_IMAGE}');
    const nodeImage = (t: string) => /^ARG NODE_IMAGE=(\S+)$/m.exec(t)?.[1];
    expect(nodeImage(text)).toBe(nodeImage(readText('Dockerfile')));
    expect(envOf(text)['HANDLER']).toMatch(/^\/app\/handler\/.+\.js$/);
  });

  it('the example handler Dockerfile passes dockerfile-utils lint', () => {
    expect(run(bin('dockerfile-utils'), ['lint', EXAMPLE_DOCKERFILE])).toEqual({ status: 0, output: '' });
  });
});
