/**
 * Writes through the client's key-value access over three real replicas (libp2p on loopback):
 * a plain write reads nothing first, taking the version past the latest the client saw; a write
 * whose guess is stale (another client wrote since) is refused by the replicas, which report
 * their version, and goes again one past it; a compare-and-set write still checks the exact
 * version; and the signed, versioned record is what every replica ends up holding.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toHex, utf8 } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair } from '../../src/foundations/crypto.ts'
import { StaleVersionError } from '../../src/core/kv/index.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { KvStore, kvGetProtocol, kvPutProtocol, serveKv } from '../../src/services/kv/index.ts'
import type { ProviderInfo } from '../../src/services/content/directory.ts'
import { kvRead, kvWrite, type KvContext } from '../../src/sdk/kv-access.ts'
import { KvVersions } from '../../src/sdk/kv-versions.ts'

const name = 'mysite.key'
const owner = generateKeyPair()
const ownerAddress = addressOf(owner.publicKey)
type Scope = { after: (fn: () => Promise<void>) => void }

/** Three replicas of `name`'s single shard, and a client host whose requests are counted by protocol. */
async function setup (t: Scope): Promise<{ ctx: KvContext, stores: KvStore[], asked: Map<string, number> }> {
  const providers: ProviderInfo[] = []
  const stores: KvStore[] = []
  for (const label of ['A', 'B', 'C']) {
    const dir = await mkdtemp(join(tmpdir(), `keynet-kvw-${label}-`))
    const store = KvStore.open({ path: join(dir, 'kv.sqlite') })
    const keys = generateKeyPair()
    const host = await createP2PHost({ secretKey: keys.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    await host.start()
    await serveKv(host, store, { ownerOf: (n) => n === name ? ownerAddress : undefined })
    t.after(async () => {
      await host.stop()
      store.close()
      await rm(dir, { recursive: true, force: true })
    })
    stores.push(store)
    providers.push({ address: toHex(addressOf(keys.publicKey)), peerId: host.peerId, publicKey: toHex(keys.publicKey), kinds: ['storage'], operator: label, region: 'local', addrs: host.multiaddrs().map(a => a.replace(/\/p2p\/.*$/, '')) })
  }
  const client: P2PHost = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  await client.start()
  t.after(async () => { await client.stop() })
  const asked = new Map<string, number>()
  const request = client.request.bind(client)
  client.request = async (peer, protocol, data, opts) => {
    asked.set(protocol, (asked.get(protocol) ?? 0) + 1)
    return await request(peer, protocol, data, opts)
  }
  const ctx: KvContext = {
    host: client,
    name: { name, owner: toHex(ownerAddress), version: 1, records: { shard: { shards: 1, replicas: 3, providers: [providers.map(p => p.address)] } } },
    providers
  }
  return { ctx, stores, asked }
}

test('a plain write reads nothing first, and successive writes take successive versions', async (t) => {
  const { ctx, asked } = await setup(t)
  const versions = new KvVersions()
  const first = await kvWrite(ctx, 'greeting', utf8.encode('hello'), owner, versions)
  const second = await kvWrite(ctx, 'greeting', utf8.encode('hello again'), owner, versions)
  assert.deepEqual([first.version, second.version], [1, 2])
  assert.equal(asked.get(kvGetProtocol) ?? 0, 0, 'no read before the writes')
  assert.equal(asked.get(kvPutProtocol), 6, 'one put per replica per write')
  const read = await kvRead(ctx, 'greeting')
  assert.equal(read?.version, 2)
  assert.equal(utf8.decode(read.value!), 'hello again')
})

test('a write whose version guess is stale is refused, learns the replicas\' version and goes again one past it', async (t) => {
  const { ctx, stores } = await setup(t)
  const writerA = new KvVersions()
  const writerB = new KvVersions()
  for (let i = 0; i < 3; i++) await kvWrite(ctx, 'counter', utf8.encode(`a${i}`), owner, writerA)
  const b = await kvWrite(ctx, 'counter', utf8.encode('b'), owner, writerB)
  assert.equal(b.version, 4, 'past the 3 versions it never saw')
  assert.equal(writerB.get(name, 'counter'), 4)
  const read = await kvRead(ctx, 'counter')
  assert.equal(read?.version, 4)
  assert.equal(utf8.decode(read.value!), 'b', 'the later write wins')
  // Every replica holds the signed record of the winning write.
  const held = stores.map(s => s.get(name, 'counter')?.version)
  assert.ok(held.filter(v => v === 4).length >= 2, `versions held: ${held.join(', ')}`)
  const a = await kvWrite(ctx, 'counter', null, owner, writerA)
  assert.equal(a.version, 5, 'the first writer, now stale, also goes past')
  assert.equal((await kvRead(ctx, 'counter'))?.value, null, 'deleted')
})

test('compare-and-set still checks the exact current version', async (t) => {
  const { ctx } = await setup(t)
  const versions = new KvVersions()
  await kvWrite(ctx, 'k', utf8.encode('1'), owner, versions)
  await kvWrite(ctx, 'k', utf8.encode('2'), owner, versions)
  await assert.rejects(kvWrite(ctx, 'k', utf8.encode('x'), owner, new KvVersions(), 1), (err: unknown) => err instanceof StaleVersionError && err.current === 2)
  await assert.rejects(kvWrite(ctx, 'k', utf8.encode('x'), owner, new KvVersions(), 5), StaleVersionError)
  const ok = await kvWrite(ctx, 'k', utf8.encode('3'), owner, new KvVersions(), 2)
  assert.equal(ok.version, 3)
})

test('the remembered versions are bounded, least recently used forgotten first', () => {
  const v = new KvVersions(2)
  v.saw(name, 'a', 1)
  v.saw(name, 'b', 5)
  assert.equal(v.get(name, 'a'), 1)
  v.saw(name, 'c', 2)
  assert.equal(v.get(name, 'b'), undefined)
  assert.equal(v.get(name, 'a'), 1)
  v.saw(name, 'a', 0)
  assert.equal(v.get(name, 'a'), 1, 'never lowered')
})
