import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../util/logger.ts';

/** A wildcard listen address is not something a client can connect to; advertise loopback instead. */
function advertisedHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** How every sandbox is started: where it listens and where it logs. */
export interface SandboxListenOptions {
  /** Default: the sandbox's own (4101 Partner Center, 4102 Dataverse, 4103 Salesforce); 0 = ephemeral. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default silentLogger(). */
  logger?: Logger;
}

export interface ListeningSandbox {
  /** Where clients reach it, with the port actually bound (port 0 = ephemeral). */
  url: string;
  /** Stops its senders, then the server; calling it again waits for the same close. */
  close(): Promise<void>;
}

/**
 * Starts a sandbox's server. `stop` ends what the sandbox runs besides the server (webhook senders, held long polls):
 * before the server closes, since app.close() waits for open requests, and also when listening fails.
 */
export async function listenSandbox(
  app: FastifyInstance,
  options: { port: number; host: string; logger: Logger; name: string; stop(): Promise<void>; logFields?: Record<string, unknown> },
): Promise<ListeningSandbox> {
  try {
    await app.listen({ port: options.port, host: options.host });
  } catch (error) {
    await options.stop();
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const url = `http://${advertisedHost(options.host)}:${address.port}`;
  options.logger.info({ url, ...options.logFields }, `${options.name} sandbox listening`);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await options.stop();
      await app.close();
    })();
    return closing;
  };
  return { url, close };
}
