import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { buildServer, type HealthReport } from '../../src/http/server.js';
import {
  dockerfileInstructions,
  dockerfileProblems,
  environmentProblems,
  heapProblem,
  launchDefaults,
  missingDefaults,
  requiredGraceSeconds,
  schemaDefault,
  workerParts,
} from './helpers/artifacts.js';
import {
  find,
  readCompose,
  readText,
  readYaml,
  run,
  scratchCopy,
  useRendered,
  type ComposeService,
} from './helpers/tools.js';

const OVERLAYS = ['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/prod'];
const objectsOf = useRendered(OVERLAYS);

const compose = readCompose();
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
};
const builtServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
const HTTP_PORT = schemaDefault('HTTP_PORT');
const pkg = JSON.parse(readText('package.json')) as {
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

describe('ports and probe paths are the sidecar routes', () => {
  const ok: HealthReport = { ok: true, checks: {} };
  const server = buildServer({
    registry: new Registry(),
    liveness: () => ok,
    readiness: () => ok,
    eventLoopDelayMs: () => 0,
    seed: {
      access: undefined,
      send: () => Promise.reject(new Error('unused')),
      records: () => Promise.reject(new Error('unused')),
    },
  });
  const status = async (path: string): Promise<number> => (await server.inject(path)).statusCode;

  it('the app answers the probe and scrape paths (and 404 elsewhere, so the check can fail)', async () => {
    const paths = new Set<string>(['/metrics']);
    for (const target of OVERLAYS) {
      const { container } = workerParts(objectsOf(target));
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        paths.add(probe?.httpGet?.path ?? '(no httpGet probe)');
      }
    }
    const monitor = find(objectsOf('k8s/overlays/prod'), 'PodMonitor') as unknown as {
      spec: { podMetricsEndpoints: { path: string; port: string }[] };
    };
    for (const endpoint of monitor.spec.podMetricsEndpoints) paths.add(endpoint.path);
    expect([...paths].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    for (const path of paths) expect(await status(path)).toBe(200);
    expect(await status('/healthzz')).toBe(404);
  });

  it.each(OVERLAYS)('%s: the container port is HTTP_PORT and the probes and Service use it', (target) => {
    const objects = objectsOf(target);
    const { container, env } = workerParts(objects);
    const port = container.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(Number(env['HTTP_PORT'] ?? HTTP_PORT));
    expect(String(port?.containerPort)).toBe(HTTP_PORT);
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(probe?.httpGet?.port).toBe('http');
    }
    const svc = find(objects, 'Service') as unknown as { spec: { ports: { targetPort: string }[] } };
    expect(svc.spec.ports.map((p) => p.targetPort)).toEqual(['http']);
  });

  it('compose publishes, the Dockerfile exposes and Prometheus scrapes HTTP_PORT', () => {
    expect(service('worker').ports).toEqual([`127.0.0.1:${HTTP_PORT}:${HTTP_PORT}`]);
    const expose = dockerfileInstructions(readText('Dockerfile')).filter((s) => s.keyword === 'EXPOSE');
    expect(expose.map((s) => s.args)).toEqual([HTTP_PORT]);
    expect(readText('ops/prometheus/prometheus.yml')).toContain(`worker:${HTTP_PORT}`);
  });

  it('every compose port is bound to 127.0.0.1', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });
});

