import { Migration } from '@mikro-orm/migrations';

/**
 * Webhooks (issue 14): the endpoints and their outbox, and the triggers that write the outbox in
 * the transaction of each change, whatever code path makes it (so a rolled-back change writes no
 * delivery and a committed one always has its row). Statement-level, with transition tables: one
 * INSERT ... SELECT per statement, whatever its number of rows, and a first test that costs one
 * index probe when no webhook of any account collects (webhook_collecting_index).
 *
 * Frozen here as they were when written (a migration must not change with the code): the
 * behaviour event types by smallint code (EVENT_TYPES: appending one needs webhook_event_type
 * re-created, as contact_activity's functions do) and the standard contact fields by API name.
 * Payloads carry ids only, plus the contact fields the webhook names (webhook_contact); one over
 * 256 KiB is stored REFUSED with the reason instead of its body.
 */
const EVENT_TYPES = [
  'EMAIL_OPEN',
  'EMAIL_CLICK',
  'SMS_CLICK',
  'FORM_SUBMIT',
  'SITE_VISIT',
  'WEB_BLOCK_CLICK',
  'UNSUBSCRIBE',
  'EMAIL_SENT',
  'SMS_SENT',
  'BOUNCE',
  'SMS_DELIVERED',
];
const FIELDS: [string, string][] = [
  ['email', 'email'],
  ['phone', 'phone'],
  ['firstName', 'first_name'],
  ['lastName', 'last_name'],
  ['gender', 'gender'],
  ['birthDate', 'birth_date'],
  ['city', 'city'],
  ['department', 'department'],
  ['country', 'country'],
  ['emailStatus', 'email_status'],
  ['smsStatus', 'sms_status'],
];
const MAX_PAYLOAD = 256 * 1024;
const COLLECTS = (type: string, rows: string) =>
  `join webhook w on w.account_id = ${rows}.account_id and w.status in ('ACTIVE', 'FAILING') and ${type} = any(w.event_types)`;
const CONTACT = (row: string) =>
  `case when cardinality(w.fields) > 0 then jsonb_build_object('contact', webhook_contact(${row}, w.fields)) else '{}'::jsonb end`;

/**
 * The insert every trigger ends with, over rows (webhook_id, account_id, event_type, seq,
 * occurred_at, payload): in event order (seq), so delivery ids follow the events.
 */
const OUTBOX = (
  select: string,
) => `insert into webhook_delivery (webhook_id, account_id, event_type, payload, occurred_at, status, last_error)
  select x.webhook_id, x.account_id, x.event_type,
         case when s.size > ${MAX_PAYLOAD} then jsonb_build_object('refused', s.size) else x.payload end,
         x.occurred_at,
         case when s.size > ${MAX_PAYLOAD} then 'REFUSED' else 'PENDING' end,
         case when s.size > ${MAX_PAYLOAD} then format('payload of %s bytes, over the 256 KiB limit: not sent', s.size) end
    from (${select}) x cross join lateral (select octet_length(x.payload::text) as size) s
   order by x.seq, x.webhook_id`;

/** A trigger function that returns at once when no webhook collects anything anywhere. */
const FN = (name: string, body: string) => `create function ${name}() returns trigger language plpgsql as $$
begin
  if not exists (select 1 from webhook where status in ('ACTIVE', 'FAILING')) then return null; end if;
  ${body};
  return null;
end $$;`;

const TRIGGERS: [string, string, string, string][] = [
  // [trigger, table and event, transition tables, function]
  [
    'contact_event_webhook_insert',
    'after insert on contact_event',
    'new table as new_rows',
    'webhook_outbox_event',
  ],
  ['bounce_webhook_insert', 'after insert on bounce', 'new table as new_rows', 'webhook_outbox_bounce'],
  [
    'contact_webhook_insert',
    'after insert on contact',
    'new table as new_rows',
    'webhook_outbox_contact_insert',
  ],
  [
    'contact_webhook_update',
    'after update on contact',
    'old table as old_rows new table as new_rows',
    'webhook_outbox_contact_update',
  ],
  [
    'contact_webhook_delete',
    'after delete on contact',
    'old table as old_rows',
    'webhook_outbox_contact_delete',
  ],
  [
    'contact_score_webhook_insert',
    'after insert on contact_score',
    'new table as new_rows',
    'webhook_outbox_score_insert',
  ],
  [
    'contact_score_webhook_update',
    'after update on contact_score',
    'old table as old_rows new table as new_rows',
    'webhook_outbox_score_update',
  ],
  [
    'operation_webhook_update',
    'after update on operation',
    'old table as old_rows new table as new_rows',
    'webhook_outbox_operation',
  ],
];

