import { beforeAll, describe, expect, it } from '@jest/globals';
import { StrictChecker, validateWithModel } from './helpers/models.js';
import { find, render, replaceOnce, scratchCopy, useRendered } from './helpers/tools.js';

/** Every kustomization a user applies: the base alone and each overlay (with both components). */
const TARGETS = ['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/prod'];

const objectsOf = useRendered(TARGETS);
let strict: StrictChecker;

beforeAll(() => {
  strict = new StrictChecker(TARGETS.flatMap(objectsOf));
});

describe.each(TARGETS)('kubectl kustomize %s', (target) => {
  it('renders', () => {
    expect(objectsOf(target).map((o) => o.kind)).toEqual(
      expect.arrayContaining(['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']),
    );
  });

  it('validates every object with its model (types, enums, required fields)', async () => {
    const objects = objectsOf(target);
    for (const object of objects) await validateWithModel(object);
    expect(objects.length).toBeGreaterThanOrEqual(5);
  });

  it('has no field its model does not declare', () => {
    expect(objectsOf(target).flatMap((o) => strict.errors(o))).toEqual([]);
  });
});

describe('the overlays', () => {
  it.each(['k8s/overlays/dev', 'k8s/overlays/prod'])('%s adds the KEDA and monitoring objects', (target) => {
    const kinds = objectsOf(target).map((o) => o.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['ScaledObject', 'TriggerAuthentication', 'PodMonitor', 'PrometheusRule']),
    );
  });

  it('leave the replica count to KEDA', () => {
    for (const target of TARGETS) {
      const deployment = find(objectsOf(target), 'Deployment') as unknown as {
        spec: Record<string, unknown>;
      };
      expect(deployment.spec).not.toHaveProperty('replicas');
    }
  });
});

describe('the checks fail on broken copies', () => {
  it('validate() rejects a wrong type', async () => {
    const deployment = structuredClone(find(objectsOf('k8s/overlays/prod'), 'Deployment'));
    (deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec[
      'terminationGracePeriodSeconds'
    ] = 'forty-five';
    await expect(validateWithModel(deployment)).rejects.toThrow(/terminationGracePeriodSeconds/);
  });

  it('the strict check names a misspelt field at any depth', () => {
    const copy = scratchCopy(['k8s']);
    try {
      copy.write(
        'k8s/base/deployment.yaml',
        replaceOnce(
          copy.read('k8s/base/deployment.yaml'),
          'readOnlyRootFilesystem:',
          'readOnlyRootFileSystem:',
        ),
      );
      copy.write(
        'k8s/components/keda/scaledobject.yaml',
        replaceOnce(copy.read('k8s/components/keda/scaledobject.yaml'), 'minReplicaCount:', 'minReplicas:'),
      );
      const objects = render('k8s/overlays/prod', copy.dir);
      const errors = objects.flatMap((o) => strict.errors(o));
      expect(errors).toEqual([
        'Deployment/sqs-worker.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: unknown field',
        'ScaledObject/sqs-worker.spec.minReplicas: unknown field',
      ]);
    } finally {
      copy.remove();
    }
  });

  it('kustomize fails on a kustomization that names a missing file', () => {
    const copy = scratchCopy(['k8s']);
    try {
      copy.write(
        'k8s/base/kustomization.yaml',
        replaceOnce(copy.read('k8s/base/kustomization.yaml'), '- service.yaml', '- servise.yaml'),
      );
      expect(() => render('k8s/overlays/dev', copy.dir)).toThrow(/servise\.yaml/);
    } finally {
      copy.remove();
    }
  });
});
