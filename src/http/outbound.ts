import { Agent, EnvHttpProxyAgent, setGlobalDispatcher, type Dispatcher } from 'undici';

/*
 * Process-wide settings of every outbound call (vendor APIs, their token endpoints, the webhook signing certificate):
 * the timeouts of each phase and the conventional proxy variables HTTPS_PROXY / HTTP_PROXY (either case) and NO_PROXY.
 * undici's EnvHttpProxyAgent applies the proxy rules (https://undici.nodejs.org/#/docs/api/EnvHttpProxyAgent); its
 * Agent options bound each phase, so a host that accepts the connection and then stays silent fails with the phase
 * named instead of holding a call for minutes.
 */

export interface HttpTimeouts {
  /** TCP and TLS handshake (to the proxy, when one is used). */
  connectMs: number;
  /** From the request being sent until the response headers arrive. */
  headersMs: number;
  /** The longest pause between two chunks of the response body. */
  bodyMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

/**
 * The defaults of commands a person runs and waits for (`init`, `setup`, `mapping`, `webhooks`, `solutions`): a host
 * that never answers fails within seconds, and a timed-out call is not tried again (the person re-runs the command),
 * where the service keeps the longer limits and one retry, and its job queue tries again later. Values set in the
 * configuration's `outbound` section apply to both.
 */
export const INTERACTIVE_HTTP_TIMEOUTS: HttpTimeouts = { connectMs: 5_000, headersMs: 15_000, bodyMs: 15_000 };

export interface ProxySettings {
  httpProxy: string | undefined;
  httpsProxy: string | undefined;
  noProxy: string;
}

let interactive = false;
/** What the configuration (or a test) set; the rest comes from the defaults of the current mode. */
let configuredTimeouts: Partial<HttpTimeouts> = {};
let timeouts: HttpTimeouts = DEFAULT_HTTP_TIMEOUTS;
let proxy: ProxySettings = proxyFromEnvironment(process.env);
let dispatcher: Dispatcher | undefined;
let installedGlobally = false;

/** The proxy variables, the first non-empty of the lower- and upper-case spelling (an empty `http_proxy` must not hide `HTTP_PROXY`). */
export function proxyFromEnvironment(env: NodeJS.ProcessEnv): ProxySettings {
  const variable = (name: string): string | undefined => [env[name.toLowerCase()], env[name]].find((v) => v !== undefined && v !== '');
  const httpProxy = variable('HTTP_PROXY');
  return { httpProxy, httpsProxy: variable('HTTPS_PROXY') ?? httpProxy, noProxy: variable('NO_PROXY') ?? '' };
}

/**
 * Replaces the settings; calls made afterwards use them. `timeouts` are the limits set explicitly; the others are the
 * defaults of the mode (DEFAULT_HTTP_TIMEOUTS, or INTERACTIVE_HTTP_TIMEOUTS after `useInteractiveLimits`).
 */
export function configureOutbound(settings: { timeouts?: Partial<HttpTimeouts>; env?: NodeJS.ProcessEnv }): void {
  if (settings.timeouts) configuredTimeouts = settings.timeouts;
  const nextTimeouts = { ...(interactive ? INTERACTIVE_HTTP_TIMEOUTS : DEFAULT_HTTP_TIMEOUTS), ...configuredTimeouts };
  const nextProxy = settings.env ? proxyFromEnvironment(settings.env) : proxy;
  // The same settings again (every command loads its config): keep the pooled connections.
  if (JSON.stringify([nextTimeouts, nextProxy]) === JSON.stringify([timeouts, proxy])) return;
  timeouts = nextTimeouts;
  proxy = nextProxy;
  const previous = dispatcher;
  dispatcher = undefined;
  if (installedGlobally) setGlobalDispatcher(outboundDispatcher());
  // Calls still in flight finish on the old one; closing waits for them.
  void previous?.close().catch(() => undefined);
}

/**
 * Makes the outbound dispatcher undici's global one too, so code that does not ask for it (Node's fetch, a library on
 * undici) goes through the proxy as well. Only when a proxy is configured: otherwise the default stays untouched.
 */
export function installGlobalDispatcherForProxy(): boolean {
  if (!usesProxy()) return false;
  installedGlobally = true;
  setGlobalDispatcher(outboundDispatcher());
  return true;
}

export function outboundTimeouts(): HttpTimeouts {
  return timeouts;
}

/** For the rest of the process: the interactive defaults, and no retry after a timeout (see INTERACTIVE_HTTP_TIMEOUTS). */
export function useInteractiveLimits(on = true): void {
  interactive = on;
  configureOutbound({});
}

/** How many retries after a timeout a call may make: the client's policy, none in a command a person waits for. */
export function timeoutRetriesAllowed(policyRetries: number): number {
  return interactive ? 0 : policyRetries;
}

/**
 * The limit of one whole read (request to last byte) for a client that can only bound the whole exchange
 * (dynamics-web-api): its configured limit, capped by the response-headers limit in interactive commands. Writes keep
 * the configured limit: creating a Dataverse table or column can take longer than any read.
 */
export function wholeReadLimit(configuredMs: number): number {
  return interactive ? Math.min(configuredMs, timeouts.headersMs) : configuredMs;
}

/** The dispatcher every outbound undici call uses: the configured timeouts, through the proxy when one applies. */
export function outboundDispatcher(): Dispatcher {
  dispatcher ??= createDispatcher(timeouts, proxy);
  return dispatcher;
}

export function createDispatcher(limits: HttpTimeouts, settings: ProxySettings): Dispatcher {
  const options = { connect: { timeout: limits.connectMs }, headersTimeout: limits.headersMs, bodyTimeout: limits.bodyMs };
  if (settings.httpProxy === undefined && settings.httpsProxy === undefined) return new Agent(options);
  return new EnvHttpProxyAgent({
    ...options,
    ...(settings.httpProxy ? { httpProxy: settings.httpProxy } : {}),
    ...(settings.httpsProxy ? { httpsProxy: settings.httpsProxy } : {}),
    noProxy: settings.noProxy,
  });
}

/**
 * The proxy a request to `url` goes through under the current settings, or undefined when it goes direct: for the one
 * client that cannot use the dispatcher (dynamics-web-api, on node:http). The NO_PROXY rules are undici's
 * EnvHttpProxyAgent's, so that client and every other one agree on which hosts go direct: entries split on commas or
 * blanks, an optional `:port`, a leading `.` or `*.` ignored, a host matches itself and its subdomains, `*` matches all.
 */
export function proxyUrlFor(url: string): string | undefined {
  const target = new URL(url);
  const chosen = target.protocol === 'https:' ? proxy.httpsProxy : proxy.httpProxy;
  if (chosen === undefined) return undefined;
  // `host` without its port keeps an IPv6 address's brackets, as undici compares it.
  const hostname = target.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(target.port, 10) || (target.protocol === 'https:' ? 443 : 80);
  return bypassesProxy(hostname, port, proxy.noProxy) ? undefined : chosen;
}

function bypassesProxy(hostname: string, port: number, noProxy: string): boolean {
  if (noProxy.trim() === '*') return true;
  return noProxy
    .split(/[,\s]/)
    .filter((entry) => entry !== '')
    .some((entry) => {
      const parsed = /^(.+):(\d+)$/.exec(entry);
      const entryHost = (parsed?.[1] ?? entry).replace(/^\*?\./, '').toLowerCase();
      const entryPort = parsed?.[2] ? Number.parseInt(parsed[2], 10) : 0;
      if (entryPort !== 0 && entryPort !== port) return false;
      return hostname === entryHost || hostname.endsWith(`.${entryHost}`);
    });
}

export function usesProxy(): boolean {
  return proxy.httpProxy !== undefined || proxy.httpsProxy !== undefined;
}
