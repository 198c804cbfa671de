import type { Transporter } from 'nodemailer';
import { ImproperlyConfigured, describeError } from '../../core/errors.js';
import type { EmailSettings } from '../../conf/settings.js';
import type { ModelInstance } from '../../db/model.js';
import type { Alert } from '../alert.js';
import { Endpoint, deliveryError, rowRejection } from './endpoint.js';

/** A text of the message: fixed (`{}` stands for the row), or computed from the row. */
export type RowText = string | ((row: ModelInstance) => string | Promise<string>);

export interface EmailOptions {
  /** Recipients: one address or several. */
  to: string | readonly string[];
  /** Sender. (Default: `email.from` of the settings; else `email.user` if it is an address; else `<user>@<host>`) */
  from?: string;
  /** (Default: `[ALERT - <pipeline name>] <alert class name>`) */
  subject?: RowText;
  /** The body. (Default: the alert's rendered text for the row) */
  message?: RowText;
}

/** The SMTP settings the endpoint uses, resolved: never logged, the password least of all. */
interface SmtpConfig {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  readonly user: string | undefined;
  readonly password: string | undefined;
}

/**
 * Sends one e-mail per alerted row through the SMTP server of `settings.email`
 * (host, port, secure, user, password). It connects on the first row only, so an
 * alert with nothing to send never touches the server, and keeps that one
 * connection for the run. Subclasses may override `getRecipients`, `getSender`,
 * `getSubject` and `getMessage` to compute them per row.
 *
 * Each message has a Message-ID made of the row's idempotency key, the same however
 * often the row is sent. A permanent refusal of one message (an SMTP 5xx other than
 * 503 to DATA, or a message over the server's size limit) is the row's failure, and
 * so is a refused sender or recipient when a subclass computes them per row;
 * everything else (connection, TLS, login, 4xx, a refused fixed address) is the
 * server's, and stops the alert.
 *
 * In a test (`TestCase`), messages go to the test's outbox instead, and no SMTP
 * server is needed (see `TestCase.outbox` and `realDelivery`).
 */
export class Email extends Endpoint {
  readonly to: readonly string[];
  readonly from: string | undefined;
  readonly subject: RowText | undefined;
  readonly message: RowText | undefined;
  private smtp: SmtpConfig | undefined;
  private transport: Transporter | undefined;

  constructor(options: EmailOptions) {
    super();
    const to = typeof options?.to === 'string' ? [options.to] : [...(options?.to ?? [])];
    if (to.length === 0 || to.some((address) => typeof address !== 'string' || !address.includes('@'))) {
      throw new ImproperlyConfigured(`Email needs recipients as e-mail addresses, got ${JSON.stringify(options?.to)}`, {
        hint: "new Email({ to: ['astronomer@example.org'] })",
      });
    }
    this.to = to;
    this.from = options.from;
    this.subject = options.subject;
    this.message = options.message;
  }

  /** The SMTP server as `host:port`, for messages. */
  get server(): string {
    return this.smtp ? `${this.smtp.host}:${this.smtp.port}` : '(not set up)';
  }

  /** Reads the settings; connects nowhere yet. In a test (outbox), no SMTP server is needed. */
  override setup(alert: Alert): void {
    super.setup(alert);
    const email: EmailSettings = this.settings.resolved.email;
    if (!email.host && !this.outbox) {
      throw new ImproperlyConfigured(`${alert.constructor.name} sends e-mail, but settings.email.host is not set`, {
        hint: "email: { host: 'smtp.example.org', port: 587, user: 'pipeline@example.org', password: process.env.SMTP_PASSWORD }",
      });
    }
    const secure = email.secure ?? false;
    this.smtp = email.host ? { host: email.host, port: email.port ?? (secure ? 465 : 587), secure, user: email.user, password: email.password } : undefined;
    if (this.getSender === Email.prototype.getSender && !this.defaultSender()) {
      throw new ImproperlyConfigured(`${alert.constructor.name} sends e-mail, but there is no sender address`, {
        hint: "Set email.from (or email.user) in the settings, or new Email({ from: 'pipeline@example.org', ... })",
      });
    }
  }