describe('every variable the deployment sets is a setting of the config schema', () => {
  it.each(OVERLAYS)('%s: the ConfigMap and the container env', (target) => {
    expect(environmentProblems(workerParts(objectsOf(target)).env)).toEqual([]);
  });

  it('compose: the services built from the Dockerfile', () => {
    expect(builtServices.map(([name]) => name).sort()).toEqual(['table', 'worker']);
    for (const [, s] of builtServices) expect(environmentProblems(s.environment ?? {})).toEqual([]);
  });

  it('the Dockerfile', () => {
    const env = Object.fromEntries(
      dockerfileInstructions(readText('Dockerfile'))
        .filter((s) => s.keyword === 'ENV')
        .map((s) => s.args.split('=') as [string, string]),
    );
    expect(Object.keys(env)).toEqual(['NODE_ENV', 'NODE_OPTIONS', 'HTTP_HOST']);
    expect(environmentProblems(env)).toEqual([]);
  });

  it('a container listens on all its interfaces: the default HTTP_HOST is loopback', () => {
    expect(schemaDefault('HTTP_HOST')).toBe('127.0.0.1');
    const image = dockerfileInstructions(readText('Dockerfile')).filter((s) => s.keyword === 'ENV');
    expect(image.map((s) => s.args)).toContain('HTTP_HOST=0.0.0.0');
    expect(service('worker').environment?.['HTTP_HOST']).toBe('0.0.0.0');
    for (const target of OVERLAYS) expect(workerParts(objectsOf(target)).env['HTTP_HOST']).toBe('0.0.0.0');
  });

  it('rejects a misspelt name and a bad value', () => {
    expect(
      environmentProblems({ SQS_QUEUE_ULR: 'x', SHUTDOWN_TIMEOUT: 'soon', NODE_ENV: 'production' }),
    ).toEqual([
      'SQS_QUEUE_ULR: not a variable of src/config/schema.ts',
      expect.stringMatching(/^SHUTDOWN_TIMEOUT=soon: /),
    ]);
  });
});

describe('shutdown fits in the grace period', () => {
  it.each(OVERLAYS)(
    '%s: terminationGracePeriodSeconds covers SHUTDOWN_TIMEOUT, the aborted poll and a margin',
    (target) => {
      const { pod, env } = workerParts(objectsOf(target));
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(requiredGraceSeconds(env));
    },
  );

  it('compose: stop_grace_period of the worker too', () => {
    const worker = service('worker');
    expect(Number(/^(\d+)s$/.exec(worker.stop_grace_period ?? '')?.[1])).toBeGreaterThanOrEqual(
      requiredGraceSeconds(worker.environment ?? {}),
    );
  });

  it('a longer SHUTDOWN_TIMEOUT needs a longer grace period (the check can fail)', () => {
    const { pod, env } = workerParts(objectsOf('k8s/overlays/prod'));
    expect(pod.terminationGracePeriodSeconds).toBeLessThan(
      requiredGraceSeconds({ ...env, SHUTDOWN_TIMEOUT: '60' }),
    );
  });
});

describe('resources and security', () => {
  it.each(OVERLAYS)('%s: the heap is bounded below the memory limit', (target) => {
    const { container, env } = workerParts(objectsOf(target));
    expect(heapProblem(env['NODE_OPTIONS'], container.resources?.limits?.['memory'])).toBeUndefined();
    expect(container.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String) }));
  });

  it('rejects a heap too close to the limit', () => {
    expect(heapProblem('--max-old-space-size=500', '512Mi')).toMatch(/over 75%/);
    expect(heapProblem(undefined, '512Mi')).toMatch(/does not bound/);
  });

  it.each(OVERLAYS)('%s: non-root, read-only, no privileges, /tmp an emptyDir', (target) => {
    const { pod, container } = workerParts(objectsOf(target));
    const uid = /^USER (\d+)/m.exec(readText('Dockerfile'))?.[1];
    expect(pod.securityContext).toEqual(
      expect.objectContaining({
        runAsNonRoot: true,
        runAsUser: Number(uid),
        seccompProfile: { type: 'RuntimeDefault' },
      }),
    );
    expect(container.securityContext).toEqual(
      expect.objectContaining({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      }),
    );
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it.each(OVERLAYS)('%s: rolling updates keep every pod until its successor is ready', (target) => {
    const { deployment } = workerParts(objectsOf(target));
    expect(deployment['spec']).toEqual(
      expect.objectContaining({
        strategy: expect.objectContaining({ rollingUpdate: expect.objectContaining({ maxUnavailable: 0 }) }),
      }),
    );
  });

  it.each(OVERLAYS)('%s: topology spread and the PDB select the worker pods', (target) => {
    const objects = objectsOf(target);
    const { deployment, pod } = workerParts(objects);
    const podLabels = (
      deployment as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }
    ).spec.template.metadata.labels;
    const selectors = [
      ...(pod.topologySpreadConstraints ?? []).map((c) => c.labelSelector?.matchLabels),
      (find(objects, 'PodDisruptionBudget') as unknown as { spec: { selector: { matchLabels: object } } })
        .spec.selector.matchLabels,
    ];
    expect(selectors.length).toBeGreaterThanOrEqual(3);
    for (const selector of selectors)
      expect(podLabels).toEqual(expect.objectContaining(selector ?? { selector: 'missing' }));
  });
});

