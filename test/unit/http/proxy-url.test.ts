import { afterEach, describe, expect, it } from 'vitest';
import { configureOutbound, proxyUrlFor } from '../../../src/http/outbound.ts';

/** The proxy handed to dynamics-web-api (which cannot use the undici dispatcher) follows the dispatcher's NO_PROXY rules. */
describe('proxyUrlFor', () => {
  const proxy = 'http://proxy.corp.example:3128';
  const use = (env: NodeJS.ProcessEnv) => configureOutbound({ env });
  afterEach(() => use({}));

  it('goes direct without proxy variables', () => {
    use({});
    expect(proxyUrlFor('https://contoso.crm.dynamics.com/')).toBeUndefined();
  });

  it('uses HTTPS_PROXY for https and HTTP_PROXY for http, either spelling', () => {
    use({ https_proxy: proxy, HTTP_PROXY: 'http://plain.example:8080' });
    expect(proxyUrlFor('https://contoso.crm.dynamics.com/')).toBe(proxy);
    expect(proxyUrlFor('http://127.0.0.1:4102/')).toBe('http://plain.example:8080');
  });

  it('skips hosts NO_PROXY lists: the host, its subdomains, with or without a port, or everything with *', () => {
    use({ HTTPS_PROXY: proxy, NO_PROXY: 'internal.example, .dynamics.com,example.org:8443' });
    expect(proxyUrlFor('https://contoso.crm.dynamics.com/')).toBeUndefined();
    expect(proxyUrlFor('https://internal.example/')).toBeUndefined();
    expect(proxyUrlFor('https://example.org:8443/')).toBeUndefined();
    expect(proxyUrlFor('https://example.org/')).toBe(proxy);
    expect(proxyUrlFor('https://notinternal.example/')).toBe(proxy);
    use({ HTTPS_PROXY: proxy, no_proxy: '*' });
    expect(proxyUrlFor('https://contoso.crm.dynamics.com/')).toBeUndefined();
  });
});
