/**
 * Calendar days in an IANA time zone, computed with Intl only (no Temporal, nothing from the
 * compiler): the property test's oracle uses these for "today" and for the midnights that bound
 * event windows, and compares them with what PostgreSQL computes from its own tz database.
 *
 * Dates are 'YYYY-MM-DD' strings (years 1000-9999 compare as text). midnight() assumes local
 * midnight exists and is unique on that day, true for the zone the test uses (Pacific/Auckland
 * changes its clocks at 02:00/03:00); a zone that skips midnight would need PostgreSQL's rule
 * for non-existent local times.
 */
const formats = new Map<string, Intl.DateTimeFormat>();
function format(tz: string): Intl.DateTimeFormat {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(tz, f);
  }
  return f;
}

function wallClock(ms: number, tz: string) {
  const parts: Record<string, number> = {};
  for (const p of format(tz).formatToParts(new Date(ms)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts as { year: number; month: number; day: number; hour: number; minute: number; second: number };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const ymd = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;

/** The calendar date at instant ms in tz. */
export function localDate(ms: number, tz: string): string {
  const w = wallClock(ms, tz);
  return ymd(w.year, w.month, w.day);
}

/** How far tz's wall clock is ahead of UTC at instant ms (whole seconds). */
function offset(ms: number, tz: string): number {
  const w = wallClock(ms, tz);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant (ms) of 00:00 local time on date in tz. */
export function midnight(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d);
  // The offset at a guess, then at the instant that guess gives: right unless a change of offset
  // falls within hours of midnight, where the second step corrects it.
  const first = wall - offset(wall, tz);
  return wall - offset(first, tz);
}

export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const t = new Date(Date.UTC(2000, 0, 1));
  t.setUTCFullYear(y, m - 1, d + n);
  return ymd(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

const daysIn = (y: number, m: number) => {
  const t = new Date(Date.UTC(2000, 0, 1));
  t.setUTCFullYear(y, m, 0);
  return t.getUTCDate();
};

/** The first anniversary of date on or after today; 29 February falls on the 28th in other years. */
export function nextAnniversary(date: string, today: string): string {
  const [, m, d] = date.split('-').map(Number);
  const year = Number(today.slice(0, 4));
  const inYear = (y: number) => ymd(y, m, Math.min(d, daysIn(y, m)));
  return inYear(year) >= today ? inYear(year) : inYear(year + 1);
}

/** Whole days from one date to another (negative when to is earlier). */
export function daysBetween(from: string, to: string): number {
  const utc = (d: string) => {
    const t = new Date(Date.UTC(2000, 0, 1));
    t.setUTCFullYear(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10)));
    return t.getTime();
  };
  return Math.round((utc(to) - utc(from)) / 86_400_000);
}
