import { describe, expect, it } from 'vitest';
import { type FieldDef, STANDARD_FIELDS } from '../contacts/fields.js';
import {
  DEFAULT_SETTINGS,
  type FormDefinition,
  type FormField,
  publicationProblems,
} from './form.definition.js';

const field = (key: string, contactField: string | null, required = false): FormField => ({
  key,
  kind: 'TEXT',
  label: key,
  required,
  contactField,
  options: null,
  min: null,
  max: null,
  defaultValue: null,
});

/** The account's fields as loadFields gives them: the standard ones only. */
const standard = new Map<string, FieldDef>(
  Object.entries(STANDARD_FIELDS).map(([name, f]) => [
    name,
    { name, type: f.type, sql: `c.${f.column}`, standard: true },
  ]),
);

describe('publishing a form whose field fills a contact field', () => {
  it("refuses a name that is only an object's inherited property, as any other unknown field", async () => {
    // STANDARD_FIELDS was a plain object: "constructor", "toString" or "__proto__" were found in
    // it, so a form could fill them and reach the contact's input with them.
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'nosuchfield']) {
      const d: FormDefinition = {
        fields: [field('mail', 'email', true), field('x', name)],
        questions: [],
        settings: DEFAULT_SETTINGS,
      };
      expect(publicationProblems(d, standard, 'email'), name).toEqual([
        `field x fills ${name}, which is not a contact field`,
      ]);
    }
  });
});
