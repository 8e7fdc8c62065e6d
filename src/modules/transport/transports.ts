import type { Config } from '../../config.js';
import { createEmailTransport, type EmailTransport } from './email.js';
import { createSmsTransport, type SmsTransport } from './sms.js';

export interface Transports {
  email: EmailTransport;
  sms: SmsTransport;
}

/**
 * One pair of transports per running app (keyed by its Config object, so two apps in one test
 * process keep their own SMTP pools): made on first use, closed by the server's stop.
 */
const made = new WeakMap<Config, Transports>();

export function transportsFor(config: Config): Transports {
  let t = made.get(config);
  if (!t) {
    t = {
      email: createEmailTransport(config.smtpUrl, config.dkim),
      sms: createSmsTransport(config.smsGatewayUrl, config.smsGatewayToken),
    };
    made.set(config, t);
  }
  return t;
}

export function closeTransports(config: Config): void {
  made.get(config)?.email.close();
  made.delete(config);
}
