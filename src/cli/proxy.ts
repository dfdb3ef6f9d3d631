/**
 * Outbound requests honour the conventional proxy variables HTTPS_PROXY / HTTP_PROXY (either case) and NO_PROXY: the
 * vendor clients through the shared dispatcher (src/http/outbound.ts), anything else on undici or Node's global fetch
 * through undici's global dispatcher. Without any of them nothing changes, and undici is not even loaded.
 */
export async function useProxyFromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const variables = ['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy'];
  if (!variables.some((name) => env[name] !== undefined && env[name] !== '')) return false;
  const { configureOutbound, installGlobalDispatcherForProxy } = await import('../http/outbound.ts');
  configureOutbound({ env });
  return installGlobalDispatcherForProxy();
}
