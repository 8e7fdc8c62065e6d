import { type Actor, ok, type TestApp } from '../../../../test/harness.js';

export const FORM_FIELDS = `id kind name status publicId submissionCount hasUnpublishedChanges url embedHtml
  fields { key kind label required contactField options }
  questions { key kind label required options scale }
  settings { successMessage redirectUrl doubleOptIn submissionLimit opensAt closesAt onePerContact }
  published { version fields { key } }`;

export interface FormT {
  id: string;
  kind: string;
  name: string;
  status: string;
  publicId: string;
  submissionCount: number;
  hasUnpublishedChanges: boolean;
  url: string;
  embedHtml: string;
  published: { version: number; fields: { key: string }[] } | null;
}

export const CREATE_FORM = `mutation($input: CreateFormInput!) { createForm(input: $input) { ${FORM_FIELDS} } }`;
export const PUBLISH_FORM = `mutation($id: ID!) { publishForm(id: $id) { ${FORM_FIELDS} } }`;
export const SUBMIT = `mutation($publicId: String!, $values: JSON!, $key: String) {
  submitForm(publicId: $publicId, values: $values, idempotencyKey: $key) { submissionId message redirectUrl confirmationRequired } }`;

/** A newsletter sign-up: email (the account's unique key), first name, a consent. */
export const SIGNUP_FIELDS = [
  { key: 'email', kind: 'EMAIL', label: 'Email', required: true },
  { key: 'first', kind: 'TEXT', label: 'First name', contactField: 'firstName' },
  { key: 'news', kind: 'CONSENT', label: 'I agree to receive the newsletter', required: true },
  { key: 'source', kind: 'HIDDEN', label: 'Source', defaultValue: 'website' },
];

/** Creates a form with `input` (a newsletter sign-up by default) and publishes it as `owner`. */
export async function publishedForm(
  t: TestApp,
  owner: Actor,
  input: Record<string, unknown> = {},
): Promise<FormT> {
  const made = ok(
    await t.gql<{ createForm: FormT }, Record<string, unknown>>(
      CREATE_FORM,
      { input: { kind: 'FORM', name: 'Newsletter', fields: SIGNUP_FIELDS, ...input } },
      owner.token,
    ),
  ).createForm;
  return ok(await t.gql<{ publishForm: FormT }, { id: string }>(PUBLISH_FORM, { id: made.id }, owner.token))
    .publishForm;
}

export interface SubmitT {
  submissionId: string;
  message: string | null;
  redirectUrl: string | null;
  confirmationRequired: boolean;
}

export const submit = (t: TestApp, publicId: string, values: Record<string, unknown>, key?: string) =>
  t.gql<{ submitForm: SubmitT }, Record<string, unknown>>(SUBMIT, { publicId, values, key });
