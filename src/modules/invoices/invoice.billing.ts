import { badInput } from '../../shared/errors.js';
import { diffOf } from '../audit/audit.service.js';
import type { Exec } from '../credits/credit.service.js';
import { type Actor, record } from './invoice.audit.js';

/**
 * The buyer of the account's invoices: copied into each invoice when it is issued, so a later
 * change never alters an issued invoice (French law: an invoice shows the buyer as it was).
 */
export interface BillingDetails {
  companyName: string;
  addressLines: string[];
  postcode: string;
  city: string;
  country: string;
  vatNumber: string | null;
}

export async function updateBillingDetails(exec: Exec, actor: Actor, d: BillingDetails): Promise<void> {
  const text = (v: string, field: string, max: number) => {
    const s = v.trim();
    if (!s || s.length > max) throw badInput(`${field} must hold 1 to ${max} characters`, { field });
    return s;
  };
  const lines = d.addressLines.map((l) => text(l, 'addressLines', 200));
  if (lines.length < 1 || lines.length > 4)
    throw badInput('addressLines must hold 1 to 4 lines', { field: 'addressLines' });
  const country = d.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country))
    throw badInput('country must be an ISO 3166 alpha-2 code', { field: 'country' });
  const vat = d.vatNumber?.replace(/\s/g, '').toUpperCase() || null;
  if (vat && !/^[A-Z]{2}[0-9A-Z]{2,13}$/.test(vat))
    throw badInput('vatNumber is not a VAT number', { field: 'vatNumber' });
  const next = {
    companyName: text(d.companyName, 'companyName', 200),
    addressLines: lines,
    postcode: text(d.postcode, 'postcode', 20),
    city: text(d.city, 'city', 120),
    country,
    vatNumber: vat,
  };
  const [before] = await exec<BillingDetails>(
    `select company_name as "companyName", address_lines as "addressLines", postcode, city, country,
       vat_number as "vatNumber" from billing_details where account_id = $1 for update`,
    [actor.accountId],
  );
  await exec(
    `insert into billing_details (account_id, company_name, address_lines, postcode, city, country, vat_number)
     values ($1, $2, array(select jsonb_array_elements_text($3::jsonb)), $4, $5, $6, $7) on conflict (account_id) do update set company_name = excluded.company_name,
       address_lines = excluded.address_lines, postcode = excluded.postcode, city = excluded.city,
       country = excluded.country, vat_number = excluded.vat_number, updated_at = now()`,
    [
      actor.accountId,
      next.companyName,
      // As JSON: MikroORM's execute spreads an array bound to a parameter into a list.
      JSON.stringify(next.addressLines),
      next.postcode,
      next.city,
      next.country,
      next.vatNumber,
    ],
  );
  record(
    actor,
    'updateBillingDetails',
    'BillingDetails',
    actor.accountId,
    // As mutate records them: { field: value } for a creation, { field: { from, to } } for a change.
    before ? diffOf(before, next) : { ...next },
  );
}
