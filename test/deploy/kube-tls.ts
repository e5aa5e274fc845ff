/**
 * The in-cluster way to the fake API server, for a pod that mounts a service account token: the
 * kubelet gives such a pod KUBERNETES_SERVICE_HOST/PORT and, at
 * /var/run/secrets/kubernetes.io/serviceaccount, `token`, `ca.crt` and `namespace`; client-node's
 * in-cluster config then speaks HTTPS to that address and trusts only that CA. The fake speaks plain
 * HTTP, so this puts a TLS terminator in front of it (a self-signed certificate for the address,
 * made with openssl) and writes the service account directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { createServer, type Server } from 'node:tls';

export interface KubeTlsFront {
  host: string;
  port: number;
  serviceAccountDir: string;
  close(): Promise<void>;
}

export async function startKubeTlsFront(options: { host: string; upstream: string; dir: string; namespace: string; token: string }): Promise<KubeTlsFront> {
  mkdirSync(options.dir, { recursive: true });
  const key = path.join(options.dir, 'tls.key');
  const cert = path.join(options.dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=kubernetes', '-addext', `subjectAltName=IP:${options.host},DNS:kubernetes.default.svc`], { stdio: 'ignore' });
  const upstream = new URL(options.upstream);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (socket) => {
    const back = connect(Number(upstream.port), upstream.hostname);
    sockets.add(socket).add(back);
    socket.pipe(back).pipe(socket);
    const end = () => {
      socket.destroy();
      back.destroy();
    };
    socket.on('error', end).on('close', end);
    back.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, options.host, resolve));
  const sa = path.join(options.dir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(path.join(sa, 'ca.crt'), readFileSync(cert));
  writeFileSync(path.join(sa, 'token'), options.token);
  writeFileSync(path.join(sa, 'namespace'), options.namespace);
  for (const f of ['ca.crt', 'token', 'namespace']) chmodSync(path.join(sa, f), 0o644);
  chmodSync(sa, 0o755);
  chmodSync(options.dir, 0o755);
  return {
    host: options.host,
    port: (server.address() as AddressInfo).port,
    serviceAccountDir: sa,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
