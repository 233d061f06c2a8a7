/**
 * The key-value store of a name through the client: the key's shard (from the name's verified
 * `shard` record) decides its replicas; reads ask every live replica and keep the winning
 * verified record (a replica can hide a record but never forge one); writes are signed here,
 * versioned one past the highest this client saw (a replica's refusal reports a higher one), and
 * sent to every replica — enough of them must store it
 * (a majority), the rest catch up by anti-entropy.
 */
import { fromHex } from '../foundations/bytes.ts'
import type { KeyPair } from '../foundations/crypto.ts'
import { NotFoundError, UnavailableError, errorWithStatus } from '../foundations/errors.ts'
import { kvShardOf, mergeKv, signKvRecord, StaleVersionError, type KvRecord } from '../core/kv/index.ts'
import type { ResolvedName, ProviderInfo } from '../services/content/directory.ts'
import { dialAddrs } from '../services/content/directory.ts'
import { KvClient } from '../services/kv/kv-client.ts'
import type { KvVersions } from './kv-versions.ts'
import type { P2PHost } from '../services/p2p/index.ts'

/** The name has no key-value shards yet. */
export class NoKvError extends errorWithStatus(404) {}
/** A write needs a signing key. */
export class NoSignerError extends errorWithStatus(401) {}

export interface KvContext {
  host: P2PHost
  name: ResolvedName
  providers: ProviderInfo[]
  signal?: AbortSignal
}

/** The live replicas of the shard holding `key`. */
function replicasFor (ctx: KvContext, key: string): ProviderInfo[] {
  const shard = ctx.name.records.shard
  if (shard === undefined) throw new NoKvError(`${ctx.name.name} has no key-value store: create it with \`keynet kv init ${ctx.name.name}\``)
  const holders = shard.providers?.[kvShardOf(ctx.name.name, key, shard.shards)] ?? []
  const live = ctx.providers.filter(p => holders.includes(p.address))
  if (live.length === 0) throw new UnavailableError(`no live replica holds the shard of "${key.slice(0, 64)}" of ${ctx.name.name}`)
  return live
}

async function connected (host: P2PHost, p: ProviderInfo, signal?: AbortSignal): Promise<KvClient> {
  if (!host.peers().includes(p.peerId)) {
    let last: unknown
    for (const addr of dialAddrs(p)) {
      try { await host.connect(addr, signal); last = undefined; break } catch (err) { last = err }
    }
    if (last !== undefined) throw last
  }
  return new KvClient({ host, peerId: p.peerId })
}

/**
 * Settles once `needed` of the tasks succeeded (the rest keep running in the background) or
 * once every task settled; returns what settled so far.
 */
async function firstQuorum<T> (tasks: Array<Promise<T>>, needed: number): Promise<Array<PromiseSettledResult<T>>> {
  const results: Array<PromiseSettledResult<T>> = []
  return await new Promise(resolve => {
    let ok = 0
    for (const task of tasks) {
      task.then(value => { ok++; results.push({ status: 'fulfilled', value }) }, reason => { results.push({ status: 'rejected', reason }) })
        .finally(() => { if (ok >= needed || results.length === tasks.length) resolve([...results]) })
    }
  })
}

/**
 * The winning verified record of `key` (tombstones included), or undefined: asks every live
 * replica and answers once a majority did, so one partitioned replica costs no time.
 */
export async function kvRead (ctx: KvContext, key: string, versions?: KvVersions): Promise<KvRecord | undefined> {
  const replicas = replicasFor(ctx, key)
  const owner = fromHex(ctx.name.owner)
  const asks = replicas.map(async p => await (await connected(ctx.host, p, ctx.signal)).get(ctx.name.name, key, { owner, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }))
  const answers = await firstQuorum(asks, Math.floor(replicas.length / 2) + 1)
  let best: KvRecord | undefined
  let answered = 0
  for (const a of answers) {
    if (a.status !== 'fulfilled') continue
    answered++
    if (a.value !== undefined) best = mergeKv(best, a.value)
  }
  if (answered === 0) throw new UnavailableError(`no replica of ${ctx.name.name} answered for "${key.slice(0, 64)}": ${answers.map(a => a.status === 'rejected' ? (a.reason as Error).message : '').join('; ')}`)
  if (best !== undefined) versions?.saw(ctx.name.name, key, best.version)
  return best
}

