/**
 * A real SMTP server for tests (smtp-server): mail sent by the application over SMTP lands here,
 * and tests read the code out of it as a person would read their inbox.
 */
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export interface Inbox {
  url: string;
  mails: ReceivedMail[];
  /** Waits for the next mail to `to` after `after` mails and returns the 6-digit code in it. */
  codeFor(to: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startInbox(): Promise<Inbox> {
  const mails: ReceivedMail[] = [];
  const seen = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async codeFor(to, timeoutMs = 5_000) {
      const address = to.toLowerCase();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const forThem = mails.filter((m) => m.to.includes(address));
        const already = seen.get(address) ?? 0;
        const mail = forThem[already];
        if (mail) {
          seen.set(address, already + 1);
          const code = /code is (\d{6})/.exec(mail.raw)?.[1];
          if (!code) throw new Error(`no code in mail: ${mail.raw}`);
          return code;
        }
        if (Date.now() > deadline) throw new Error(`no mail for ${to} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
