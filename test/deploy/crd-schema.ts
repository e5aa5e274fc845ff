/**
 * The StorageBackend CRD's schema, checked the way the API server would: objects against its
 * openAPIV3Schema, and the schema itself against the structural-schema rules.
 */
import { arr, get, isObj, obj, type K8sObject, type Obj } from './manifests.ts';

// StorageBackend validation against the CRD's openAPIV3Schema (the structural subset Kubernetes
// applies: type, properties, required, enum, items, additionalProperties, minLength, nullable).
// Unknown fields count as errors here: the API server would silently prune them.

export function openApiProblems(schema: Obj, value: unknown, at = ''): string[] {
  const where = at || '(root)';
  if (value === null || value === undefined) return schema.nullable === true ? [] : [`${where}: null`];
  const problems: string[] = [];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  switch (schema.type) {
    case 'object': {
      if (!isObj(value)) return [`${where}: expected object`];
      for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in value)) problems.push(`${where}: missing ${key}`);
      const properties = isObj(schema.properties) ? schema.properties : undefined;
      for (const [key, child] of Object.entries(value)) {
        const childSchema = properties?.[key] ?? (isObj(schema.additionalProperties) ? schema.additionalProperties : undefined);
        if (childSchema) problems.push(...openApiProblems(obj(childSchema, key), child, `${at}.${key}`));
        else if (properties && schema['x-kubernetes-preserve-unknown-fields'] !== true && key !== 'metadata') problems.push(`${where}: unknown field ${key}`);
      }
      return problems;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${where}: expected array`];
      return value.flatMap((item, i) => (isObj(schema.items) ? openApiProblems(schema.items, item, `${at}[${i}]`) : []));
    case 'string':
      if (typeof value !== 'string') return [...problems, `${where}: expected string`];
      if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${where}: shorter than ${schema.minLength}`);
      if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) problems.push(`${where}: longer than ${schema.maxLength}`);
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) problems.push(`${where}: does not match ${schema.pattern}`);
      return problems;
    case 'boolean':
      return typeof value === 'boolean' ? problems : [...problems, `${where}: expected boolean`];
    case 'integer':
      return Number.isInteger(value) ? problems : [...problems, `${where}: expected integer`];
    case 'number':
      return typeof value === 'number' ? problems : [...problems, `${where}: expected number`];
    default:
      return problems;
  }
}

/**
 * What the API server refuses in a CRD's schema (structural schema rules, apiextensions
 * validation, ValidateCustomResourceDefinitionOpenAPISchema): a node without a type, `properties`
 * together with `additionalProperties` other than `true` ("mutual exclusive", also for
 * `additionalProperties: false`), uniqueItems, $ref, patternProperties, and defaults or
 * x-kubernetes-list-map-keys that break their own rules.
 */
export function structuralProblems(schema: Obj, at = 'openAPIV3Schema'): string[] {
  const problems: string[] = [];
  const free = schema['x-kubernetes-int-or-string'] === true || schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof schema.type !== 'string' && !free) problems.push(`${at}: no type`);
  if (schema.properties !== undefined && schema.additionalProperties !== undefined && schema.additionalProperties !== true) {
    problems.push(`${at}: additionalProperties and properties are mutually exclusive (the API server refuses the CRD)`);
  }
  if (schema.uniqueItems === true) problems.push(`${at}: uniqueItems: true is not allowed in a CRD schema`);
  for (const keyword of ['$ref', 'patternProperties', 'dependencies', 'definitions', 'id']) {
    if (keyword in schema) problems.push(`${at}: ${keyword} is not allowed in a CRD schema`);
  }
  if (schema['x-kubernetes-list-type'] === 'map') {
    const itemSchema = isObj(schema.items) ? schema.items : {};
    for (const key of (schema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []) {
      if (!((itemSchema.required as string[] | undefined) ?? []).includes(key)) problems.push(`${at}: list-map key ${key} must be required in items`);
    }
  }
  if (schema.default !== undefined && Array.isArray(schema.enum) && !schema.enum.includes(schema.default)) problems.push(`${at}: default not in enum`);
  if (isObj(schema.properties)) {
    for (const [key, child] of Object.entries(schema.properties)) problems.push(...structuralProblems(obj(child, key), `${at}.properties.${key}`));
  }
  if (isObj(schema.items)) problems.push(...structuralProblems(schema.items, `${at}.items`));
  if (isObj(schema.additionalProperties)) problems.push(...structuralProblems(schema.additionalProperties, `${at}.additionalProperties`));
  return problems;
}

export function storageBackendSchema(crd: K8sObject): Obj {
  const versions = arr(get(crd, 'spec', 'versions'));
  const version = versions.find((v) => v.name === 'v1alpha1');
  return obj(get(version, 'schema', 'openAPIV3Schema'), 'openAPIV3Schema');
}