describe('KEDA scales on the queue the worker consumes', () => {
  it.each(['k8s/overlays/dev', 'k8s/overlays/prod'])('%s', (target) => {
    const objects = objectsOf(target);
    const { env } = workerParts(objects);
    const scaled = find(objects, 'ScaledObject') as unknown as {
      spec: {
        scaleTargetRef: { name: string };
        triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
      };
    };
    const [trigger] = scaled.spec.triggers;
    expect(trigger?.type).toBe('aws-sqs-queue');
    const metadata = trigger?.metadata ?? {};
    // The aws-sqs-queue scaler's parameters; a misspelt one would be ignored by KEDA.
    const known = [
      'queueURL',
      'queueURLFromEnv',
      'queueLength',
      'activationQueueLength',
      'awsRegion',
      'awsEndpoint',
      'scaleOnInFlight',
      'scaleOnDelayed',
    ];
    expect(Object.keys(metadata).filter((k) => !known.includes(k))).toEqual([]);
    expect(env[metadata['queueURLFromEnv'] ?? '']).toMatch(/^https:\/\/sqs\./);
    expect(metadata['awsRegion']).toBe(env['AWS_REGION']);
    expect(Number(metadata['queueLength'])).toBeLessThanOrEqual(
      Number(env['MAX_IN_FLIGHT'] ?? schemaDefault('MAX_IN_FLIGHT')),
    );
    expect(metadata).toEqual(
      expect.objectContaining({ activationQueueLength: expect.any(String), scaleOnInFlight: 'true' }),
    );
    expect(scaled.spec.scaleTargetRef.name).toBe(workerParts(objects).deployment.metadata.name);
    const auth = find(objects, 'TriggerAuthentication', trigger?.authenticationRef.name) as unknown as {
      spec: object;
    };
    expect(auth.spec).toEqual({ podIdentity: { provider: 'aws', identityOwner: 'workload' } });
  });
});

