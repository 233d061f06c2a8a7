/**
 * A p2p host that creates and starts itself on first use: loading libp2p and starting it take a
 * quarter of a second, which a short-lived client whose work needs no libp2p peer (blocks over
 * HTTP) should not pay. Until then it has no peers and no addresses; `stop` before first use does
 * nothing.
 *
 * @example
 * ```ts
 * const host = lazyP2PHost({ secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
 * host.peers()                                  // [] — nothing loaded yet
 * await host.request(peer, protocol, bytes)     // loads, starts, then sends
 * await host.stop()
 * ```
 */
import { TypedEventEmitter } from '@libp2p/interface'
import { HostNotStartedError } from './errors.ts'
import { peerIdOf } from './identity.ts'
import type { GossipHandler, P2PHost, P2PHostEvents, P2PHostInit, SubscribeOptions } from './index.ts'

/** A host that starts on first use (see the module comment). */
export function lazyP2PHost (init: P2PHostInit): P2PHost {
  return new LazyHost(init)
}

const forwarded = ['peer:connect', 'peer:disconnect', 'peer:banned'] as const

class LazyHost extends TypedEventEmitter<P2PHostEvents> implements P2PHost {
  readonly peerId: string
  readonly #init: P2PHostInit
  #host: Promise<P2PHost> | undefined
  /** The host once it started. */
  #started: P2PHost | undefined
  #stopped = false

  constructor (init: P2PHostInit) {
    super()
    this.#init = init
    this.peerId = peerIdOf(init.secretKey)
  }

  /** The started host, created on the first call. */
  async #real (): Promise<P2PHost> {
    if (this.#stopped) throw new HostNotStartedError('the host was stopped')
    this.#host ??= (async () => {
      const { createP2PHost } = await import('./index.ts')
      const host = await createP2PHost(this.#init)
      for (const type of forwarded) {
        host.addEventListener(type, (evt) => { this.safeDispatchEvent(type, { detail: (evt as CustomEvent).detail }) })
      }
      await host.start()
      this.#started = host
      return host
    })()
    return await this.#host
  }

  multiaddrs = (): string[] => this.#started?.multiaddrs() ?? []
  start = async (): Promise<void> => { await this.#real() }
  stop = async (): Promise<void> => {
    this.#stopped = true
    const host = this.#host
    if (host === undefined) return
    await (await host).stop()
  }

  publish = async (topic: string, data: Uint8Array): Promise<void> => { await (await this.#real()).publish(topic, data) }
  subscribe = (topic: string, handler: GossipHandler, opts?: SubscribeOptions): (() => void) => {
    let unsubscribe: (() => void) | undefined
    let cancelled = false
    this.#real().then(host => {
      if (!cancelled) unsubscribe = host.subscribe(topic, handler, opts)
    }, () => {})
    return () => {
      cancelled = true
      unsubscribe?.()
    }
  }

  topicPeers = (topic: string): string[] => this.#started?.topicPeers(topic) ?? []
  waitForTopicPeers: P2PHost['waitForTopicPeers'] = async (...args) => { await (await this.#real()).waitForTopicPeers(...args) }
  handle: P2PHost['handle'] = async (...args) => { await (await this.#real()).handle(...args) }
  unhandle: P2PHost['unhandle'] = async (...args) => { await (await this.#real()).unhandle(...args) }
  request: P2PHost['request'] = async (...args) => await (await this.#real()).request(...args)
  handleStream: P2PHost['handleStream'] = async (...args) => { await (await this.#real()).handleStream(...args) }
  openStream: P2PHost['openStream'] = async (...args) => await (await this.#real()).openStream(...args)
  peers = (): string[] => this.#started?.peers() ?? []
  connect: P2PHost['connect'] = async (...args) => { await (await this.#real()).connect(...args) }
  penalise: P2PHost['penalise'] = (...args) => { this.#started?.penalise(...args) }
  isBanned: P2PHost['isBanned'] = (peer) => this.#started?.isBanned(peer) ?? false
}
