import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { ConfigInput } from '../../src/config/schema.ts';
import { testAdminConfig } from './admin.ts';

const REPO = resolve(import.meta.dirname, '../..');

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  /** What the service printed on stdout (its pino log lines). */
  stdout: () => string;
}

/**
 * Runs `cosell start` as a real child process, so tests can SIGKILL it. Resolves once /healthz answers. A config
 * without an `admin` section gets a loopback admin listener on a free port, with the test process's token.
 */
export async function spawnService(dir: string, config: ConfigInput, port: number): Promise<ServiceProcess> {
  const file = join(dir, 'cosell.yaml');
  writeFileSync(file, stringify({ ...config, admin: config.admin ?? testAdminConfig(await freePort()) }));
  const child = spawn(process.execPath, [join(REPO, 'bin/cosell.js'), 'start', '--config', file], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url, stderr: () => stderr, stdout: () => stdout };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`service did not become healthy: ${stderr}`);
}

/**
 * Ports a restarted service must bind again are taken below Linux's default ephemeral range (32768–60999): a port the
 * kernel handed out with `listen(0)` is also handed to other processes' outgoing connections, and a service restarted
 * after SIGKILL then met EADDRINUSE on its own port (seen under load in the crash tests).
 */
const STABLE_PORTS = { from: 20_000, to: 32_000 };

export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = STABLE_PORTS.from + Math.floor(Math.random() * (STABLE_PORTS.to - STABLE_PORTS.from));
    if (await canListen(port)) return port;
  }
  return ephemeralPort();
}

async function canListen(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

async function ephemeralPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