/** Times a plain write is sent again, one version past what a replica reported, before it gives up. */
const maxStaleRewrites = 3

/**
 * Writes `value` (or deletes, with `null`) one version past the highest known. A plain write
 * reads nothing first: it takes the version past the latest this client saw of the key (1 for a
 * key it never saw); when replicas hold that version or a higher one they refuse it and report
 * theirs, and the write goes again one past it. A majority storing it is the same condition a
 * read-then-write met: any version a majority stored is on at least one replica of every
 * majority, and refused there. With `expectVersion` (compare-and-set) the current version is read
 * first, since "it is at exactly this version" needs the current one.
 */
export async function kvWrite (ctx: KvContext, key: string, value: Uint8Array | null, signer: KeyPair | undefined, versions: KvVersions, expectVersion?: number): Promise<KvRecord> {
  if (signer === undefined) throw new NoSignerError(`writing ${ctx.name.name}/kv needs the owner's (or a delegated) key: connect({ signer })`)
  const replicas = replicasFor(ctx, key)
  let version: number
  if (expectVersion !== undefined) {
    const currentVersion = (await kvRead(ctx, key, versions))?.version ?? 0
    if (expectVersion !== currentVersion) throw new StaleVersionError(`"${key.slice(0, 64)}" is at version ${currentVersion}, not ${expectVersion}`, currentVersion)
    version = currentVersion + 1
  } else {
    version = (versions.get(ctx.name.name, key) ?? 0) + 1
  }
  const needed = Math.floor(replicas.length / 2) + 1
  for (let rewrites = 0; ; rewrites++) {
    const record = signKvRecord({ name: ctx.name.name, key, ...(value === null ? { deleted: true } : { value }), version, writerKey: signer })
    const results = await firstQuorum(replicas.map(async p => await (await connected(ctx.host, p, ctx.signal)).put(record, ctx.signal)), needed)
    const stored = results.filter(r => r.status === 'fulfilled').length
    if (stored >= needed) {
      versions.saw(ctx.name.name, key, version)
      return record
    }
    const stale = results.flatMap(r => r.status === 'rejected' && r.reason instanceof StaleVersionError ? [r.reason] : [])
    const highest = Math.max(0, ...stale.map(e => e.current))
    if (highest > 0) versions.saw(ctx.name.name, key, highest)
    if (stale.length > 0 && expectVersion === undefined && rewrites < maxStaleRewrites) {
      version = highest + 1
      continue
    }
    if (stale.length > 0) throw stale[0]!
    throw new UnavailableError(`only ${stored} of ${replicas.length} replicas stored the write (need ${needed}): ${results.map(r => r.status === 'rejected' ? (r.reason as Error).message : 'ok').join('; ')}`)
  }
}

/** A record as a Response: the value with its version, or 404 for absent and deleted keys. */
export function kvResponse (record: KvRecord | undefined, key: string, head: boolean): Response {
  if (record === undefined || record.value === null) {
    const body = { error: { name: NotFoundError.name, message: record === undefined ? `"${key.slice(0, 64)}" is not set` : `"${key.slice(0, 64)}" was deleted at version ${record.version}` } }
    return Response.json(body, { status: 404, headers: record === undefined ? {} : { 'x-kv-version': String(record.version) } })
  }
  return new Response(head ? null : record.value, { status: 200, headers: { 'content-type': 'application/octet-stream', 'x-kv-version': String(record.version), 'content-length': String(record.value.byteLength) } })
}
