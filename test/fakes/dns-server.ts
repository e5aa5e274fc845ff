/** A fake DNS server over UDP (dns-packet): answers A records from a table, NXDOMAIN otherwise. */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface FakeDns {
  server: string;
  queries: string[];
  set(name: string, address: string): void;
  close(): Promise<void>;
}

export async function startFakeDns(records: Record<string, string> = {}): Promise<FakeDns> {
  const table = new Map(Object.entries(records));
  const queries: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    queries.push(question.name);
    const address = question.type === 'A' ? table.get(question.name) : undefined;
    const response = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (address ? 0 : 3),
      questions: [question],
      answers: address ? [{ type: 'A', name: question.name, ttl: 5, class: 'IN', data: address }] : [],
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    set: (name, address) => table.set(name, address),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
