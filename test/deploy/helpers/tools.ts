import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface RunResult {
  readonly status: number | null;
  readonly output: string;
}

/** Runs a tool to completion (no shell); a tool that is not installed fails the test, never skips it. */
export function run(command: string, args: readonly string[], cwd = ROOT): RunResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    throw new Error(`${command} could not run (${result.error.message}); .ci/run installs it`);
  }
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** kubectl from KUBECTL, else PATH (.ci/run puts a copy in .emulators/bin when none is installed). */
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/** The local dclint and dockerfile-utils binaries (dev dependencies). */
export const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** `kubectl kustomize DIR` (relative to root), as objects. Throws with kubectl's message when it fails. */
export function render(dir: string, root = ROOT): K8sObject[] {
  const result = run(KUBECTL, ['kustomize', join(root, dir)]);
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.output}`);
  return parseAllDocuments(result.output).map((doc) => doc.toJS() as K8sObject);
}

/**
 * Renders each target once, in a `beforeAll` of the caller's block (kubectl takes a while), and
 * returns the reader of the rendered objects by target, for the tests.
 */
export function useRendered(targets: readonly string[]): (target: string) => K8sObject[] {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(() => {
    for (const target of targets) rendered.set(target, render(target));
  });
  return (target) => rendered.get(target) ?? [];
}

export function find(objects: readonly K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} in the rendered objects`);
  return found;
}

export const readText = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
// merge: compose's `<<: *anchor` keys are resolved, as compose does.
export const readYaml = (path: string): unknown => parse(readText(path), { merge: true });

/** A service of docker-compose.yml, as far as the tests read it. */
export interface ComposeService {
  build?: unknown;
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  command?: string[];
  stop_grace_period?: string;
}

/** docker-compose.yml, anchors merged. */
export const readCompose = (): { services: Record<string, ComposeService> } =>
  readYaml('docker-compose.yml') as { services: Record<string, ComposeService> };

/**
 * A scratch copy of some of the repository's files or folders, for tests that break one and
 * expect a tool to fail. Removed by `remove()`.
 */
export function scratchCopy(paths: readonly string[]): {
  dir: string;
  write(path: string, text: string): void;
  read(path: string): string;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-check-'));
  for (const path of paths) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
  return {
    dir,
    write: (path, text) => writeFileSync(join(dir, path), text),
    read: (path) => readFileSync(join(dir, path), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Replaces exactly one occurrence of `from` (so a test's breakage cannot silently miss). */
export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0)
    throw new Error(`expected exactly one ${JSON.stringify(from)}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}
