import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDataverseSandbox, type DataverseSandbox } from '../../src/sandbox/dataverse/index.ts';
import { startPartnerCenterSandbox, type PartnerCenterSandbox } from '../../src/sandbox/partner-center/index.ts';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.ts';
import { freePort } from '../support/service-process.ts';
import { makeTempDir } from '../support/tmp.ts';

/*
 * What an operator deploys: the compiled code plus a production install (`npm ci --omit=dev --omit=optional`: no tsx, no sandbox
 * packages), run with plain `node`, configured by the shipped example file pointed at the sandboxes (started here from
 * the development tree), and syncing a referral from Partner Center to Dynamics end to end.
 *
 * Run by `npm run test:dist`, the last step of `npm test` (a few minutes: the install compiles better-sqlite3).
 * COSELL_DIST_TEST_NODE_MODULES=/path/to/node_modules reuses an earlier production install while working on this file.
 */
const REPO = resolve(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the production install (compiled code, npm ci --omit=dev --omit=optional) against the sandboxes', () => {
  const tmp = makeTempDir('cosell-dist-');
  const app = join(tmp.path, 'app');
  const cosell = (args: string[]) => run(process.execPath, [join(app, 'dist/cli/main.js'), ...args], tmp.path);
  let pc: PartnerCenterSandbox;
  let dv: DataverseSandbox;
  let sf: SalesforceSandbox;
  let service: ChildProcess | undefined;
  let serviceLog = '';
  let configFile: string;
  let servicePort: number;

  beforeAll(async () => {
    const build = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], REPO);
    expect(build.code, build.stdout + build.stderr).toBe(0);
    for (const path of ['package.json', 'package-lock.json', 'patches', 'bin', 'mappings', 'examples']) cpSync(join(REPO, path), join(app, path), { recursive: true });
    const reuse = process.env.COSELL_DIST_TEST_NODE_MODULES;
    if (reuse) {
      symlinkSync(reuse, join(app, 'node_modules'));
    } else {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const install = await run(npm, ['ci', '--omit=dev', '--omit=optional', '--no-audit', '--no-fund', '--prefer-offline'], app, 15 * 60_000);
      expect(install.code, install.stderr).toBe(0);
    }

    pc = await startPartnerCenterSandbox({ port: 0, stateDir: join(tmp.path, 'pc-state') });
    dv = await startDataverseSandbox({ port: 0 });
    sf = await startSalesforceSandbox({ port: 0 });
    servicePort = await freePort();
    const adminPort = await freePort();
    // The shipped example, pointed at this run's ports and folders: what a user does by hand.
    mkdirSync(join(tmp.path, 'data/sandbox'), { recursive: true });
    writeFileSync(join(tmp.path, 'data/sandbox/partner-center-root.pem'), pc.rootCertificatePem);
    const pcHost = new URL(pc.url).host;
    const example = readFileSync(join(REPO, 'examples/cosell.sandbox.yaml'), 'utf8');
    // One pass, each placeholder followed by a non-digit: replacing one after another would also rewrite the prefix of
    // a port already substituted (127.0.0.1:41023 contains 127.0.0.1:4102) and produce an impossible port.
    const placeholders: Record<string, string> = {
      'port: 4100': `port: ${servicePort}`,
      'port: 4180': `port: ${adminPort}`,
      'http://127.0.0.1:4102': dv.url,
      'http://127.0.0.1:4103': sf.url,
      '127.0.0.1:4101': pcHost,
      '127.0.0.1:4100': `127.0.0.1:${servicePort}`,
      '../data/': './data/',
    };
    const pattern = new RegExp(`${Object.keys(placeholders).map((key) => key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')}(?!\\d)`, 'g');
    const config = example.replace(pattern, (found) => placeholders[found] ?? found).concat('\nlog:\n  level: info\n');
    expect(config).not.toMatch(/:410[0-3]\b|port: 4180\b/);
    configFile = join(tmp.path, 'cosell.yaml');
    writeFileSync(configFile, config);
  }, 20 * 60_000);

  afterAll(async () => {
    service?.kill('SIGTERM');
    await pc?.close();
    await dv?.close();
    await sf?.close();
    tmp.cleanup();
  });

  it('leaves the development-only packages out', () => {
    // @peculiar/x509 (and the reflect-metadata its tsyringe needs) build webhook certificate chains in production
    // (src/partner-center/certificate-chain.ts), so they are production dependencies now. TypeScript is an optional peer of
    // graphile-worker's cosmiconfig, which npm keeps with --omit=dev alone; --omit=optional leaves it out.
    for (const devOnly of ['tsx', 'typescript', 'vitest', 'playwright-core', 'dockerfile-utils']) {
      expect(existsSync(join(app, 'node_modules', devOnly)), devOnly).toBe(false);
    }
  });

  it('applies patches/ at install (dynamics-web-api sends the right Host header through a proxy; faye can be told to go direct)', () => {
    const library = readFileSync(join(app, 'node_modules/dynamics-web-api/dist/esm/dynamics-web-api.mjs'), 'utf8');
    expect(library).not.toContain('httpHeaders.host = hostHeader');
    // faye reads the proxy variables itself only when the client says nothing about a proxy (change-stream.ts does).
    const faye = readFileSync(join(app, 'node_modules/faye/src/transport/transport.js'), 'utf8');
    expect(faye).toContain("hasOwnProperty.call(this._proxy, 'origin')");
  });

  it('answers --version and --help with plain node', async () => {
    const version = await cosell(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version);
    const help = await cosell(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['start', 'backup', 'webhooks', 'mapping', 'setup']) expect(help.stdout).toContain(command);
    // The goal is under 0.5 s; a figure for the log, not an assertion (a loaded machine would make it flaky).
    const seconds: number[] = [];
    for (let run = 0; run < 5; run++) {
      const started = performance.now();
      await cosell(['--help']);
      seconds.push((performance.now() - started) / 1000);
    }
    seconds.sort((a, b) => a - b);
    console.log(`cosell --help with the compiled code: median ${seconds[2]?.toFixed(2)} s, slowest ${seconds[4]?.toFixed(2)} s (5 runs)`);
  });

  // The sandboxes used to need @peculiar/x509 and reflect-metadata, development packages then; webhook certificate
  // chains use them in production now, so a production install runs the sandboxes too (what `cosell dev` shows a user).
  it('runs a sandbox from the production install', async () => {
    const sandbox = spawn(process.execPath, [join(app, 'dist/cli/main.js'), 'sandbox', 'dataverse', '--port', '0'], {
      cwd: tmp.path,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    sandbox.stdout.on('data', (c: Buffer) => (output += c.toString()));
    sandbox.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await expect.poll(() => output, { timeout: 30_000, interval: 100 }).toMatch(/Dataverse sandbox: http:\/\/127\.0\.0\.1:\d+\/api\/data\/v9\.2\//);
      expect(output).not.toMatch(/development dependencies|ERR_MODULE_NOT_FOUND/);
    } finally {
      sandbox.kill('SIGTERM');
    }
  });

  it('runs init, setup, webhook registration and mapping check', async () => {
    const init = await cosell(['init', '--sandbox', '--crm', 'both', '--file', 'init.yaml', '--partner-center-url', pc.url, '--dynamics-url', dv.url, '--salesforce-url', sf.url]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/✔ Partner Center: connected/);
    for (const args of [
      ['setup', 'dynamics', '--no-webhook', '-c', configFile],
      ['setup', 'salesforce', '-c', configFile],
      ['webhooks', 'register', '-c', configFile],
      ['mapping', 'check', '-c', configFile],
      // What `init` wrote checks out too, now that setup made the custom columns and fields.
      ['mapping', 'check', '-c', 'init.yaml'],
    ]) {
      const result = await cosell(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
  }, 120_000);

  it('starts the service and syncs a new referral from Partner Center to Dynamics', async () => {
    service = spawn(process.execPath, [join(app, 'dist/cli/main.js'), 'start', '-c', configFile], {
      cwd: tmp.path,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    service.stderr?.on('data', (c: Buffer) => (serviceLog += c.toString()));
    service.stdout?.resume();
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${servicePort}/healthz`).catch(() => undefined))?.status, { timeout: 30_000, interval: 200 })
      .toBe(200);

    const name = `Production install deal ${Date.now()}`;
    const created = await fetch(`${pc.url}/_sandbox/referrals/incoming`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(created.status).toBeLessThan(300);
    const opportunityNames = async () => {
      const response = await fetch(`${dv.url}/_sandbox/records/opportunities`);
      const body = (await response.json()) as { value: Array<{ name: string }> };
      return body.value.map((o) => o.name);
    };
    await expect.poll(async () => (await opportunityNames()).some((n) => n.startsWith(name)), { timeout: 60_000, interval: 500 }).toBe(true);
    expect(serviceLog).not.toMatch(/"level":(50|60)/);
  }, 120_000);
});

