/**
 * `GET /metrics` for the node's API server: the registry rendered in the Prometheus text
 * format 0.0.4, read fresh on every scrape.
 */
import { raw, type Route } from './http-server.ts'
import { expositionContentType, renderExposition } from '../../services/metrics/exposition.ts'
import type { MetricsRegistry } from '../../services/metrics/registry.ts'

/** The `GET /metrics` route serving `registry`. */
export function metricsRoute (registry: Pick<MetricsRegistry, 'collect'>): Route {
  return {
    method: 'GET',
    path: '/metrics',
    handler: () => raw(200, { text: renderExposition(registry.collect()), contentType: expositionContentType })
  }
}