export class Migration20261203082911_WebhookOutbox extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "webhook" ("id" uuid not null default gen_random_uuid(), "account_id" uuid not null, "name" varchar(200) not null, "url" text not null, "event_types" text[] not null, "fields" text[] not null default '{}', "filter" jsonb null, "ordered" boolean not null default true, "status" text check ("status" in ('INACTIVE', 'ACTIVE', 'FAILING', 'DISABLED')) not null default 'INACTIVE', "status_reason" text null, "secret" text not null, "previous_secret" text null, "previous_secret_until" timestamptz null, "created_by" uuid null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "last_delivery_at" timestamptz null, "failure_streak" int not null default 0, "failing_since" timestamptz null, constraint "webhook_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhook_account_id_index" on "webhook" ("account_id");`);
    this.addSql(
      `create index webhook_collecting_index on webhook (account_id) where status in ('ACTIVE', 'FAILING');`,
    );

    this.addSql(
      `create table "webhook_delivery" ("id" bigserial primary key, "webhook_id" uuid not null, "account_id" uuid not null, "event_type" text not null, "payload" jsonb not null, "occurred_at" timestamptz not null, "status" text check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED', 'FILTERED', 'REFUSED')) not null default 'PENDING', "attempts" smallint not null default 0, "next_attempt_at" timestamptz not null default now(), "lease_until" timestamptz null, "last_attempt_at" timestamptz null, "response_status" smallint null, "response_ms" int null, "response_body" text null, "last_error" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(`create index "webhook_delivery_webhook_index" on "webhook_delivery" ("webhook_id", "id");`);
    this.addSql(
      `create index webhook_delivery_pending_index on webhook_delivery (webhook_id, id) include (next_attempt_at, lease_until) where status = 'PENDING';`,
    );

    this.addSql(
      `alter table "webhook" add constraint "webhook_account_id_foreign" foreign key ("account_id") references "account" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhook_delivery" add constraint "webhook_delivery_webhook_id_foreign" foreign key ("webhook_id") references "webhook" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`create function webhook_event_type(code smallint) returns text language sql immutable as $$
  select 'event.' || lower((array[${EVENT_TYPES.map((t) => `'${t}'`).join(', ')}])[code + 1])
$$;`);
    this.addSql(`create function webhook_contact(c contact, keys text[]) returns jsonb language sql stable as $$
  select jsonb_build_object('id', c.id::text) || coalesce(jsonb_object_agg(k, coalesce(case k
    ${FIELDS.map(([k, col]) => `when '${k}' then to_jsonb(c.${col})`).join('\n    ')}
    else c.fields -> k end, 'null'::jsonb)), '{}'::jsonb)
  from unnest(keys) k
$$;`);
    // The API names of what an update changed (standard fields, then custom ones), without values.
    this.addSql(`create function webhook_contact_changes(o contact, n contact) returns jsonb language sql stable as $$
  select coalesce(jsonb_agg(k order by standard desc, k), '[]'::jsonb) from (
    select k, true as standard from (values ${FIELDS.map(([k, col]) => `('${k}', o.${col} is distinct from n.${col})`).join(', ')}) v(k, changed) where changed
    union all
    select f.key, false from (select jsonb_object_keys(o.fields) as key union select jsonb_object_keys(n.fields)) f
     where (o.fields -> f.key) is distinct from (n.fields -> f.key)
  ) x
$$;`);
    this.addSql(
      FN(
        'webhook_outbox_event',
        OUTBOX(`select w.id as webhook_id, w.account_id, t.type as event_type, n.id as seq, n.occurred_at,
      jsonb_strip_nulls(jsonb_build_object('eventId', n.id::text, 'contactId', n.contact_id::text, 'operationId', n.operation_id,
        'formId', n.form_id, 'url', n.url, 'machine', n.machine, 'occurredAt', n.occurred_at))
      || case when cardinality(w.fields) > 0 then jsonb_build_object('contact',
           (select webhook_contact(c, w.fields) from contact c where c.id = n.contact_id and c.account_id = n.account_id)) else '{}'::jsonb end as payload
    from new_rows n cross join lateral (select webhook_event_type(n.type) as type) t ${COLLECTS('t.type', 'n')}`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_bounce',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'bounce.recorded' as event_type, b.id as seq, b.received_at as occurred_at,
      jsonb_strip_nulls(jsonb_build_object('bounceId', b.id::text, 'contactId', b.contact_id::text, 'operationId', b.operation_id,
        'type', b.type, 'hard', b.hard, 'reason', b.reason, 'status', b.status, 'replyCode', b.reply_code, 'receivedAt', b.received_at))
      || case when cardinality(w.fields) > 0 and b.contact_id is not null then jsonb_build_object('contact',
           (select webhook_contact(c, w.fields) from contact c where c.id = b.contact_id and c.account_id = b.account_id)) else '{}'::jsonb end as payload
    from new_rows b ${COLLECTS(`'bounce.recorded'`, 'b')}`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_contact_insert',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'contact.created' as event_type, n.id as seq, n.created_at as occurred_at,
      jsonb_build_object('contactId', n.id::text) || ${CONTACT('n')} as payload
    from new_rows n ${COLLECTS(`'contact.created'`, 'n')}`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_contact_update',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'contact.updated' as event_type, n.id as seq, n.updated_at as occurred_at,
      jsonb_build_object('contactId', n.id::text, 'changed', webhook_contact_changes(o, n)) || ${CONTACT('n')} as payload
    from new_rows n join old_rows o on o.id = n.id ${COLLECTS(`'contact.updated'`, 'n')}
   where (to_jsonb(o) - 'updated_at') is distinct from (to_jsonb(n) - 'updated_at')`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_contact_delete',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'contact.deleted' as event_type, o.id as seq, now() as occurred_at,
      jsonb_build_object('contactId', o.id::text) || ${CONTACT('o')} as payload
    from old_rows o ${COLLECTS(`'contact.deleted'`, 'o')}`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_score_insert',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'score.changed' as event_type, n.contact_id as seq, now() as occurred_at,
      jsonb_build_object('scoreId', n.score_id, 'contactId', n.contact_id::text, 'previous', 0, 'value', n.value) as payload
    from new_rows n ${COLLECTS(`'score.changed'`, 'n')} where n.value <> 0`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_score_update',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'score.changed' as event_type, n.contact_id as seq, now() as occurred_at,
      jsonb_build_object('scoreId', n.score_id, 'contactId', n.contact_id::text, 'previous', o.value, 'value', n.value) as payload
    from new_rows n join old_rows o on o.score_id = n.score_id and o.contact_id = n.contact_id ${COLLECTS(`'score.changed'`, 'n')}
   where o.value is distinct from n.value`),
      ),
    );
    this.addSql(
      FN(
        'webhook_outbox_operation',
        OUTBOX(`select w.id as webhook_id, w.account_id, 'operation.status_changed' as event_type, 0 as seq, n.updated_at as occurred_at,
      jsonb_strip_nulls(jsonb_build_object('operationId', n.id, 'kind', n.kind, 'name', n.name, 'previousStatus', o.status,
        'status', n.status, 'reason', case when n.status = 'FAILED' then n.failure_reason when n.status = 'REJECTED' then n.rejection_reason end)) as payload
    from new_rows n join old_rows o on o.id = n.id ${COLLECTS(`'operation.status_changed'`, 'n')}
   where o.status is distinct from n.status`),
      ),
    );
    for (const [name, on, tables, fn] of TRIGGERS)
      this.addSql(
        `create trigger ${name} ${on} referencing ${tables} for each statement execute function ${fn}();`,
      );
  }

  override async down(): Promise<void> {
    for (const [name, on, , fn] of TRIGGERS) {
      this.addSql(`drop trigger if exists ${name} on ${on.split(' on ')[1]};`);
      this.addSql(`drop function if exists ${fn}();`);
    }
    this.addSql('drop function if exists webhook_contact_changes(contact, contact);');
    this.addSql('drop function if exists webhook_contact(contact, text[]);');
    this.addSql('drop function if exists webhook_event_type(smallint);');
    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_webhook_id_foreign";`);

    this.addSql(`drop table if exists "webhook" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery" cascade;`);
  }
}
