import { wholeNumber } from '../../config.js';

/**
 * Limits of the public submission endpoint, counted in login_throttle like sign-ups (exact across
 * processes): per client address and form, and per form whatever the address, both over a
 * window. What passes a limit is refused with RATE_LIMITED and nothing else said.
 */
export interface FormConfig {
  /** FORM_RATE_PER_IP: submissions of one form from one address per window. */
  perIp: number;
  /** FORM_RATE_PER_FORM: submissions of one form per window, all addresses together. */
  perForm: number;
  /** FORM_RATE_WINDOW_MINUTES. */
  windowMinutes: number;
}

export function loadFormConfig(env: NodeJS.ProcessEnv): FormConfig {
  return {
    perIp: wholeNumber(env, 'FORM_RATE_PER_IP', 30, 1, 1_000_000),
    perForm: wholeNumber(env, 'FORM_RATE_PER_FORM', 3000, 1, 100_000_000),
    windowMinutes: wholeNumber(env, 'FORM_RATE_WINDOW_MINUTES', 10, 1, 1440),
  };
}
