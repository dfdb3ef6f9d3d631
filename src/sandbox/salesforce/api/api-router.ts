import type { ApiMethod, ApiRoute } from './api-types.ts';

interface CompiledRoute {
  route: ApiRoute;
  segments: string[];
  /** Static segments count more than parameters, so `/sobjects/X/describe` beats `/sobjects/X/:id`, as in fastify. */
  score: number;
}

export interface RouteMatch {
  route: ApiRoute;
  params: Record<string, string>;
}

/** Matches a path relative to `/services/data/vXX.X` against the REST routes, for `/composite` subrequests. */
export class ApiRouter {
  private readonly routes: CompiledRoute[];

  constructor(routes: readonly ApiRoute[]) {
    this.routes = routes.map((route) => {
      const segments = route.path.split('/').filter((segment) => segment !== '');
      return { route, segments, score: segments.filter((segment) => !segment.startsWith(':')).length };
    });
  }

  match(method: string, path: string): RouteMatch | undefined {
    const parts = path.split('/').filter((segment) => segment !== '');
    let best: { match: RouteMatch; score: number } | undefined;
    for (const candidate of this.routes) {
      if (candidate.route.method !== (method.toUpperCase() as ApiMethod) || candidate.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      const matches = candidate.segments.every((segment, index) => {
        const part = parts[index] ?? '';
        if (segment.startsWith(':')) {
          params[segment.slice(1)] = decodeURIComponent(part);
          return true;
        }
        return segment === part;
      });
      if (matches && (!best || candidate.score > best.score)) best = { match: { route: candidate.route, params }, score: candidate.score };
    }
    return best?.match;
  }

  /** Whether any route exists for the path under another method (405 rather than 404). */
  allowedMethods(path: string): string[] {
    const methods = new Set<string>();
    for (const method of ['GET', 'POST', 'PATCH', 'PUT', 'DELETE']) if (this.match(method, path)) methods.add(method);
    return [...methods];
  }
}
