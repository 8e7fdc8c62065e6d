import { describe, expect, it } from 'vitest';
import {
  checkTemplate,
  compileTemplate,
  contactMergeData,
  type MergeData,
  type MergeEnv,
  renderTemplate,
  TEMPLATE_LIMITS,
} from './template.js';

const env: MergeEnv = {
  fields: new Map([
    ['firstName', { name: 'firstName', type: 'TEXT' }],
    ['lastName', { name: 'lastName', type: 'TEXT' }],
    ['birthDate', { name: 'birthDate', type: 'DATE' }],
    ['loyaltyTier', { name: 'loyaltyTier', type: 'TEXT' }],
    ['points', { name: 'points', type: 'NUMBER' }],
    ['vip', { name: 'vip', type: 'BOOLEAN' }],
  ]),
  scoreNames: new Set(['[SCORE] Engagement', '[SCORE] Twice']),
  duplicateScoreNames: new Set(['[SCORE] Twice']),
};

interface Failure {
  code?: string;
  message: string;
  part?: string;
  line?: number;
  column?: number;
}
function failure(fn: () => unknown): Failure | 'OK' {
  try {
    fn();
  } catch (e) {
    const err = e as Error & { extensions?: Record<string, unknown> };
    return { message: err.message, ...(err.extensions as object) } as Failure;
  }
  return 'OK';
}
async function renderFailure(p: () => Promise<string> | string): Promise<Failure | 'OK'> {
  try {
    await p();
  } catch (e) {
    const err = e as Error & { extensions?: Record<string, unknown> };
    return { message: err.message, ...(err.extensions as object) } as Failure;
  }
  return 'OK';
}

const data = (contact: Record<string, unknown>, scores: Record<string, string> = {}): MergeData => ({
  contact,
  scores,
});

