/**
 * The directory of a client that runs no node: a node's API, with every name answer checked
 * against the validators' signatures (`verifyNameProof`) so a lying node cannot redirect a name.
 * The provider list is cached briefly; it only decides whom to ask, and every block is verified.
 */
import { NameExpiredError, NameNotFoundError } from '../foundations/errors.ts'
import { genesisFromJson } from '../core/ledger/genesis.ts'
import type { Genesis } from '../core/ledger/types.ts'
import type { ApiClient } from '../edges/api/client.ts'
import { toHex } from '../foundations/bytes.ts'
import { defaultMaxAnswerAgeMs } from '../core/light-client/freshness.ts'
import type { Directory, PinInfo, ProviderInfo, ResolvedName } from '../services/content/directory.ts'

/** The live provider list is reused for this long. */
const providerCacheMs = 2000
/** A verified name answer is reused for this long: a request per name, not a proof per request. */
const nameCacheMs = 2000
/** Names whose answers are kept. */
const maxCachedNames = 1000

export class ApiDirectory implements Directory {
  readonly api: ApiClient
  private trusted: Promise<Genesis> | undefined
  private cached: { at: number, providers: Promise<ProviderInfo[]> } | undefined
  private readonly names = new Map<string, { at: number, answer: Promise<ResolvedName> }>()

  private readonly maxAnswerAgeMs: number

  /**
   * `genesis`: the validator set to trust; without it, the node's genesis on first use.
   * `maxAnswerAgeMs`: the oldest signed header a name answer may rest on.
   */
  constructor (api: ApiClient, genesis?: Genesis, maxAnswerAgeMs = defaultMaxAnswerAgeMs) {
    this.api = api
    this.maxAnswerAgeMs = maxAnswerAgeMs
    if (genesis !== undefined) this.trusted = Promise.resolve(genesis)
  }

  /** The trusted validator set (fetched once from the node when none was given). */
  async genesis (): Promise<Genesis> {
    this.trusted ??= this.api.genesis().then(g => genesisFromJson(JSON.stringify(g)))
    return await this.trusted
  }

  async resolveName (name: string, signal?: AbortSignal): Promise<ResolvedName> {
    const now = Date.now()
    const hit = this.names.get(name)
    if (hit !== undefined && now - hit.at < nameCacheMs) return await hit.answer
    const answer = this.verifiedName(name, signal)
    answer.catch(() => { this.names.delete(name) })
    this.names.set(name, { at: now, answer })
    while (this.names.size > maxCachedNames) this.names.delete(this.names.keys().next().value!)
    return await answer
  }

  private async verifiedName (name: string, signal?: AbortSignal): Promise<ResolvedName> {
    // The light client (consensus certificates, Merkle proofs) loads only when a name is resolved.
    const [genesis, proof, { verifyNameProof }] = await Promise.all([this.genesis(), this.api.nameProof(name, signal), import('../core/light-client/verify-name.ts')])
    const v = verifyNameProof(genesis, proof, name, { now: Date.now(), maxAgeMs: this.maxAnswerAgeMs })
    if (v.entry === undefined) throw new NameNotFoundError(`${v.name} is not registered`)
    if (v.status === 'expired') throw new NameExpiredError(`${v.name} has expired`)
    return { name: v.name, owner: toHex(v.entry.owner), version: v.entry.version, records: v.entry.records }
  }

  async providers (signal?: AbortSignal): Promise<ProviderInfo[]> {
    const now = Date.now()
    if (this.cached === undefined || now - this.cached.at > providerCacheMs) {
      const providers = this.api.providers(signal).then(r => r.providers.filter(p => p.live))
      providers.catch(() => { this.cached = undefined })
      this.cached = { at: now, providers }
    }
    return await this.cached.providers
  }

  async pin (cid: string, signal?: AbortSignal): Promise<PinInfo | undefined> {
    try {
      const pin = await this.api.pin(cid, signal)
      return { cid: pin.cid, holders: pin.holders, replicas: pin.replicas }
    } catch (err) {
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
  }
}
