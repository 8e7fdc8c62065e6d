/**
 * The SMTP step at which a session failed, from the wording of a bounce: the MTAs' own phrases
 * ("in reply to RCPT TO command", qmail-remote's "does not like recipient", a transcript's
 * ">>> DATA"), IMail's and Gmail's markers.
 */
import { SCAN_CHARS } from './free-text.js';
import { memoised } from './memo.js';
import type { SmtpCommand } from './reasons.js';

/** The SMTP command at which a session failed, from the wording of a bounce. */
export function commandIn(text: string): SmtpCommand {
  return commandInHead(text.slice(0, SCAN_CHARS));
}

const commandInHead = memoised((text: string): SmtpCommand => {
  const t = text.toLowerCase();
  const rules: ReadonlyArray<[RegExp, SmtpCommand]> = [
    [
      // qmail-remote.c: "<host> failed after I sent the message." (its reply to the message's end).
      /\b(?:after|in reply to|our)\s+(?:the\s+)?(?:end of data|final data|data(?: command)?\b)|\[data\]|\(data\)|>>> data|failed after i sent the message/,
      'DATA',
    ],
    [
      /\b(?:after|in reply to|our|for)\s+rcpt(?: to)?\b|>>> rcpt|\[rcpt_to\]|smtp:rcpt|does not like recipient|rcpt to:<|sent <<< rcpt/,
      'RCPT',
    ],
    [
      /\b(?:after|in reply to|our)\s+mail(?: from)?\b|>>> mail from|\[mail_from\]|sender was rejected/,
      'MAIL',
    ],
    [/\b(?:after|in reply to|our)\s+(?:ehlo|helo)\b|>>> (?:ehlo|helo)|my name was rejected/, 'HELO'],
    [
      // A transcript whose first line is the server's (Sendmail's "... while talking to x.:",
      // Courier's "x [ip]:", then "<<< 554 ..."): a reply read before any command is the
      // greeting (RFC 5321, 3.1).
      /after initial connection|greeting|connected to .{0,200} but (?:connection|greeting) (?:died|failed)|after connect|refused to talk to me|(?:while talking to [^\n]{1,200}|\[[\d.:a-f]{1,64}\]):[ \t]*\n[ \t]*<<< \d/,
      'CONN',
    ],
  ];
  // Gmail's notices of 2009-2014 end the remote reply with its client's state ("... User unknown
  // (state 14)."): 13 is EHLO, 14 RCPT TO, 15, 17 and 18 the message's DATA (the states Sisimai's
  // Google module lists, from Gmail's help forum threads it cites).
  const state = /\(state (\d{1,2})\)/.exec(t)?.[1];
  if (state && GMAIL_STATE[state]) return GMAIL_STATE[state];
  // Notices wrap long lines anywhere ("(in\n    reply to RCPT TO command)", Postfix's plain-text
  // notice): the phrases are read on the text with its line breaks folded, the transcripts'
  // line-anchored markers on the text as it is.
  const folded = t.replace(/\s+/g, ' ');
  for (const [re, command] of rules) {
    if (re.test(folded) || re.test(t)) return command;
  }
  // Ipswitch IMail (X-Mailer: <SMTP32 ...>) names the command whose reply it quotes:
  // "RCPT TO generated following response:", "DATA generated following response:".
  const imail = /\b(rcpt to|mail from|data|helo|ehlo) generated (?:the )?following response\b/.exec(t);
  if (imail) return ({ 'rcpt to': 'RCPT', 'mail from': 'MAIL', data: 'DATA' } as const)[imail[1]] ?? 'HELO';
  const line = /smtp command\s*\n+\s*(data|rcpt|mail|helo|ehlo)\b/i.exec(text);
  if (line) {
    const c = line[1].toUpperCase();
    return c === 'EHLO' ? 'HELO' : (c as SmtpCommand);
  }
  return null;
});

const GMAIL_STATE: Readonly<Record<string, SmtpCommand>> = {
  '13': 'HELO',
  '14': 'RCPT',
  '15': 'DATA',
  '17': 'DATA',
  '18': 'DATA',
};
