import { fieldVariables, variables } from '../../../src/config/variables.js';
import { find, type K8sObject } from './tools.js';

/**
 * Variables the deployment files may set that are not the worker's own settings: Node's, and
 * the AWS SDK's credential chain (compose's dummy keys for the emulators).
 */
export const RUNTIME_VARIABLES = new Set([
  'NODE_ENV',
  'NODE_OPTIONS',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
]);

const byName = new Map(variables.map((v) => [v.name, v]));

/** Problems of an environment: unknown names, and values the schema's variable rejects. */
export function environmentProblems(env: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (RUNTIME_VARIABLES.has(name)) continue;
    const variable = byName.get(name);
    if (!variable) {
      problems.push(`${name}: not a variable of src/config/schema.ts`);
      continue;
    }
    // Compose's ${VAR:-default}: the default is what the worker sees unless the user sets VAR.
    const effective = value.replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
    const read = variable.fromEnv(effective);
    if ('problem' in read) problems.push(`${name}=${effective}: ${read.problem}`);
  }
  return problems;
}

/** The schema's default of a variable, as it would be written in the environment. */
export function schemaDefault(name: string): string {
  const value = fieldVariables.find((v) => v.name === name)?.default;
  if (value === undefined) throw new Error(`${name} has no default in the schema`);
  return value;
}

/** The variable's value in `env`, else the schema's default, as a number. */
export const numberSetting = (env: Readonly<Record<string, string>>, name: string): number =>
  Number(env[name] ?? schemaDefault(name));

/**
 * Seconds the kubelet (or compose) must wait after SIGTERM: in-flight handlers get
 * SHUTDOWN_TIMEOUT, the releases after it wait out the aborted long poll (SQS_WAIT_TIME_SECONDS
 * from SIGTERM), then the releases and the log flush take the margin.
 */
export const SHUTDOWN_MARGIN_SECONDS = 10;
export function requiredGraceSeconds(env: Readonly<Record<string, string>>): number {
  return (
    Math.max(numberSetting(env, 'SHUTDOWN_TIMEOUT'), numberSetting(env, 'SQS_WAIT_TIME_SECONDS')) +
    SHUTDOWN_MARGIN_SECONDS
  );
}

/** Kubernetes quantities of memory, in MiB. */
export function mebibytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = {
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    K: 1e3 / 2 ** 20,
    M: 1e6 / 2 ** 20,
    G: 1e9 / 2 ** 20,
  };
  return Number(match[1]) * (match[2] ? (factor[match[2]] ?? 0) : 1 / 2 ** 20);
}

/** V8's old space, from NODE_OPTIONS' --max-old-space-size (MiB), or undefined. */
export function heapMebibytes(nodeOptions: string | undefined): number | undefined {
  const match = /--max-old-space-size=(\d+)/.exec(nodeOptions ?? '');
  return match ? Number(match[1]) : undefined;
}

/** The heap bound leaves a quarter of the container's memory limit for everything else. */
export function heapProblem(
  nodeOptions: string | undefined,
  memoryLimit: string | undefined,
): string | undefined {
  if (memoryLimit === undefined) return 'no memory limit';
  const heap = heapMebibytes(nodeOptions);
  if (heap === undefined) return 'NODE_OPTIONS does not bound the heap (--max-old-space-size)';
  const limit = mebibytes(memoryLimit);
  return heap <= limit * 0.75 ? undefined : `heap ${heap} MiB is over 75% of the ${limit} MiB limit`;
}

export interface WorkerParts {
  readonly deployment: K8sObject;
  readonly pod: PodSpec;
  readonly container: Container;
  /** The ConfigMap's data plus the container's own env. */
  readonly env: Record<string, string>;
}

export interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
export interface Container {
  name: string;
  image?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string } }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; emptyDir?: object }[];
  topologySpreadConstraints?: { labelSelector?: { matchLabels?: Record<string, string> } }[];
}

/** The worker's Deployment, pod spec, container and effective environment in rendered objects. */
export function workerParts(objects: readonly K8sObject[]): WorkerParts {
  const deployment = find(objects, 'Deployment');
  const pod = (deployment as unknown as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  const container = pod.containers[0];
  if (!container) throw new Error('the Deployment has no container');
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (name === undefined) continue;
    Object.assign(
      env,
      (find(objects, 'ConfigMap', name) as unknown as { data: Record<string, string> }).data,
    );
  }
  for (const entry of container.env ?? []) if (entry.value !== undefined) env[entry.name] = entry.value;
  return { deployment, pod, container, env };
}

