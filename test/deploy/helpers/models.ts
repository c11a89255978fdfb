import { join } from 'node:path';
import ts from 'typescript';
import { ROOT, type K8sObject } from './tools.js';

/**
 * Where the model of each rendered apiVersion lives: kubernetes-models and its KEDA and
 * prometheus-operator companions, one module per group version.
 */
const MODULES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

function moduleOf(object: K8sObject): string {
  const module = MODULES[object.apiVersion];
  if (!module) throw new Error(`no model for apiVersion ${object.apiVersion} (${object.kind})`);
  return module;
}

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/**
 * The model's own validate(): types, enums and required fields (it ignores unknown fields, which
 * strictErrors() catches). Throws the model's error.
 */
export async function validateWithModel(object: K8sObject): Promise<void> {
  const module = (await import(moduleOf(object))) as Record<string, ModelClass | undefined>;
  const Class = module[object.kind];
  if (!Class) throw new Error(`${moduleOf(object)} has no model ${object.kind}`);
  new Class(object).validate();
}

/**
 * Unknown or misspelt fields, which the models' validate() lets through: every key of the object
 * is looked up, at every depth, among the properties of the model's TypeScript interface
 * (`IDeployment` and what it references, generated from the same OpenAPI schemas as the
 * validators). Maps (labels, annotations, ConfigMap data, KEDA trigger metadata) are typed as
 * index signatures and take any key.
 */
export class StrictChecker {
  readonly #checker: ts.TypeChecker;
  readonly #types = new Map<string, ts.Type>();

  constructor(objects: readonly K8sObject[]) {
    const kinds = [...new Map(objects.map((o) => [`${o.apiVersion}|${o.kind}`, o])).values()];
    const file = join(ROOT, 'test/deploy/__models__.ts');
    const source = kinds
      .map(
        (o, i) =>
          `import type { I${o.kind} as M${i} } from '${moduleOf(o)}/${o.kind}';\nexport type T${i} = M${i};`,
      )
      .join('\n');
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version, ...rest) =>
      name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === file || fileExists(name);
    const program = ts.createProgram([file], options, host);
    const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
    if (problems.length > 0) {
      throw new Error(ts.formatDiagnostics(problems, host));
    }
    this.#checker = program.getTypeChecker();
    const sourceFile = program.getSourceFile(file);
    if (!sourceFile) throw new Error('the models file did not load');
    const aliases = sourceFile.statements.filter(ts.isTypeAliasDeclaration);
    kinds.forEach((o, i) => {
      const alias = aliases[i];
      if (!alias) throw new Error(`no alias for ${o.kind}`);
      this.#types.set(`${o.apiVersion}|${o.kind}`, this.#checker.getTypeAtLocation(alias.name));
    });
  }

  /** `kind/name.path: unknown field` for each key the model does not declare. */
  errors(object: K8sObject): string[] {
    const type = this.#types.get(`${object.apiVersion}|${object.kind}`);
    if (!type) throw new Error(`StrictChecker was not built with ${object.apiVersion} ${object.kind}`);
    const errors: string[] = [];
    this.#walk(object, type, `${object.kind}/${object.metadata.name}`, errors);
    return errors;
  }

  #walk(value: unknown, declared: ts.Type, path: string, errors: string[]): void {
    if (value === null || typeof value !== 'object') return; // scalars: validate() checks types
    if (declared.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    const candidates = this.#constituents(declared).filter((t) =>
      Array.isArray(value) ? this.#checker.isArrayType(t) : t.flags & ts.TypeFlags.Object,
    );
    if (candidates.length === 0) {
      errors.push(`${path}: ${Array.isArray(value) ? 'a list' : 'an object'} where the model has none`);
      return;
    }
    // A union of object types (rare in these models): the member that fits best.
    let best: string[] | undefined;
    for (const candidate of candidates) {
      const found: string[] = [];
      this.#walkOne(value, candidate, path, found);
      if (!best || found.length < best.length) best = found;
    }
    errors.push(...(best ?? []));
  }

  #walkOne(value: object, type: ts.Type, path: string, errors: string[]): void {
    if (Array.isArray(value)) {
      const element = this.#checker.getTypeArguments(type as ts.TypeReference)[0];
      if (!element) return;
      value.forEach((item: unknown, i) => this.#walk(item, element, `${path}[${i}]`, errors));
      return;
    }
    const index = this.#checker.getIndexTypeOfType(type, ts.IndexKind.String);
    for (const [key, child] of Object.entries(value)) {
      const property = type.getProperty(key);
      if (property) {
        this.#walk(child, this.#checker.getTypeOfSymbol(property), `${path}.${key}`, errors);
      } else if (index) {
        this.#walk(child, index, `${path}.${key}`, errors);
      } else {
        errors.push(`${path}.${key}: unknown field`);
      }
    }
  }

  #constituents(type: ts.Type): ts.Type[] {
    const nonNull = this.#checker.getNonNullableType(type);
    return nonNull.isUnion() ? nonNull.types : [nonNull];
  }
}
