import { describe, expect, it } from 'vitest';
import { checkSenderId, hasOptOut, smsInfo } from './sms.js';

const code = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    return (e as { extensions?: { code?: string } }).extensions?.code;
  }
  return 'OK';
};

describe('smsInfo, GSM-7', () => {
  it('one part up to 160 characters, two from 161, 153 per part after', () => {
    expect(smsInfo('')).toEqual({ encoding: 'GSM_7', characters: 0, parts: 0 });
    expect(smsInfo('a'.repeat(160))).toEqual({ encoding: 'GSM_7', characters: 160, parts: 1 });
    expect(smsInfo('a'.repeat(161))).toEqual({ encoding: 'GSM_7', characters: 161, parts: 2 });
    expect(smsInfo('a'.repeat(306)).parts).toBe(2);
    expect(smsInfo('a'.repeat(307)).parts).toBe(3);
    expect(smsInfo('a'.repeat(459)).parts).toBe(3);
    expect(smsInfo('a'.repeat(460)).parts).toBe(4);
  });

  it('the basic set, accents and Greek capitals included, stays GSM-7', () => {
    const basic = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà';
    expect(smsInfo(basic)).toEqual({ encoding: 'GSM_7', characters: [...basic].length, parts: 1 });
  });

  it('extension characters count twice', () => {
    for (const c of ['€', '[', ']', '{', '}', '^', '~', '|', '\\', '\f']) {
      expect(smsInfo(c)).toEqual({ encoding: 'GSM_7', characters: 2, parts: 1 });
      expect(smsInfo(`${'a'.repeat(158)}${c}`)).toEqual({ encoding: 'GSM_7', characters: 160, parts: 1 });
      expect(smsInfo(`${'a'.repeat(159)}${c}`)).toEqual({ encoding: 'GSM_7', characters: 161, parts: 2 });
    }
  });

  it('an extension character is never split across parts', () => {
    // 152 + 2 + 152 = 306 septets: two full parts by arithmetic, but the € cannot straddle
    // septets 153 and 154, so the first part ends at 152 and a third part is needed.
    const text = `${'a'.repeat(152)}€${'a'.repeat(152)}`;
    expect(smsInfo(text)).toEqual({ encoding: 'GSM_7', characters: 306, parts: 3 });
    // The same septets with the € earlier fit in two.
    expect(smsInfo(`€${'a'.repeat(304)}`)).toEqual({ encoding: 'GSM_7', characters: 306, parts: 2 });
  });
});

describe('smsInfo, UCS-2', () => {
  it('one character outside GSM-7 switches the whole text: 70 units, then 67 per part', () => {
    expect(smsInfo('ж')).toEqual({ encoding: 'UCS_2', characters: 1, parts: 1 });
    expect(smsInfo(`${'a'.repeat(69)}ж`)).toEqual({ encoding: 'UCS_2', characters: 70, parts: 1 });
    expect(smsInfo(`${'a'.repeat(70)}ж`)).toEqual({ encoding: 'UCS_2', characters: 71, parts: 2 });
    expect(smsInfo('ж'.repeat(134)).parts).toBe(2);
    expect(smsInfo('ж'.repeat(135)).parts).toBe(3);
    // ç (lower case) is not in GSM-7 (only Ç is).
    expect(smsInfo('ç').encoding).toBe('UCS_2');
  });

  it('an emoji is a surrogate pair: two units, never split', () => {
    expect(smsInfo('😀')).toEqual({ encoding: 'UCS_2', characters: 2, parts: 1 });
    expect(smsInfo('😀'.repeat(35))).toEqual({ encoding: 'UCS_2', characters: 70, parts: 1 });
    expect(smsInfo(`${'😀'.repeat(35)}a`)).toEqual({ encoding: 'UCS_2', characters: 71, parts: 2 });
    // 66 + 2 + 66 = 134 units: the pair cannot take units 67 and 68, hence three parts.
    expect(smsInfo(`${'ж'.repeat(66)}😀${'ж'.repeat(66)}`)).toEqual({
      encoding: 'UCS_2',
      characters: 134,
      parts: 3,
    });
  });
});

describe('hasOptOut', () => {
  it('finds STOP in any case, word-bounded', () => {
    for (const t of [
      'STOP 36xxx',
      'Stop au 36111',
      'Promo -20% ! stop au 36111',
      'STOP36111',
      '(STOP)',
      'Répondez STOP.',
    ])
      expect(hasOptOut(t), t).toBe(true);
    for (const t of ['', 'nonstop', 'STOPPED', 'autostop', 'Arrêt au 36111', 'S T O P', 'xSTOP'])
      expect(hasOptOut(t), t).toBe(false);
  });
});

describe('checkSenderId', () => {
  it('accepts up to 11 letters and digits with a letter, or a number', () => {
    for (const id of ['Cible', 'CIBLE2026', 'Abcdefghijk', 'A1', '36111', '+33612345678', '123456789012345'])
      expect(
        code(() => checkSenderId(id)),
        id,
      ).toBe('OK');
  });

  it('refuses anything else with BAD_USER_INPUT', () => {
    for (const id of [
      '',
      'Abcdefghijkl',
      'My Shop',
      'Café',
      'shop-fr',
      '12',
      '+1234567890123456',
      '++336',
      ' Cible',
    ])
      expect(
        code(() => checkSenderId(id)),
        id,
      ).toBe('BAD_USER_INPUT');
  });
});