/** A Dockerfile's instructions: continuation lines joined, comments and blank lines dropped. */
export function dockerfileInstructions(text: string): { keyword: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/**
 * The Dockerfile's rules, beyond what a linter sees: a pinned base (exact Node version equal to
 * the `node` dev dependency, and a digest), deps / build / runtime stages, `npm ci --omit=dev`,
 * a non-root numeric USER, NODE_ENV=production, a HEALTHCHECK on /healthz with Node's fetch, OCI
 * labels, the sidecar's port exposed, and CMD running node itself in exec form.
 */
export function dockerfileProblems(text: string, nodeVersion: string, httpPort: string): string[] {
  const problems: string[] = [];
  const steps = dockerfileInstructions(text);
  const all = (keyword: string) => steps.filter((s) => s.keyword === keyword).map((s) => s.args);
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1] ?? '';
  if (!base.startsWith(`node:${nodeVersion}-bookworm-slim@sha256:`) || !/@sha256:[0-9a-f]{64}$/.test(base)) {
    problems.push(`base image ${base || '(none)'} is not node:${nodeVersion}-bookworm-slim pinned by digest`);
  }
  const stages = all('FROM').map((args) => /\bAS\s+(\S+)$/i.exec(args)?.[1]);
  if (stages.join(',') !== 'deps,build,runtime')
    problems.push(`stages ${stages.join(',')}, not deps,build,runtime`);
  if (!all('FROM').every((args) => args.startsWith('${NODE_IMAGE}')))
    problems.push('a stage not FROM ${NODE_IMAGE}');
  const runs = all('RUN').join('\n');
  if (!/npm ci --omit=dev/.test(runs)) problems.push('no npm ci --omit=dev');
  if (!/npm run build/.test(runs)) problems.push('no npm run build');
  const user = all('USER').at(-1) ?? '';
  if (!/^[1-9]\d*(:\d+)?$/.test(user))
    problems.push(`USER ${user || '(none)'} is not a numeric non-root user`);
  if (!all('ENV').includes('NODE_ENV=production')) problems.push('no ENV NODE_ENV=production');
  const health = all('HEALTHCHECK').join(' ');
  if (!/fetch\(.*\/healthz/.test(health)) problems.push('no HEALTHCHECK calling /healthz with fetch');
  const labels = all('LABEL').join(' ');
  for (const label of ['title', 'description', 'licenses', 'version', 'revision', 'source']) {
    if (!labels.includes(`org.opencontainers.image.${label}=`)) problems.push(`no OCI label ${label}`);
  }
  if (!all('EXPOSE').includes(httpPort)) problems.push(`EXPOSE is not HTTP_PORT's default ${httpPort}`);
  const cmd = all('CMD').at(-1);
  if (cmd !== '["node", "dist/main.js", "start"]')
    problems.push(`CMD ${cmd ?? '(none)'} is not node in exec form`);
  const runtime = text.slice(text.search(/^FROM \S+ AS runtime$/m));
  const copied = dockerfileInstructions(runtime)
    .filter((s) => s.keyword === 'COPY')
    .map((s) => s.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0]);
  const expected = ['/app/node_modules', '/app/dist', 'package.json', 'config'];
  if (copied.join(',') !== expected.join(',')) problems.push(`the runtime stage copies ${copied.join(', ')}`);
  return problems;
}

/**
 * The V8 flags each launch path puts ahead of the user's own NODE_OPTIONS (whose later flag wins):
 * package.json's start script and the image's ENV. Undefined when a
 * path is not written in the expected form, so that a rewrite that drops the default is caught.
 */
export const launchDefaults = {
  startScript: (script: string): string | undefined =>
    /^NODE_OPTIONS="([^"$]+) \$NODE_OPTIONS" exec node dist\/main\.js start$/.exec(script)?.[1],
  dockerfile: (text: string): string | undefined =>
    dockerfileInstructions(text)
      .filter((s) => s.keyword === 'ENV' && s.args.startsWith('NODE_OPTIONS='))
      .map((s) => s.args.slice('NODE_OPTIONS='.length))
      .at(-1),
};

/** The flags of `defaults` that a NODE_OPTIONS which replaces them (k8s, compose) leaves out. */
export function missingDefaults(defaults: string, nodeOptions: string | undefined): string[] {
  const given = new Set((nodeOptions ?? '').split(/\s+/));
  return defaults.split(/\s+/).filter((flag) => !given.has(flag));
}