describe('checkTemplate', () => {
  it('accepts standard and custom fields, scores, defaults, filters and local names', () => {
    const ok = [
      'Hello {{ contact.firstName | default: "there" }}',
      '{{ contact.loyaltyTier }} {{ contact["lastName"] | upcase }} {{ contact.firstName.size }}',
      '{{ score["[SCORE] Engagement"] | plus: 1 }}',
      '{% if contact.vip %}VIP{% elsif contact.points > 10 %}{{ contact.points }}{% endif %}',
      '{% assign n = contact.firstName | default: "x" %}{{ n }}{% capture c %}{{ n }}{% endcapture %}{{ c }}',
      '{% for i in (1..3) %}{{ i }}{{ forloop.index }}{% endfor %}',
      '{{ contact.birthDate | date: "%d/%m/%Y" }}',
    ];
    for (const t of ok)
      expect(
        failure(() => checkTemplate('html', t, env)),
        t,
      ).toBe('OK');
  });

  it('a parse error names the part, the line and the column', () => {
    const source = 'Hello,\n\nWe miss you {% if contact.vip %}\nbye';
    const f = failure(() => checkTemplate('html', source, env));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', part: 'html', line: 3, column: 13 });
    expect((f as Failure).message).toMatch(/^html: line 3, column 13: .*not closed/);
  });

  it('an unknown field names its line and column', () => {
    const source =
      'Dear {{ contact.firstName }},\nyour points: {{ contact.points }}\n  and {{ contact.shoeSize }}';
    const f = failure(() => checkTemplate('subject', source, env));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', part: 'subject', line: 3, column: 10 });
    expect((f as Failure).message).toBe('subject: line 3, column 10: unknown field "shoeSize"');
  });

  it('refuses unknown scores, ambiguous score names, other roots and computed names', () => {
    const cases: [string, RegExp][] = [
      ['{{ score["[SCORE] Nope"] }}', /unknown score "\[SCORE\] Nope"/],
      ['{{ score["[SCORE] Twice"] }}', /two scores are named/],
      ['{{ firstName }}', /unknown variable "firstName"/],
      ['{{ contact }}', /needs a name/],
      ['{{ contact[contact.firstName] }}', /written out/],
      ['{{ contact.firstName.foo }}', /no such property/],
      ['{{ contact.constructor }}', /unknown field "constructor"/],
      ['{{ contact.firstName | default: contact.nickname }}', /unknown field "nickname"/],
      ['{% for x in (1..2) %}{% endfor %}{{ x.y }}{{ contact.oops }}', /unknown variable "x"/],
    ];
    for (const [t, re] of cases) {
      const f = failure(() => checkTemplate('text', t, env));
      expect(f, t).toMatchObject({ code: 'BAD_USER_INPUT', part: 'text' });
      expect((f as Failure).message, t).toMatch(re);
    }
  });

  it('refuses unknown filters, and file tags (include, render, layout)', () => {
    for (const t of [
      '{{ contact.firstName | shout }}',
      '{% include "header" %}',
      '{% render "/etc/passwd" %}',
      '{% layout "base" %}x',
    ]) {
      const f = failure(() => checkTemplate('text', t, env));
      expect(f, t).toMatchObject({ code: 'BAD_USER_INPUT', line: 1 });
    }
  });

  it('refuses raw in the html part, where it would unescape a contact value', () => {
    expect(failure(() => checkTemplate('html', '{{ contact.firstName | raw }}', env))).toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    expect(failure(() => checkTemplate('text', '{{ contact.firstName | raw }}', env))).toBe('OK');
  });

  it('refuses a template beyond the size limit', () => {
    const big = 'x'.repeat(TEMPLATE_LIMITS.sourceChars + 1);
    expect(failure(() => checkTemplate('html', big, env))).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('renderTemplate', () => {
  it('escapes values in html, not in text, subject or sms', async () => {
    const contact = { firstName: '<script>alert("x")</script>', lastName: "O'Brien & co" };
    const html = await renderTemplate(
      'html',
      '<p>{{ contact.firstName }} {{ contact.lastName }}</p>',
      data(contact),
      {
        html: true,
      },
    );
    expect(html).toBe('<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &amp; co</p>');
    for (const part of ['text', 'subject', 'sms']) {
      const out = await renderTemplate(
        part,
        '{{ contact.firstName }} {{ contact.lastName }}',
        data(contact),
        {
          html: false,
        },
      );
      expect(out).toBe(`${contact.firstName} ${contact.lastName}`);
    }
  });

  it('applies defaults for missing, null and empty values', async () => {
    const t = 'Hi {{ contact.firstName | default: "there" }}!';
    expect(await renderTemplate('text', t, data({ firstName: 'Ana' }), { html: false })).toBe('Hi Ana!');
    for (const c of [{}, { firstName: null }, { firstName: '' }])
      expect(await renderTemplate('text', t, data(c), { html: false })).toBe('Hi there!');
  });

  it('reads custom fields flat from a contact row, and scores by name', async () => {
    const row = {
      firstName: 'Ana',
      birthDate: '1990-05-17',
      fields: { loyaltyTier: 'gold', points: '12.5' },
    };
    const t =
      '{{ contact.firstName }} {{ contact.loyaltyTier }} {{ contact.points | plus: 1 }} {{ score["[SCORE] Engagement"] }}';
    const out = await renderTemplate('text', t, data(contactMergeData(row), { '[SCORE] Engagement': '42' }), {
      html: false,
    });
    expect(out).toBe('Ana gold 13.5 42');
  });

  it('contactMergeData reads entities and raw rows, fields only', () => {
    const raw = {
      id: '7',
      account_id: 'a',
      first_name: 'Ana',
      birth_date: '1990-05-17',
      fields: { tier: 'gold' },
    };
    expect(contactMergeData(raw)).toMatchObject({
      firstName: 'Ana',
      birthDate: '1990-05-17',
      tier: 'gold',
      city: null,
    });
    expect(contactMergeData(raw)).not.toHaveProperty('id');
    expect(contactMergeData({ firstName: 'Bo', fields: { firstName: 'shadow' } }).firstName).toBe('Bo');
  });

  it('formats a calendar date as that day whatever the server time zone', async () => {
    const before = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      const out = await renderTemplate(
        'text',
        '{{ contact.birthDate | date: "%d/%m/%Y" }}',
        data({ birthDate: '1990-05-17' }),
        {
          html: false,
        },
      );
      expect(out).toBe('17/05/1990');
    } finally {
      process.env.TZ = before;
    }
  });

  it('a compiled template renders each contact on its own', () => {
    const compiled = compileTemplate('subject', 'Hi {{ contact.firstName | default: "you" }}', {
      html: false,
    });
    expect(compiled.render(data({ firstName: 'A' }))).toBe('Hi A');
    expect(compiled.render(data({}))).toBe('Hi you');
  });

  it('stops a loop of 10^7 iterations quickly with BAD_USER_INPUT', async () => {
    for (const t of [
      '{% for i in (1..10000000) %}x{% endfor %}',
      '{% for i in (1..3200) %}{% for j in (1..3200) %}x{% endfor %}{% endfor %}',
    ]) {
      const start = performance.now();
      const f = await renderFailure(() => renderTemplate('html', t, data({}), { html: true }));
      expect(f, t).toMatchObject({ code: 'BAD_USER_INPUT', part: 'html' });
      expect(performance.now() - start, t).toBeLessThan(2000);
    }
  });

  it('stops a capture doubling itself (liquidjs does not charge captures)', async () => {
    // 25 doublings make 2^26 characters: under V8's string limit, so only our charge stops it.
    const t =
      '{% capture s %}ab{% endcapture %}{% for i in (1..25) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s.size }}';
    const f = await renderFailure(() => renderTemplate('text', t, data({}), { html: false }));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', part: 'text' });
    expect((f as Failure).message).toMatch(/memory/);
    // An ordinary capture still works.
    const ok = '{% capture g %}Hi {{ contact.firstName }}{% endcapture %}{{ g }}!';
    expect(await renderTemplate('text', ok, data({ firstName: 'Ana' }), { html: false })).toBe('Hi Ana!');
  });

  it('refuses an output beyond the size limit', async () => {
    const f = await renderFailure(() =>
      renderTemplate(
        'html',
        '{{ contact.bio }}',
        data({ bio: 'x'.repeat(TEMPLATE_LIMITS.outputChars + 1) }),
        {
          html: true,
        },
      ),
    );
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', part: 'html' });
  });

  it('stops a loop as soon as its output passes the size limit', async () => {
    const t = `{% for i in (1..20000) %}${'x'.repeat(200)}{% endfor %}`;
    const f = await renderFailure(() => renderTemplate('text', t, data({}), { html: false }));
    expect(f).toMatchObject({ code: 'BAD_USER_INPUT', part: 'text' });
    expect((f as Failure).message).toMatch(/exceeds 2000000 characters/);
  });

  it('reads no inherited property of a value', async () => {
    const out = await renderTemplate(
      'text',
      '[{{ contact.firstName.constructor }}]',
      data({ firstName: 'A' }),
      {
        html: false,
      },
    );
    expect(out).toBe('[]');
  });
});
