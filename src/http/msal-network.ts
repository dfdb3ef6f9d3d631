import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { request } from 'undici';
import { outboundDispatcher, outboundTimeouts } from './outbound.ts';
import { describeTimeout, phaseLimit, timeoutPhaseOf } from './timeout-phase.ts';

/*
 * MSAL's HTTP client, replaced through its documented `system.networkClient` hook: MSAL Node 5 dropped its proxy
 * options ("Migrate from MSAL Node v3 to v5": developers write their own network client for proxies), and its built-in
 * client uses node:http, which neither HTTPS_PROXY nor the connect / headers / body limits reach. Token requests go
 * through the same undici dispatcher as every other outbound call instead.
 */

async function send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeoutMs: number | undefined): Promise<NetworkResponse<T>> {
  try {
    const response = await request(url, {
      method,
      ...(options?.headers ? { headers: options.headers } : {}),
      ...(options?.body !== undefined ? { body: options.body } : {}),
      dispatcher: outboundDispatcher(),
      ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
    });
    const text = await response.body.text();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    // MSAL validates the parsed body itself; an empty or non-JSON body is handed on as an empty object, as its own client does.
    return { status: response.statusCode, headers, body: parseJson(text) as T };
  } catch (error) {
    const phase = timeoutPhaseOf(error);
    if (phase === undefined) throw error;
    throw new Error(describeTimeout('entra', url, phase, phaseLimit(phase, outboundTimeouts())), { cause: error });
  }
}

function parseJson(text: string): unknown {
  try {
    return text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return {};
  }
}

export const msalNetworkModule: INetworkModule = {
  sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
  sendPostRequestAsync: (url, options) => send('POST', url, options, undefined),
};
