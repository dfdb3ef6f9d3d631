/**
 * Outbound requests made through undici (Partner Center APIs, tokens, the webhook signing certificate) and Node's global
 * fetch honour the conventional proxy variables: HTTPS_PROXY / HTTP_PROXY (either case) and NO_PROXY. undici's
 * EnvHttpProxyAgent reads them and sends hosts listed in NO_PROXY directly
 * (https://undici.nodejs.org/#/docs/api/EnvHttpProxyAgent). Without any of them nothing changes: the default
 * dispatcher stays, and undici is not even loaded.
 */
export async function useProxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  // The first non-empty of the lower- and upper-case spelling: undici alone would let an empty `http_proxy` hide
  // `HTTP_PROXY`.
  const variable = (name: string): string | undefined => [env[name.toLowerCase()], env[name]].find((v) => v !== undefined && v !== '');
  const httpProxy = variable('HTTP_PROXY');
  const httpsProxy = variable('HTTPS_PROXY') ?? httpProxy;
  if (httpProxy === undefined && httpsProxy === undefined) return false;
  const { EnvHttpProxyAgent, setGlobalDispatcher } = await import('undici');
  setGlobalDispatcher(
    new EnvHttpProxyAgent({
      ...(httpProxy ? { httpProxy } : {}),
      ...(httpsProxy ? { httpsProxy } : {}),
      noProxy: variable('NO_PROXY') ?? '',
    }),
  );
  return true;
}
