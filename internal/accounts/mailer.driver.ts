/** Sending e-mail: SMTP through nodemailer when SMTP_URL is set, otherwise the log (development). */
import nodemailer from 'nodemailer';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export class SmtpMailer implements Mailer {
  private readonly transport: nodemailer.Transporter;

  constructor(url: string, private readonly from: string) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(mail: Mail): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text });
    } catch (error) {
      throw new AppError('UNAVAILABLE', 'The e-mail could not be sent', { cause: error });
    }
  }

  close(): void {
    this.transport.close();
  }
}

/** Development mailer: the design says the code is written to the log when SMTP_URL is unset. */
export class LogMailer implements Mailer {
  constructor(private readonly log: Logger) {}

  async send(mail: Mail): Promise<void> {
    this.log.warn(`SMTP_URL is not set; e-mail to ${mail.to}: ${mail.subject}\n${mail.text}`);
  }

  close(): void {}
}
