import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../src/config/load.js';
import {
  ROOT,
  find,
  readCompose,
  readText,
  replaceOnce,
  run,
  scratchCopy,
  useRendered,
  type K8sObject,
} from './helpers/tools.js';

/**
 * Issue 20, item 11: a NetworkPolicy ships in the base, prod runs its image by digest (and a check
 * refuses the placeholder), compose pins every image by digest and commits no seed token.
 */

interface PolicyPeer {
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: unknown;
}
interface PolicyPort {
  protocol?: string;
  port?: string | number;
}
interface NetworkPolicy {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
    egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

const TARGETS = ['k8s/base', 'k8s/overlays/dev', 'k8s/overlays/prod'];
const objectsOf = useRendered(TARGETS);

describe.each(TARGETS)('the NetworkPolicy of %s', (target) => {
  const policy = () => find(objectsOf(target), 'NetworkPolicy') as unknown as NetworkPolicy;

  it("selects the worker's pods and restricts both directions", () => {
    const deployment = find(objectsOf(target), 'Deployment') as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    const labels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(policy().spec.podSelector.matchLabels ?? {})) {
      expect(labels[key]).toBe(value);
    }
    expect(Object.keys(policy().spec.podSelector.matchLabels ?? {}).length).toBeGreaterThan(0);
    expect(policy().spec.policyTypes?.sort()).toEqual(['Egress', 'Ingress']);
  });

  it('lets in only the monitoring namespace, on the sidecar port (probes come from the node)', () => {
    const ingress = policy().spec.ingress ?? [];
    expect(ingress).toHaveLength(1);
    expect(ingress[0]?.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    expect(ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 'http' }]);
    const deployment = find(objectsOf(target), 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] } } };
    };
    const ports = deployment.spec.template.spec.containers[0]?.ports ?? [];
    expect(ports.map((p) => p.name)).toContain('http');
  });

  it('lets out only DNS to kube-system and HTTPS', () => {
    const egress = policy().spec.egress ?? [];
    const ports = egress.flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`));
    expect(ports.sort()).toEqual(['TCP/443', 'TCP/53', 'UDP/53']);
    const dns = egress.find((rule) => rule.ports?.some((p) => p.port === 53));
    // By namespace only: a podSelector would get the worker's labels from kustomize and match no DNS pod.
    expect(dns?.to).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
    ]);
    // No rule without ports: that would open every port.
    expect(egress.every((rule) => (rule.ports ?? []).length > 0)).toBe(true);
  });
});

describe('the prod image is pinned by digest', () => {
  const image = (objects: readonly K8sObject[]) =>
    (
      find(objects, 'Deployment') as unknown as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }
    ).spec.template.spec.containers[0]?.image ?? '';

  it('renders as <name>@sha256:<digest>, no tag', () => {
    expect(image(objectsOf('k8s/overlays/prod'))).toMatch(/^[^:@]+(:\d+)?\/[^:@]+@sha256:[0-9a-f]{64}$/);
  });

  it('scripts/prod-image-check.sh refuses the placeholder, a tag and an empty digest, and accepts a digest', () => {
    const check = (dir: string) =>
      run('bash', ['scripts/prod-image-check.sh', join(dir, 'k8s/overlays/prod')], ROOT);
    const placeholder = check(ROOT);
    expect(placeholder.status).toBe(1);
    expect(placeholder.output).toContain('placeholder digest');
    const copy = scratchCopy(['k8s']);
    try {
      const file = 'k8s/overlays/prod/kustomization.yaml';
      const original = copy.read(file);
      const zero = `sha256:${'0'.repeat(64)}`;
      copy.write(file, replaceOnce(original, zero, `sha256:${'ab12'.repeat(16)}`));
      expect(check(copy.dir)).toEqual({ status: 0, output: '' });
      copy.write(file, replaceOnce(original, `digest: ${zero}`, 'newTag: 0.1.0'));
      expect(check(copy.dir).output).toContain('not pinned by digest');
      copy.write(file, replaceOnce(original, `digest: ${zero}`, "digest: ''"));
      expect(check(copy.dir).status).toBe(1);
    } finally {
      copy.remove();
    }
  });
});

describe('compose commits no seed token (item 1)', () => {
  const compose = readCompose();
  const worker = compose.services['worker']?.environment ?? {};

  it('has seeding off unless .env turns it on, and takes the token only from the environment', () => {
    expect(worker['SEED_ENABLED']).toBe('${SEED_ENABLED:-false}');
    expect(worker['SEED_TOKEN']).toBe('${SEED_TOKEN:-}');
    expect(readText('docker-compose.yml')).not.toMatch(/local-compose-seed-token/);
    expect(readText('.gitignore').split('\n')).toContain('.env');
  });

  it('scripts/compose-env.sh writes a fresh token the config accepts into .env, and keeps an existing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
    try {
      const file = join(dir, '.env');
      expect(run('bash', ['scripts/compose-env.sh', file]).status).toBe(0);
      const first = readFileSync(file, 'utf8');
      const token = /^SEED_TOKEN=(.+)$/m.exec(first)?.[1] ?? '';
      expect(token).toMatch(/^[0-9a-f]{48}$/);
      expect(loadConfig({ SEED_ENABLED: 'true', SEED_TOKEN: token }).seed.token).toBe(token);
      expect(run('bash', ['scripts/compose-env.sh', file]).status).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(first);
      writeFileSync(file, '');
      run('bash', ['scripts/compose-env.sh', file]);
      expect(/^SEED_TOKEN=(.+)$/m.exec(readFileSync(file, 'utf8'))?.[1]).not.toBe(token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
