/**
 * The costliest bounce of issue 10, 5: 1,000 failed recipients sharing one long explanation, just
 * under 1 MiB. Every recipient's diagnosis rescanned the explanation (about 12 s in-thread on the
 * 2-core CI machine); since issue 17 each distinct block is read once (about 0.1 s). For the
 * worker-pool tests, bench/latency.ts and the worst cases of testing/worst.ts.
 */
export function costlyBounce(): string {
  const recipients = Array.from({ length: 1000 }, (_, i) => `user${i}@example${i % 7}.com`);
  const explanation =
    'The mail system could not deliver your message because the remote server refused it. '.repeat(100);
  const head = [
    'From: MAILER-DAEMON@mx.example.org',
    'To: sender@example.net',
    'Subject: Undelivered Mail Returned to Sender',
    `X-Failed-Recipients: ${recipients.join(', ')}`,
  ].join('\n');
  const body = recipients.map((r) => `<${r}>: ${explanation}`).join('\n\n');
  return `${head}\n\n${body}`.slice(0, 1024 * 1024 - 16);
}
