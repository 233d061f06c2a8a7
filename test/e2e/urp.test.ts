import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fromHex } from '../../src/foundations/bytes.ts'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { KvClient } from '../../src/services/kv/kv-client.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { eventually, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'

describe('one client for data: a name\'s key-value store over real storage processes', { timeout: 300_000 }, () => {
  const home = tempHome('urp')
  const dir = join(home, 'devnet')
  let api: ApiClient
  let probe: P2PHost | undefined

  const storageNodes = (): Array<{ name: string, pid: number, address: string, peerId: string, p2p: string }> =>
    readDevnetFile(dir).nodes.filter(n => n.roles.includes('storage')).map(n => ({
      name: n.name, pid: n.pid, p2p: n.p2p, peerId: n.id, address: (JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }).address
    }))

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '3', '--compute', '0', '--no-gateway', '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    api = new ApiClient(readDevnetFile(dir).nodes[0]!.api)
    await keynetJson(home, ['name', 'register', 'app.key'])
    await keynetJson(home, ['kv', 'init', 'app.key', '--shards', '2', '--replicas', '3'])
  })

  after(async () => {
    for (const n of storageNodes()) { try { process.kill(n.pid, 'SIGCONT') } catch {} }
    await probe?.stop()
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('puts and gets signed, versioned values; stale versions and unknown keys get clear errors', async () => {
    const put = await keynetJson<{ version: number }>(home, ['kv', 'put', 'app.key', 'greeting', 'hello'])
    assert.equal(put.version, 1)
    const got = await keynetJson<{ value: string, version: number }>(home, ['kv', 'get', 'app.key', 'greeting'])
    assert.deepEqual(got, { key: 'greeting', version: 1, value: 'hello' })
    assert.equal((await keynetJson<{ version: number }>(home, ['kv', 'put', 'app.key', 'greeting', 'again', '--if-version', '1'])).version, 2)
    const stale = await keynet(home, ['kv', 'put', 'app.key', 'greeting', 'late', '--if-version', '1'])
    assert.notEqual(stale.code, 0)
    assert.match(stale.stderr, /StaleVersionError.*version 2/)
    const missing = await keynet(home, ['kv', 'get', 'app.key', 'never-set'])
    assert.notEqual(missing.code, 0)
    assert.match(missing.stderr, /NotFoundError/)
    const noStore = await keynet(home, ['kv', 'get', 'other.key', 'x'])
    assert.notEqual(noStore.code, 0)
    assert.match(noStore.stderr, /NameNotFoundError/)
  })

  it('a write from a key that is not the owner is refused by every replica', async () => {
    const outsider = generateKeyPair()
    const { signKvRecord } = await import('../../src/core/kv/index.ts')
    const record = signKvRecord({ name: 'app.key', key: 'greeting', value: new TextEncoder().encode('hijack'), version: 99, writerKey: outsider })
    probe = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    await probe.start()
    for (const n of storageNodes()) {
      await probe.connect(n.p2p)
      await assert.rejects(new KvClient({ host: probe, peerId: n.peerId }).put(record), /NotOwnerError|owner/)
    }
    const got = await keynetJson<{ value: string }>(home, ['kv', 'get', 'app.key', 'greeting'])
    assert.equal(got.value, 'again')
  })

  it('a replica cut off during writes converges once the partition heals', async () => {
    const [cutOff] = storageNodes()
    assert.ok(cutOff)
    process.kill(cutOff.pid, 'SIGSTOP')
    try {
      for (const k of ['a', 'b', 'c', 'd']) await keynetJson(home, ['kv', 'put', 'app.key', `during/${k}`, `value-${k}`])
      await keynetJson(home, ['kv', 'delete', 'app.key', 'greeting'])
    } finally {
      process.kill(cutOff.pid, 'SIGCONT')
    }
    const owner = fromHex((await api.name('app.key')).owner)
    const client = new KvClient({ host: probe!, peerId: cutOff.peerId })
    await eventually('the healed replica to hold every write', async () => {
      const records = await client.getMany('app.key', ['during/a', 'during/b', 'during/c', 'during/d', 'greeting'], { owner })
      const ok = records.slice(0, 4).every((r, i) => r !== undefined && new TextDecoder().decode(r.value ?? new Uint8Array()) === `value-${'abcd'[i]}`) &&
        records[4]?.value === null && records[4].version === 3
      return ok ? true : undefined
    }, 60_000)
  })
})
