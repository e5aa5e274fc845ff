/** A TCP port free on `host` right now (bound and released), for processes that need one up front. */
import { createServer } from 'node:net';

export async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
