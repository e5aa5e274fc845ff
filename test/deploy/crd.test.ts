/**
 * StorageBackend objects (k8s/samples/ and inline ones) validated against the CRD's own schema,
 * as the chart ships it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApiProblems, storageBackendSchema } from './crd-schema.ts';
import { CHART_CRD, parseDocuments, ROOT, schemaProblems, type K8sObject, type Obj } from './manifests.ts';

const SAMPLES = path.join(ROOT, 'k8s/samples');

describe('StorageBackend objects against the CRD schema', () => {
  const [crd] = parseDocuments(readFileSync(CHART_CRD, 'utf8'), CHART_CRD);
  const schema = storageBackendSchema(crd as K8sObject);
  const backend = (spec: Obj): Obj => ({ apiVersion: 'stratus.io/v1alpha1', kind: 'StorageBackend', metadata: { name: 'b' }, spec });

  it('accepts Ceph RGW, OSS, COS and local backends and refuses broken ones', () => {
    const valid = [
      { type: 'ceph', endpoint: 'http://rook-ceph-rgw-store.rook-ceph.svc:80', region: 'us-east-1', bucket: 'stratus', credentialsSecretRef: { name: 'ceph-credentials' }, default: true },
      { type: 'oss', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com', region: 'oss-cn-hangzhou', bucket: 'stratus', credentialsSecretRef: { name: 'oss-credentials' }, migrate: true },
      { type: 'cos', endpoint: 'https://cos.ap-guangzhou.myqcloud.com', region: 'ap-guangzhou', bucket: 'stratus-1250000000', credentialsSecretRef: { name: 'cos-credentials', keys: { secretId: 'SECRET_ID' } }, state: 'draining' },
      { type: 'local', path: '/data/objects', state: 'readonly' },
    ];
    for (const spec of valid) expect(openApiProblems(schema, backend(spec)), JSON.stringify(spec)).toEqual([]);
    const invalid: [Obj, RegExp][] = [
      [{ type: 's3', bucket: 'x' }, /spec\.type/],
      [{ bucket: 'x' }, /missing type/],
      [{ type: 'ceph', bucket: 'x', state: 'paused' }, /spec\.state/],
      [{ type: 'ceph', bucket: 'x', default: 'yes' }, /spec\.default: expected boolean/],
      [{ type: 'ceph', bucket: 'x', credentialsSecretRef: {} }, /missing name/],
      [{ type: 'ceph', bucket: 'x', bukket: 'y' }, /unknown field bukket/],
      [{ type: 'ceph', endpoint: 'rgw:80', bucket: 'stratus' }, /spec\.endpoint/],
    ];
    for (const [spec, message] of invalid) expect(openApiProblems(schema, backend(spec)).join('\n'), JSON.stringify(spec)).toMatch(message);
  });

  it('accepts every sample in k8s/samples/', () => {
    const files = existsSync(SAMPLES) ? readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')) : [];
    if (files.length === 0) console.log('k8s/samples/ has no samples yet: only the inline StorageBackends above were checked');
    for (const file of files) {
      for (const o of parseDocuments(readFileSync(path.join(SAMPLES, file), 'utf8'), file)) {
        if (o.kind === 'StorageBackend') {
          expect(o.apiVersion).toBe('stratus.io/v1alpha1');
          expect(openApiProblems(schema, o), `${file} ${o.metadata.name}`).toEqual([]);
        } else {
          expect(schemaProblems([o]), `${file} ${o.kind} ${o.metadata.name}`).toEqual([]);
        }
      }
    }
  });
});
