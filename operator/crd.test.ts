/**
 * Contract between the CRD, the samples and the operator: every StorageBackend in k8s/samples/
 * validates against the CRD's own openAPIV3Schema (ajv; the `x-kubernetes-*` keywords are
 * ignored, the CEL rule is checked by its JavaScript twin below), and — with its Secret — becomes
 * a backend entry the services' routing parser accepts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../test/support/env.ts';
import { backendConfigOf } from './probe.ts';
import { GROUP, KIND, PLURAL, VERSION, type StorageBackend } from './types.ts';

interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: {
      name: string;
      subresources?: { status?: object };
      additionalPrinterColumns?: { name: string; jsonPath: string }[];
      schema: { openAPIV3Schema: object };
    }[];
  };
}

const crd = yaml.load(readFileSync(path.join(testEnv.root, 'k8s/crds/storagebackends.stratus.io.yaml'), 'utf8')) as Crd;
const version = crd.spec.versions.find((v) => v.name === VERSION);
const ajv = new Ajv({ allErrors: true, useDefaults: true });
// OpenAPI's integer formats are not JSON Schema's; define the one the CRD uses.
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
const validate = ajv.compile(version?.schema.openAPIV3Schema ?? {});

const samplesDir = path.join(testEnv.root, 'k8s/samples');
const documents = readdirSync(samplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) => yaml.loadAll(readFileSync(path.join(samplesDir, file), 'utf8')).map((doc) => ({ file, doc: doc as Record<string, unknown> })));
const samples = documents.filter((d) => d.doc.kind === KIND);

/** The CRD's x-kubernetes-validations rule, in JavaScript. */
function celRule(spec: Record<string, unknown>): boolean {
  return spec.type === 'local' ? 'path' in spec : ['endpoint', 'region', 'bucket', 'credentialsSecretRef'].every((k) => k in spec);
}

function errorsOf(object: unknown): string[] {
  return validate(structuredClone(object)) ? [] : (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ''}`);
}

describe('StorageBackend CRD', () => {
  it('names the group, kind and version the operator uses, with status subresource and printer columns', () => {
    expect(crd.spec).toMatchObject({ group: GROUP, scope: 'Namespaced', names: { kind: KIND, plural: PLURAL } });
    expect(version?.subresources?.status).toEqual({});
    expect(version?.additionalPrinterColumns?.map((c) => c.name)).toEqual(['Type', 'Default', 'Phase', 'Ready', 'Age']);
  });

  it('has a sample for Ceph RGW, Aliyun OSS and Tencent COS, each with its Secret', () => {
    expect(samples.map((s) => (s.doc.spec as { type: string }).type).sort()).toEqual(['ceph', 'cos', 'oss']);
    for (const sample of samples) {
      const ref = (sample.doc.spec as StorageBackend['spec']).credentialsSecretRef?.name;
      expect(documents.some((d) => d.file === sample.file && d.doc.kind === 'Secret' && (d.doc.metadata as { name: string }).name === ref)).toBe(true);
    }
  });

  it.each(samples.map((s) => [s.file, s.doc] as const))('accepts %s, which becomes a valid routing entry', (_file, doc) => {
    expect(errorsOf(doc)).toEqual([]);
    expect(celRule(doc.spec as Record<string, unknown>)).toBe(true);
    const backend = doc as unknown as StorageBackend;
    const secret = documents.find((d) => d.doc.kind === 'Secret' && (d.doc.metadata as { name: string }).name === backend.spec.credentialsSecretRef?.name);
    const built = backendConfigOf(
      { ...backend, metadata: { ...backend.metadata, namespace: 'stratus' } },
      secret?.doc.stringData as Record<string, string>,
    );
    expect(built).toMatchObject({ ok: true, config: { name: backend.metadata.name, type: backend.spec.type, state: 'active' } });
  });

  it('fills defaults and refuses what the operator could not use', () => {
    const base = { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name: 'x' } };
    const local = { ...base, spec: { type: 'local', path: '/data/objects' } };
    const defaulted = structuredClone(local);
    expect(validate(defaulted)).toBe(true);
    expect(defaulted.spec).toMatchObject({ default: false, migrate: false, state: 'active' });

    expect(errorsOf({ ...base, spec: { type: 's3', path: '/x' } }).join()).toMatch(/spec.type/);
    // A misspelt field is not refused but pruned by the API server (a structural schema may not
    // combine properties with additionalProperties: false): the schema simply does not know it.
    expect(Object.keys(((crd.spec.versions[0] as { schema: { openAPIV3Schema: { properties: { spec: { properties: object } } } } }).schema.openAPIV3Schema.properties.spec.properties))).not.toContain('stat');
    expect(errorsOf({ ...base, spec: { type: 'local', path: '/x', state: 'paused' } }).join()).toMatch(/spec.state/);
    expect(errorsOf({ ...base, spec: { type: 'ceph', endpoint: 'rgw:80', region: 'r', bucket: 'abc', credentialsSecretRef: { name: 's' } } }).join()).toMatch(/spec.endpoint/);
    expect(errorsOf({ ...base, spec: { type: 'ceph', endpoint: 'http://rgw', region: 'r', bucket: 'ab', credentialsSecretRef: { name: 's' } } }).join()).toMatch(/spec.bucket/);
    expect(errorsOf({ ...local, spec: { ...local.spec, downloads: 'fast' } }).join()).toMatch(/spec.downloads/);
    expect(errorsOf({ ...base, spec: { type: 'ceph', endpoint: 'http://rgw', publicEndpoint: 's3.example.com', region: 'r', bucket: 'abc', credentialsSecretRef: { name: 's' } } }).join()).toMatch(/spec.publicEndpoint/);
    expect(errorsOf({ ...base })).not.toEqual([]);
    expect(celRule({ type: 'ceph', endpoint: 'http://rgw' })).toBe(false);
    expect(errorsOf({ ...local, status: { phase: 'Ready', conditions: [{ type: 'Ready', status: 'Maybe', reason: 'r', message: 'm', lastTransitionTime: 't' }] } }).join()).toMatch(
      /status/,
    );
  });

  it('carries downloads and publicEndpoint into the routing entry; a publicEndpoint on local is InvalidSpec', () => {
    const metadata = { name: 'rgw', namespace: 'stratus' };
    const spec = { type: 'ceph' as const, endpoint: 'http://rgw.ceph.svc', region: 'r', bucket: 'abc', credentialsSecretRef: { name: 's' }, downloads: 'redirect' as const, publicEndpoint: 'https://s3.example.com' };
    expect(backendConfigOf({ metadata, spec }, { accessKeyId: 'a', secretAccessKey: 'b' })).toMatchObject({
      ok: true,
      config: { endpoint: 'http://rgw.ceph.svc', downloads: 'redirect', publicEndpoint: 'https://s3.example.com' },
    });
    const local = backendConfigOf({ metadata, spec: { type: 'local', path: '/data', publicEndpoint: 'https://x.example.com' } }, undefined);
    expect(local).toMatchObject({ ok: false, reason: 'InvalidSpec' });
    expect(!local.ok && local.message).toMatch(/spec\.publicEndpoint/);
  });
});