describe('one source of truth for the alert rules and the dashboard', () => {
  it('the PrometheusRule holds exactly the rules of ops/prometheus/alerts.yml', () => {
    for (const target of ['k8s/overlays/dev', 'k8s/overlays/prod']) {
      const rule = find(objectsOf(target), 'PrometheusRule') as unknown as { spec: unknown };
      expect(rule.spec).toEqual(readYaml('ops/prometheus/alerts.yml'));
    }
  });

  it("compose's Prometheus loads the same file", () => {
    expect(service('prometheus').volumes).toContain('./ops/prometheus:/etc/prometheus:ro');
    expect(service('prometheus').command).toContain('--config.file=/etc/prometheus/prometheus.yml');
    expect((readYaml('ops/prometheus/prometheus.yml') as { rule_files: string[] }).rule_files).toEqual([
      'alerts.yml',
    ]);
  });

  it("the dashboard ConfigMap holds ops/grafana's dashboard, and compose's Grafana mounts it", () => {
    const map = find(objectsOf('k8s/overlays/prod'), 'ConfigMap', 'sqs-worker-dashboard') as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(map.data['sqs-worker-dashboard.json'] ?? '')).toEqual(
      JSON.parse(readText('ops/grafana/sqs-worker-dashboard.json')),
    );
    expect(service('grafana').volumes).toContain('./ops/grafana:/var/lib/grafana/dashboards:ro');
  });

  it('the generator finds nothing to change, and fails --check when ops/ changed', () => {
    expect(run(process.execPath, ['scripts/k8s-monitoring.mjs', '--check'])).toEqual(
      expect.objectContaining({ status: 0 }),
    );
    const copy = scratchCopy(['ops', 'k8s', 'scripts']);
    try {
      copy.write(
        'ops/prometheus/alerts.yml',
        copy.read('ops/prometheus/alerts.yml').replace('for: 1m', 'for: 2m'),
      );
      const result = run(process.execPath, ['scripts/k8s-monitoring.mjs', '--check', '--root', copy.dir]);
      expect(result.status).toBe(1);
      expect(result.output).toMatch(/prometheusrule\.yaml differs from ops/);
    } finally {
      copy.remove();
    }
  });
});

