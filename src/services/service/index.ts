/**
 * @packageDocumentation
 *
 * Service nodes: a name owner's HTTP backend (any HTTP server, given by URL) reached over libp2p,
 * so the backend needs no public address. A `ServiceHost` runs on a node with the `service`
 * role; it holds bindings (name + path prefix → backend URL) that the name's owner signs, and
 * forwards each HTTP exchange (`/keynet/http/1`, streaming both ways) to the matching backend.
 * A `ServiceClient` carries a standard `Request` there and hands back a standard `Response`.
 * Wire formats and limits: `docs/protocol/service.md`.
 *
 * @example
 * ```ts
 * import { ServiceClient, ServiceHost } from './src/services/service/index.ts'
 *
 * // on the service node
 * const service = new ServiceHost({ host: nodeHost, dataDir, ownerOf: async (name) => ledger.ownerOf(name) })
 * await service.start()
 *
 * // the owner, once
 * const client = new ServiceClient({ host: clientHost })
 * await client.bind(nodeHost.peerId, { name: 'mysite.key', pathPrefix: '/api', backend: 'http://127.0.0.1:3000' }, ownerKeys)
 *
 * // anyone
 * const res = await client.forward(nodeHost.peerId, new Request('key://mysite.key/api/hello', { method: 'POST', body: 'hi' }))
 * console.log(res.status, await res.text())
 * ```
 */
export { ServiceHost, type ServiceHostInit, type ServiceLimits, type ServiceStats } from './service-host.ts'
export { ServiceClient, type ServiceClientInit } from './service-client.ts'
export type { Binding, BindingSpec } from './binding.ts'
export type { BindingStats, LatencyHistogram } from './binding-meter.ts'
export {
  bindProtocol, changeSigningBytes, signBind, signUnbind, verifyChange, type BindingStatus, type BindRequest, type SignedChange
} from './bind-messages.ts'
export { httpProtocol, type HeaderList, type RequestHead, type ResponseHead } from './http-wire.ts'
export { bindingsFileName } from './binding-table.ts'
export type { ExchangeLimits } from './http-forward.ts'
export {
  BackendNotAllowedError, BackendTimeoutError, BackendUnreachableError, HeadersTooLargeError, MethodNotAllowedError,
  RequestTimeoutError, ResponseCutOffError, ServiceBusyError, ServiceNotBoundError, StaleRequestError, TooManyBindingsError
} from './errors.ts'
