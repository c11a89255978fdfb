import { describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bin, replaceOnce, ROOT, run, scratchCopy } from './helpers/tools.js';

/**
 * Each linter passes on the repository's file and fails on a broken copy of it, so that a
 * linter that silently checks nothing (wrong path, wrong config) cannot pass this suite.
 */

describe('yamllint (.yamllint.yml) on every YAML file', () => {
  it('passes, warnings included', () => {
    const result = run('yamllint', ['--strict', '.']);
    expect(result).toEqual({ status: 0, output: '' });
  });

  it('fails on a duplicate key', () => {
    const copy = scratchCopy(['.yamllint.yml', 'k8s']);
    try {
      const file = 'k8s/base/service.yaml';
      copy.write(
        file,
        replaceOnce(copy.read(file), '  type: ClusterIP\n', '  type: ClusterIP\n  type: NodePort\n'),
      );
      const result = run('yamllint', ['--strict', '.'], copy.dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/duplication of key "type"/);
    } finally {
      copy.remove();
    }
  });
});

describe('docker-compose.yml', () => {
  const files = ['docker-compose.yml', '.dclintrc', 'config', 'ops'];
  // The worker's HANDLER is required (${HANDLER:?...}): compose checks run with it set, and
  // test/deploy/handler.test.ts checks that they fail without it.
  const composeConfig = ['HANDLER=log', 'docker-compose', 'config', '-q'];

  it("passes Debian's docker-compose 1.29: config -q", () => {
    expect(run('env', composeConfig)).toEqual({ status: 0, output: '' });
  });

  it('docker-compose config -q fails on a top-level name: (1.29 rejects it)', () => {
    const copy = scratchCopy(files);
    try {
      copy.write('docker-compose.yml', `name: sqs-worker\n${copy.read('docker-compose.yml')}`);
      const result = run('env', composeConfig, copy.dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/name/);
    } finally {
      copy.remove();
    }
  });

  it('passes dclint without a warning', () => {
    const result = run(bin('dclint'), ['docker-compose.yml']);
    expect(result.status).toBe(0);
    expect(result.output.trim()).toBe('');
  });

  it('dclint fails on a service with both build and image', () => {
    const copy = scratchCopy(files);
    try {
      const text = copy.read('docker-compose.yml');
      copy.write(
        'docker-compose.yml',
        replaceOnce(text, '  worker:\n    build:\n', '  worker:\n    image: sqs-worker:local\n    build:\n'),
      );
      const result = run(bin('dclint'), ['docker-compose.yml'], copy.dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/no-build-and-image/);
    } finally {
      copy.remove();
    }
  });
});

describe('Dockerfile: dockerfile-utils lint', () => {
  it('passes', () => {
    expect(run(bin('dockerfile-utils'), ['lint', 'Dockerfile'])).toEqual({ status: 0, output: '' });
  });

  it('fails on an invalid instruction', () => {
    const copy = scratchCopy(['Dockerfile']);
    try {
      copy.write('Dockerfile', replaceOnce(copy.read('Dockerfile'), 'EXPOSE 8080', 'EXPOSE http'));
      const result = run(bin('dockerfile-utils'), ['lint', 'Dockerfile'], copy.dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/Invalid containerPort: http/);
    } finally {
      copy.remove();
    }
  });
});

describe('shellcheck on scripts/*.sh', () => {
  const scripts = readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.sh'));

  it('passes on every script', () => {
    expect(scripts.length).toBeGreaterThan(0);
    expect(
      run(
        'shellcheck',
        scripts.map((f) => `scripts/${f}`),
      ),
    ).toEqual({ status: 0, output: '' });
  });

  it('fails on an unquoted expansion', () => {
    const copy = scratchCopy(['scripts']);
    try {
      copy.write('scripts/broken.sh', '#!/usr/bin/env bash\nrm -rf $1/tmp\n');
      const result = run('shellcheck', ['scripts/broken.sh'], copy.dir);
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/SC2086/);
    } finally {
      copy.remove();
    }
  });
});
