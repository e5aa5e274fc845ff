/** Mailers for tests. */
import type { Mailer } from '../../internal/accounts/mailer.driver.ts';

/** A mailer that keeps the last code per address in memory: the SMTP path has its own tests. */
export class CodeBox implements Mailer {
  readonly codes = new Map<string, string>();
  async send(mail: { to: string; text: string }): Promise<void> {
    const code = /code is (\d{6})/.exec(mail.text)?.[1];
    if (code) this.codes.set(mail.to, code);
  }
  close(): void {}
}
