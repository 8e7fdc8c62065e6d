import { type FieldNode, type GraphQLResolveInfo, Kind, type SelectionSetNode } from 'graphql';

/** Every column of a ContactView, as selected from `contact c`. */
export const CONTACT_COLUMNS = [
  'id::text',
  'account_id',
  'email',
  'phone',
  'first_name',
  'last_name',
  'gender',
  `to_char(birth_date, 'YYYY-MM-DD') as birth_date`,
  'city',
  'department',
  'country',
  'fields',
  'email_status',
  'sms_status',
  'last_bounce_id::text',
  'created_at',
  'updated_at',
];

/**
 * What each Contact field of contact.schema.ts reads from its row. A field not listed here
 * (another module's, such as scores or bounces, or one added later) makes the page read every
 * column, so a resolver can never find a column missing; the id and account are always read.
 */
const FIELD_COLUMNS: Record<string, readonly string[]> = {
  __typename: [],
  id: [],
  email: ['email'],
  phone: ['phone'],
  firstName: ['first_name'],
  lastName: ['last_name'],
  gender: ['gender'],
  birthDate: [CONTACT_COLUMNS[7]],
  city: ['city'],
  department: ['department'],
  country: ['country'],
  emailStatus: ['email_status'],
  smsStatus: ['sms_status'],
  fields: ['fields'],
  createdAt: ['created_at'],
  updatedAt: ['updated_at'],
};
const ALWAYS = ['id::text', 'account_id'];

/**
 * The columns a page of contacts must read for the fields asked under `nodes` and `edges.node`:
 * a page of 50 read with all 16 columns spent most of its database time parsing values nobody
 * asked for (dates, JSON). Fragments are followed; @skip/@include are ignored (reading a column
 * too many is harmless). Without `info`, or when unsure, every column.
 */
export function pageColumns(info: GraphQLResolveInfo | undefined): readonly string[] {
  if (!info) return CONTACT_COLUMNS;
  const wanted = new Set(ALWAYS);
  let all = false;
  const visit = (set: SelectionSetNode | undefined, onField: (f: FieldNode) => void) => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) onField(s);
      else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet, onField);
      else {
        const fragment = info.fragments[s.name.value];
        if (fragment) visit(fragment.selectionSet, onField);
        else all = true;
      }
    }
  };
  const onContact = (f: FieldNode) => {
    const columns = FIELD_COLUMNS[f.name.value];
    if (!columns) all = true;
    else for (const c of columns) wanted.add(c);
  };
  for (const node of info.fieldNodes) {
    visit(node.selectionSet, (f) => {
      if (f.name.value === 'nodes') visit(f.selectionSet, onContact);
      else if (f.name.value === 'edges')
        visit(f.selectionSet, (e) => {
          if (e.name.value === 'node') visit(e.selectionSet, onContact);
        });
    });
  }
  // In CONTACT_COLUMNS' order, so one selection always gives the same statement text.
  return all ? CONTACT_COLUMNS : CONTACT_COLUMNS.filter((c) => wanted.has(c));
}
