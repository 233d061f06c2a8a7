import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { CarReader } from '@ipld/car'
import { fromHex, toHex } from '../../src/foundations/bytes.ts'
import { addressOf, generateKeyPair, keyPairFromSecret } from '../../src/foundations/crypto.ts'
import { endorseProvider } from '../../src/core/ledger/providers.ts'
import { encodeSignedTx, signTx, txId } from '../../src/core/ledger/tx.ts'
import type { TxBody } from '../../src/core/ledger/types.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import { connect } from '../../src/sdk/index.ts'
import type { PinView, StatusView } from '../../src/edges/api/types.ts'
import { createP2PHost, type P2PHost } from '../../src/services/p2p/index.ts'
import { decodeGetRequest, decodeRawGetRequest, encodeGetResponse, getProtocol, getRawProtocol } from '../../src/services/storage/block-messages.ts'
import { encodeBlockFrames } from '../../src/services/storage/block-frames.ts'
import { blocksMediaType } from '../../src/services/storage/block-http.ts'
import { cliPath, eventually, getJson, keynet, keynetJson, readDevnetFile, tempHome, userEnv } from './harness.ts'

const site = new URL('../../examples/site/', import.meta.url).pathname
const blobBytes = 48 * 1024 * 1024
const providerTimeoutMs = 8000

