import { spawn, spawnSync } from 'node:child_process';
import { freePort } from '../src/db/embedded.js';
import { requireUnderCi } from './requirements.js';

/**
 * A throw-away redis-server (Debian package) on loopback, or null when none is installed. Under
 * CI a missing redis-server fails the run: the scale-out path must never be skipped there.
 */
export async function startRedis(): Promise<{ url: string; stop(): Promise<void> } | null> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    requireUnderCi('redis-server', 'apt-get install redis-server');
    console.warn('redis-server is not installed here: tests of several processes sharing Redis are skipped');
    return null;
  }
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.on('exit', (c) => reject(new Error(`redis-server exited with ${c}:\n${out}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.on('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
