import type { FastifyInstance } from 'fastify';

/** Every route's method and pattern, collected as Fastify registers them, to tell 405 from 404. */
export class RouteTable {
  private readonly routes: { method: string; pattern: RegExp; parametric: boolean }[] = [];

  /** Registers the collecting hook; call before the application registers its routes. */
  collectFrom(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      const pattern = new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}$`);
      for (const method of [route.method].flat()) this.routes.push({ method, pattern, parametric: route.url.includes(':') });
    });
  }

  /**
   * Methods some route serves at this path (empty when no route matches it).
   * A path with a route of its own (ext-orders/create) lists only its own
   * methods, not those of a parametric sibling (ext-orders/:extRequestId).
   */
  methodsAt(url: string): string[] {
    const path = url.split('?')[0];
    const matching = this.routes.filter((r) => r.pattern.test(path));
    const own = matching.some((r) => !r.parametric) ? matching.filter((r) => !r.parametric) : matching;
    return [...new Set(own.map((r) => r.method))];
  }
}
