/**
 * A test that needs a program npm does not bring (redis-server, chromium, ...) may skip on a
 * developer's machine that lacks it, with a warning; under CI (CI=true, which `.ci/run` runs
 * with) it fails instead, since a skip there hides a path we ship. `.ci/run` installs them.
 */
export function requireUnderCi(program: string, install: string): void {
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') {
    throw new Error(`${program} is required under CI (a skip would hide a shipped path): ${install}`);
  }
}
