import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (process.env.COSELL_MODULE_TRACE) appendFileSync(process.env.COSELL_MODULE_TRACE, `${result.url}\n`);
  return result;
}