describe('content on storage providers: publish, fetch, failover, repair, gateway', { timeout: 480_000 }, () => {
  const home = tempHome('content')
  const dir = join(home, 'devnet')
  const scratch = join(home, 'scratch')
  let api: ApiClient
  let gateway: string
  let rogue: P2PHost | undefined
  let rogueHttp: Server | undefined
  let rogueTimer: NodeJS.Timeout | undefined

  /** Storage nodes by their provider address. */
  const storageNodes = (): Array<{ name: string, pid: number, api: string, address: string }> =>
    readDevnetFile(dir).nodes.filter(n => n.roles.includes('storage')).map(n => ({
      name: n.name, pid: n.pid, api: n.api, address: (JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }).address
    }))

  before(async () => {
    mkdirSync(scratch, { recursive: true })
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '4', '--compute', '0', '--provider-timeout', String(providerTimeoutMs), '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    const file = readDevnetFile(dir)
    api = new ApiClient(file.nodes[0]!.api)
    gateway = file.nodes.find(n => n.http !== undefined)!.http!
  })

  after(async () => {
    if (rogueTimer !== undefined) clearInterval(rogueTimer)
    await rogue?.stop()
    rogueHttp?.closeAllConnections()
    rogueHttp?.close()
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('devnet.json lists storage nodes with region and operator, and the gateway with its http address', () => {
    const nodes = readDevnetFile(dir).nodes
    const storage = nodes.filter(n => n.roles.includes('storage'))
    assert.equal(storage.length, 4)
    assert.ok(storage.every(n => n.region !== undefined && n.operator !== undefined))
    assert.equal(new Set(storage.map(n => n.region)).size, 3)
    assert.equal(new Set(storage.map(n => n.operator)).size, 4)
    assert.ok(nodes.some(n => n.roles.includes('gateway') && n.http?.startsWith('http://')))
  })

  it('publishes a site with 3 replicas and serves it byte-identical through the CLI, the gateway and a CAR export', async () => {
    await keynetJson(home, ['name', 'register', 'site.key'])
    const published = await keynetJson<{ cid: string, holders: Array<{ region: string, operator: string }>, regions: number }>(home, ['publish', site, '--name', 'site.key', '--replicas', '3'])
    assert.equal(published.holders.length, 3)
    assert.equal(published.regions, 3)
    assert.equal(new Set(published.holders.map(h => h.operator)).size, 3)
    const shown = await keynetJson<{ records: { content: { cid: string, replicas: number } } }>(home, ['name', 'show', 'site.key', '--verify'])
    assert.equal(shown.records.content.cid, published.cid)

    const pdf = join(scratch, 'guide.pdf')
    await keynetJson(home, ['get', 'site.key/docs/guide.pdf', '-o', pdf])
    assert.deepEqual(readFileSync(pdf), readFileSync(join(site, 'docs/guide.pdf')))
    const folder = join(scratch, 'site-copy')
    await keynetJson(home, ['get', 'site.key', '-o', folder])
    for (const file of listFiles(site)) assert.deepEqual(readFileSync(join(folder, file)), readFileSync(join(site, file)), file)

    const byHost = await curl(['-H', 'Host: site.key', `${gateway}/`])
    assert.equal(byHost, readFileSync(join(site, 'index.html'), 'utf8'))
    assert.equal(await curl([`${gateway}/key/site.key/assets/style.css`]), readFileSync(join(site, 'assets/style.css'), 'utf8'))
    const res = await fetch(`${gateway}/ipfs/${published.cid}/docs/guide.pdf`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/pdf')
    assert.match(res.headers.get('cache-control') ?? '', /immutable/)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), readFileSync(join(site, 'docs/guide.pdf')))
    assert.equal((await fetch(`${gateway}/key/site.key/no/such/page`)).status, 404)
    assert.equal((await fetch(`${gateway}/`, { headers: { host: 'unknown-name.key' } })).status, 404)

    const car = join(scratch, 'site.car')
    await keynetJson(home, ['export', published.cid, '-o', car])
    const reader = await CarReader.fromBytes(readFileSync(car))
    assert.deepEqual((await reader.getRoots()).map(String), [published.cid])
    let blocks = 0
    for await (const _ of reader.blocks()) blocks++
    assert.ok(blocks >= 8, `a CAR of the site holds its ${blocks} blocks`)
  })

  it('the SDK reaches the same content with one fetch call: files, ranges, folders, and clear errors', async () => {
    const net = await connect({ api: api.base })
    try {
      const pdf = await net.fetch('key://site.key/docs/guide.pdf')
      assert.equal(pdf.status, 200)
      assert.equal(pdf.headers.get('content-type'), 'application/pdf')
      assert.deepEqual(Buffer.from(await pdf.arrayBuffer()), readFileSync(join(site, 'docs/guide.pdf')))
      const part = await net.fetch('key://site.key/docs/guide.pdf', { headers: { range: 'bytes=0-7' } })
      assert.equal(part.status, 206)
      assert.equal(await part.text(), '%PDF-1.4')
      const index = await net.fetch('key://site.key/')
      assert.equal(await index.text(), readFileSync(join(site, 'index.html'), 'utf8'))
      const root = (await net.resolve('site.key')).cid.toString()
      assert.equal((await net.fetch(`key://${root}/assets/app.js`)).status, 200)
      const missing = await net.fetch('key://site.key/no/such/file')
      assert.equal(missing.status, 404)
      const unknown = await net.fetch('key://never-registered.key/')
      assert.equal(unknown.status, 404)
      assert.equal(((await unknown.json()) as { error: { name: string } }).error.name, 'NameNotFoundError')
      assert.equal((await net.fetch('key://site.key/', { method: 'DELETE' })).status, 405)
    } finally {
      await net.close()
    }
    const cli = await keynet(home, ['fetch', 'key://site.key/assets/style.css'])
    assert.equal(cli.code, 0, cli.stderr)
    assert.equal(cli.stdout, readFileSync(join(site, 'assets/style.css'), 'utf8'))
  })

  it('content that turns hot gets an extra copy at the gateway, with the decision and its inputs visible', async () => {
    const root = (await api.name('site.key')).records.content!.cid
    for (let i = 0; i < 150; i++) {
      const res = await fetch(`${gateway}/ipfs/${root}/index.html`)
      assert.equal(res.status, 200)
      await res.arrayBuffer()
    }
    const hot = await eventually('the gateway to copy the hot site', async () => {
      const status = await getJson<{ hot: { bytes: number, roots: Array<{ key: string, hot: boolean, ratePerSecond: number }>, decisions: Array<{ kind: string, key: string, outcome: string }> } }>(`${gateway}/status`)
      return status.hot.decisions.some(d => d.kind === 'promote' && d.key === root && d.outcome.startsWith('copied')) ? status.hot : undefined
    }, 20_000)
    assert.ok(hot.bytes > 0)
    assert.ok(hot.roots.some(r => r.key === root && r.hot && r.ratePerSecond > 0))
  })

  let blob: { cid: string, sha256: string, holders: string[], file: string }

  it('a 48 MiB blob survives kill -9 of one holder in the middle of a fetch', async () => {
    const file = join(scratch, 'blob.bin')
    writeFileSync(file, randomBytes(blobBytes))
    const put = await keynetJson<{ cid: string, holders: Array<{ address: string }> }>(home, ['put', file, '--replicas', '3'])
    blob = { cid: put.cid, sha256: sha256File(file), holders: put.holders.map(h => h.address), file }
    assert.equal(blob.holders.length, 3)
    const victim = storageNodes().find(n => n.address === blob.holders[0])!
    const out = join(scratch, 'blob-1.bin')
    await fetchKilling(blob.cid, out, [{ afterBytes: 8 << 20, pid: victim.pid }])
    assert.equal(sha256File(out), blob.sha256)
  })

  it('repairs the replica of the killed holder onto the spare provider, exactly once', async () => {
    const killed = blob.holders[0]!
    const spare = storageNodes().find(n => !blob.holders.includes(n.address))!
    const pin = await eventually('the pin to be repaired', async () => {
      const p = await api.pin(blob.cid)
      return p.repairs >= 1 ? p : undefined
    }, 60_000)
    assert.equal(pin.repairs, 1)
    assert.ok(!pin.holders.includes(killed))
    assert.ok(pin.holders.includes(spare.address))
    assert.equal(pin.holders.length, 3)
    await eventually('the spare provider to hold the whole blob', async () => {
      const s = await getJson<StatusView>(`${spare.api}/v1/status`)
      return s.storage?.pinned.includes(blob.cid) === true && s.storage.pulling === 0 && s.storage.bytes >= blobBytes ? true : undefined
    }, 60_000)
    blob.holders = pin.holders
  })

  it('kill -9 two of three holders during a fetch: it completes from the last one', async () => {
    const live = storageNodes().filter(n => blob.holders.includes(n.address) && isRunning(n.pid))
    assert.equal(live.length, 3)
    const [first, second] = live.filter(n => n.address !== live[live.length - 1]!.address)
    const out = join(scratch, 'blob-2.bin')
    await fetchKilling(blob.cid, out, [{ afterBytes: 6 << 20, pid: first!.pid }, { afterBytes: 20 << 20, pid: second!.pid }])
    assert.equal(sha256File(out), blob.sha256)
  })

  it('a provider that returns corrupt blocks is caught and never makes the client accept wrong bytes', async () => {
    const last = storageNodes().find(n => blob.holders.includes(n.address) && isRunning(n.pid))!
    const file = readDevnetFile(dir)
    const operator = keyPairFromSecret(fromHex((JSON.parse(readFileSync(join(dir, 'operators.json'), 'utf8')) as Array<{ secretKey: string }>)[0]!.secretKey))
    const rogueKey = generateKeyPair()
    const rogueAddress = toHex(addressOf(rogueKey.publicKey))
    await keynetJson(home, ['account', 'send', rogueAddress, '1000000'])
    rogue = await createP2PHost({ secretKey: rogueKey.secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
    await rogue.start()
    await rogue.handle(getProtocol, async request => {
      const asked = decodeGetRequest(request)
      return encodeGetResponse(asked.map(() => randomBytes(1024 * 1024)))
    })
    await rogue.handle(getRawProtocol, async request => encodeBlockFrames(decodeRawGetRequest(request).map(() => randomBytes(1024 * 1024))))
    // It also announces an HTTP block endpoint, which is what clients use first: it lies there too.
    rogueHttp = createServer((req, res) => {
      const asked = new URL(req.url ?? '', 'http://x').searchParams.get('cids')?.split(',') ?? []
      res.writeHead(200, { 'content-type': blocksMediaType })
      res.end(encodeBlockFrames(asked.map(() => randomBytes(1024 * 1024))))
    })
    rogueHttp.listen(0, '127.0.0.1')
    await once(rogueHttp, 'listening')
    const addrs = [...rogue.multiaddrs().map(a => a.slice(0, a.indexOf('/p2p/'))), `/ip4/127.0.0.1/tcp/${(rogueHttp.address() as AddressInfo).port}/http`]
    let nonce = 0
    const send = async (body: TxBody): Promise<void> => {
      const encoded = encodeSignedTx(signTx({ chainId: file.chainId, from: rogueKey.publicKey, nonce: nonce++, fee: 10, body }, rogueKey.secretKey))
      await api.submitTx(encoded)
      const status = await api.tx(toHex(txId(encoded)), 10_000)
      assert.equal(status.error, undefined, status.error?.message)
    }
    await send({ type: 'provider-register', operatorKey: operator.publicKey, endorsement: endorseProvider(operator.secretKey, file.chainId, rogueKey.publicKey), region: 'eu-west', capacityBytes: 1 << 30, addrs })
    rogueTimer = setInterval(() => { send({ type: 'provider-heartbeat' }).catch(() => {}) }, 2000)
    // The blob's owner (the developer account) re-pins it on the rogue and the last honest holder.
    await repin(blob.cid, [rogueAddress, last.address])
    const out = join(scratch, 'blob-3.bin')
    const got = await keynet(home, ['get', blob.cid, '-o', out, '--json'])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(sha256File(out), blob.sha256)
    const faults = readFileSync(join(home, 'faults.jsonl'), 'utf8').trim().split('\n').map(l => JSON.parse(l) as { provider: string, kind: string })
    assert.ok(faults.some(f => f.provider === rogue!.peerId && f.kind === 'wrong-block'), 'the wrong block is recorded against the rogue provider')
  })

  async function repin (cid: string, holders: string[]): Promise<void> {
    const dev = keyPairFromSecret(fromHex((JSON.parse(readFileSync(join(dir, 'dev-account.json'), 'utf8')) as { secretKey: string }).secretKey))
    const account = await api.account(toHex(addressOf(dev.publicKey)))
    const encoded = encodeSignedTx(signTx({ chainId: readDevnetFile(dir).chainId, from: dev.publicKey, nonce: account.pendingNonce, fee: 10, body: { type: 'content-pin', cid, replicas: holders.length, regions: 1, holders: holders.map(fromHex) } }, dev.secretKey))
    await api.submitTx(encoded)
    const status = await api.tx(toHex(txId(encoded)), 10_000)
    assert.equal(status.error, undefined, status.error?.message)
    const pin = await api.pin(cid) as PinView
    assert.deepEqual(pin.holders, holders)
  }

  /** Runs `keynet get` in its own process and kills each victim once the output passes its mark. */
  async function fetchKilling (cid: string, out: string, kills: Array<{ afterBytes: number, pid: number }>): Promise<void> {
    const child = spawn(process.execPath, [cliPath, 'get', cid, '-o', out, '--json'], { env: userEnv({ KEYNET_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const exited = new Promise<number>(resolve => child.on('exit', code => resolve(code ?? 1)))
    const pending = [...kills]
    let done = false
    void exited.then(() => { done = true })
    while (!done && pending.length > 0) {
      const size = existsSync(out) ? statSync(out).size : 0
      if (size >= pending[0]!.afterBytes) {
        process.kill(pending.shift()!.pid, 'SIGKILL')
      }
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    assert.equal(pending.length, 0, `the fetch finished before every kill happened (raise the blob size); left: ${pending.length}`)
    assert.equal(await exited, 0, stderr)
  }
})

function listFiles (root: string): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.push(relative(root, p))
    }
  }
  walk(root)
  return out
}

function sha256File (path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

function isRunning (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

async function curl (args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--fail', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('exit', code => { code === 0 ? resolve(out) : reject(new Error(`curl ${args.join(' ')}: ${err}`)) })
  })
}