  async process(row: ModelInstance): Promise<void> {
    const mail = {
      from: await this.getSender(row),
      to: [...(await this.getRecipients(row))],
      subject: await this.getSubject(row),
      text: await this.getMessage(row),
      messageId: `<${this.idempotencyKey(row)}@${this.settings.resolved.name}.corral>`,
    };
    const outbox = this.outbox;
    if (outbox) {
      outbox.add({ endpoint: 'Email', ...this.deliveryOf(row), ...mail });
      return;
    }
    this.transport ??= await this.connect(this.smtp!);
    try {
      await this.transport.sendMail(mail);
    } catch (error) {
      const where = `SMTP server ${this.server}`;
      throw this.refusesTheRow(error as SmtpError) ? rowRejection('Email', where, describeError(error), error) : deliveryError('Email', where, describeError(error), error);
    }
  }

  /** Whether the server refused this message for good, rather than being unable to take any. */
  private refusesTheRow(error: SmtpError): boolean {
    if (error.command === 'DATA') return error.permanent === true;
    // nodemailer checks the size against the server's SIZE limit before MAIL FROM.
    if (error.code === 'EMESSAGE' && error.command === 'MAIL FROM' && error.responseCode === undefined) return true;
    if (error.code !== 'EENVELOPE' || (error.permanent !== true && error.command !== 'API')) return false;
    // A fixed address refused is a setting to fix, the same for every row: not the row's.
    const senderPerRow = this.getSender !== Email.prototype.getSender;
    const recipientsPerRow = this.getRecipients !== Email.prototype.getRecipients;
    if (error.command === 'MAIL FROM') return senderPerRow;
    if (error.command === 'RCPT TO') return recipientsPerRow;
    // 'API': nodemailer found an address invalid before sending.
    return senderPerRow || recipientsPerRow;
  }

  override teardown(error?: unknown): void {
    this.transport?.close();
    this.transport = undefined;
    super.teardown(error);
  }

  getRecipients(_row: ModelInstance): readonly string[] | Promise<readonly string[]> {
    return this.to;
  }

  /** The sender, as the original chose it: the option, `email.from`, the user if an address, else `user@host`. */
  getSender(_row: ModelInstance): string | Promise<string> {
    return this.defaultSender()!;
  }

  private defaultSender(): string | undefined {
    const email = this.settings.resolved.email;
    return this.from ?? email.from ?? (email.user?.includes('@') ? email.user : email.user && email.host ? `${email.user}@${email.host}` : undefined);
  }

  async getSubject(row: ModelInstance): Promise<string> {
    if (this.subject === undefined) return `[ALERT - ${this.settings.resolved.name}] ${this.alert.constructor.name}`;
    return fill(this.subject, row);
  }

  async getMessage(row: ModelInstance): Promise<string> {
    if (this.message === undefined) return this.render(row);
    return fill(this.message, row);
  }

  private async connect(smtp: SmtpConfig): Promise<Transporter> {
    // Loaded on first use: every command imports the endpoints, few send mail.
    const { default: nodemailer } = await import('nodemailer');
    // One pooled connection: opened by the first message, reused by the rest, closed in teardown.
    return nodemailer.createTransport({
      pool: true,
      maxConnections: 1,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: 30_000,
      greetingTimeout: 30_000,
      socketTimeout: 60_000,
      logger: false,
    });
  }
}

/** What nodemailer puts on its errors (see its NodemailerError). */
interface SmtpError {
  readonly code?: string;
  readonly command?: string;
  readonly responseCode?: number;
  readonly permanent?: boolean;
}

async function fill(text: RowText, row: ModelInstance): Promise<string> {
  return typeof text === 'function' ? text(row) : text.replaceAll('{}', String(row));
}
