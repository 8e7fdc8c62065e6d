import { describe, expect, it } from 'vitest';
import { renderOperationMessage } from './operation.preview.js';

const data = {
  contact: { firstName: 'Ada <Lovelace>', loyaltyTier: 'gold' },
  scores: { '[SCORE] Engagement': '42.5' },
};

describe('renderOperationMessage', () => {
  it('fills standard and custom fields and scores; values escaped in the HTML only', () => {
    const r = renderOperationMessage(
      'EMAILING',
      {
        subject: 'Hi {{ contact.firstName }}',
        preheader: 'Tier {{ contact.loyaltyTier }}',
        fromName: 'Acme',
        fromEmail: 'news@acme.example',
        replyTo: null,
        html: '<p>{{ contact.firstName }} scores {{ score["[SCORE] Engagement"] }}</p>',
        text: null,
      },
      data,
    );
    if (r.kind !== 'EMAILING') throw new Error('kind');
    expect(r.email.subject).toBe('Hi Ada <Lovelace>');
    expect(r.email.preheader).toBe('Tier gold');
    expect(r.email.html).toBe('<p>Ada &lt;Lovelace&gt; scores 42.5</p>');
    // Derived from the HTML template, then rendered plain: no entities in the text part.
    expect(r.email.text).toContain('Ada <Lovelace> scores 42.5');
    expect(r.email.from).toEqual({ name: 'Acme', address: 'news@acme.example' });
  });

  it('uses defaults for missing values and counts the rendered SMS', () => {
    const r = renderOperationMessage(
      'SMS',
      { text: 'Hi {{ contact.lastName | default: "friend" }} € STOP 36111', senderId: 'ACME' },
      { contact: {}, scores: {} },
    );
    if (r.kind !== 'SMS') throw new Error('kind');
    expect(r.sms.text).toBe('Hi friend € STOP 36111');
    expect(r.sms).toMatchObject({ senderId: 'ACME', encoding: 'GSM_7', parts: 1 });
    expect(r.sms.characters).toBe(r.sms.text.length + 1); // € is an extension character
  });
});