describe('compose and ElasticMQ agree on the queue', () => {
  const conf = readText('config/elasticmq.conf');
  const worker = service('worker').environment ?? {};
  const queue = (worker['SQS_QUEUE_URL'] ?? '').split('/').at(-1) ?? '';

  it('the queue, its dead-letter queue, maxReceiveCount and visibility timeout', () => {
    const block = new RegExp(`^  ${queue} \\{([\\s\\S]*?)^  \\}`, 'm').exec(conf)?.[1] ?? '';
    expect(block).toMatch(new RegExp(`name = "${queue}-dlq"`));
    expect(block).toMatch(
      new RegExp(`maxReceiveCount = ${worker['MAX_RECEIVE_COUNT'] ?? schemaDefault('MAX_RECEIVE_COUNT')}\\b`),
    );
    expect(block).toMatch(
      new RegExp(
        `defaultVisibilityTimeout = ${worker['SQS_VISIBILITY_TIMEOUT'] ?? schemaDefault('SQS_VISIBILITY_TIMEOUT')} seconds`,
      ),
    );
    expect(conf).toMatch(new RegExp(`^  ${queue}-dlq \\{`, 'm'));
    expect(service('elasticmq').volumes).toContain('./config/elasticmq.conf:/opt/elasticmq.conf:ro');
  });

  it("the table service runs the worker's own `table create` on the worker's table", () => {
    expect(service('table').command).toEqual(['node', 'dist/main.js', 'table', 'create']);
    expect(service('table').environment?.['IDEMPOTENCY_TABLE']).toBe(worker['IDEMPOTENCY_TABLE']);
  });

  it('every image is pinned to an exact version and by digest (issue 20)', () => {
    const images = Object.values(compose.services).flatMap((s) => (s.image ? [s.image] : []));
    expect(images.length).toBe(4);
    for (const image of images) expect(image).toMatch(/:v?\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
  });
});

describe('the Dockerfile', () => {
  const node = pkg.devDependencies['node'] ?? '';

  it('follows its rules, with the Node version of the `node` dev dependency and .nvmrc', () => {
    expect(node).toMatch(/^\d+\.\d+\.\d+$/);
    expect(node.split('.')[0]).toBe(readText('.nvmrc').trim());
    expect(dockerfileProblems(readText('Dockerfile'), node, HTTP_PORT)).toEqual([]);
  });

  it('names what a broken copy gets wrong', () => {
    const broken = readText('Dockerfile')
      .replace(/^USER .*$/m, 'USER node')
      .replace('CMD ["node", "dist/main.js", "start"]', 'CMD ["npm", "start"]')
      .replace(/@sha256:[0-9a-f]{64}/, '');
    expect(dockerfileProblems(broken, node, HTTP_PORT)).toEqual([
      expect.stringMatching(/not node:.* pinned by digest/),
      'USER node is not a numeric non-root user',
      'CMD ["npm", "start"] is not node in exec form',
    ]);
  });
});

describe("one default for V8's young generation in every launch path", () => {
  const fromStart = launchDefaults.startScript(pkg.scripts['start'] ?? '');

  it('npm start and the image put the same flags ahead of the user NODE_OPTIONS', () => {
    expect(fromStart).toBe('--max-semi-space-size=16');
    expect(launchDefaults.dockerfile(readText('Dockerfile'))).toBe(fromStart);
  });

  it("the bin's shebang is the portable one (env -S is missing from coreutils before 8.30)", () => {
    expect(readText('src/main.ts').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it.each(OVERLAYS)('%s: the NODE_OPTIONS that replaces the image one repeats them', (target) => {
    expect(missingDefaults(fromStart ?? '', workerParts(objectsOf(target)).env['NODE_OPTIONS'])).toEqual([]);
  });

  it('compose: a service that sets NODE_OPTIONS repeats them', () => {
    const own = Object.values(compose.services).flatMap((s) => s.environment?.['NODE_OPTIONS'] ?? []);
    expect(own.flatMap((options) => missingDefaults(fromStart ?? '', options))).toEqual([]);
  });

  it('the bench starts ours with the start script itself', () => {
    expect(readText('bench/run-one.mjs')).toMatch(/\['-c', scripts\.start\]/);
  });

  it('names a launch path that lost the default (the check can fail)', () => {
    expect(launchDefaults.startScript('exec node dist/main.js start')).toBeUndefined();
    expect(launchDefaults.dockerfile('ENV NODE_ENV=production')).toBeUndefined();
    expect(missingDefaults('--max-semi-space-size=16', '--max-old-space-size=384')).toEqual([
      '--max-semi-space-size=16',
    ]);
  });

  describe('on this machine', () => {
    const env = { PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}` };
    const limit = (args: string[], extra: Record<string, string> = {}) => {
      const result = spawnSync(args[0] ?? '', args.slice(1), { env: { ...env, ...extra }, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
      return JSON.parse(result.stdout) as { options: string | null; limit: number };
    };
    const PRINT = `console.log(JSON.stringify({ options: process.env.NODE_OPTIONS ?? null,
      limit: (await import('node:v8')).default.getHeapStatistics().heap_size_limit }));`;
    const node = (flags: string[], extra?: Record<string, string>) =>
      limit([process.execPath, ...flags, '--input-type=module', '-e', PRINT], extra).limit;
    let dir = '';
    let script = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'start-script-'));
      script = join(dir, 'print.mjs');
      writeFileSync(script, `${PRINT}\n`);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("the start script's NODE_OPTIONS applies the default, and a user's NODE_OPTIONS overrides it", () => {
      const [sixteen, thirtyTwo] = [node(['--max-semi-space-size=16']), node(['--max-semi-space-size=32'])];
      expect(sixteen).not.toBe(thirtyTwo);
      // The start script as written, with this test's module in place of the worker.
      const start = (pkg.scripts['start'] ?? '').replace('dist/main.js start', JSON.stringify(script));
      expect(start).toContain(script);
      expect(limit(['/bin/sh', '-c', start])).toEqual({
        options: '--max-semi-space-size=16 ',
        limit: sixteen,
      });
      expect(limit(['/bin/sh', '-c', start], { NODE_OPTIONS: '--max-semi-space-size=32' }).limit).toBe(
        thirtyTwo,
      );
    });

    it('a flag on the command line would win over NODE_OPTIONS: why the default is not there', () => {
      expect(node(['--max-semi-space-size=16'], { NODE_OPTIONS: '--max-semi-space-size=32' })).toBe(
        node(['--max-semi-space-size=16']),
      );
    });
  });
});
