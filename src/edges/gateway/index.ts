/**
 * The HTTP gateway: serves `.key` sites and CID content to ordinary browsers and tools, with a
 * bounded on-disk edge cache of verified blocks.
 *
 * ```ts
 * import { EdgeCache, GatewayServer } from './src/edges/gateway/index.ts'
 *
 * const cache = await EdgeCache.open({ dir: './gateway-cache', capacityBytes: 1 << 30 })
 * const gateway = new GatewayServer({ resolver, blocks, cache, log: console.error })
 * const url = await gateway.listen('127.0.0.1', 8080)
 * // curl -H 'Host: mysite.key' http://127.0.0.1:8080/           → the site's index.html
 * // curl http://127.0.0.1:8080/key/mysite.key/docs/guide.pdf    → a file of the site
 * // curl http://127.0.0.1:8080/ipfs/<cid>/?format=car           → the DAG as a CAR v1
 * // curl http://127.0.0.1:8080/status                           → counters and cache hit rate
 * await gateway.close()
 * ```
 *
 * `resolver` maps a name to its content root (`NameResolver`), and `blocks` fetches verified
 * blocks by CID (a `BlockGetter` from core/content).
 */
export { GatewayServer, type GatewayServerInit, type GatewayStatus, type NameResolver } from './gateway-server.ts'
export { EdgeCache, cachedGetter, type CacheStats, type EdgeCacheInit } from './edge-cache.ts'
export { GatewayBusyError, MethodNotAllowedError, NoContentError } from './errors.ts'
