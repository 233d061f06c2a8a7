/**
 * The DNS bridge end to end: a devnet's gateway answers Debian's `dig` over UDP and TCP, and
 * DNS over HTTPS, for a name registered and published through the real CLI. One small devnet
 * (1 validator, 1 storage node, the gateway) serves every case.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { decode, encode } from 'dns-packet'
import { udpExchange } from '../fixtures/dns/client.ts'
import type { NameView } from '../../src/edges/api/types.ts'
import { eventually, getJson, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'

const site = new URL('../../examples/site/', import.meta.url).pathname

/** Runs the real `dig` against the gateway's DNS server; resolves with its full output. */
async function dig (server: string, args: string[]): Promise<string> {
  const i = server.lastIndexOf(':')
  return await new Promise((resolve, reject) => {
    execFile('dig', [`@${server.slice(0, i)}`, '-p', server.slice(i + 1), '+tries=1', '+time=5', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`dig ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`))
      else resolve(stdout)
    })
  })
}

describe('DNS bridge: dig and DoH against a devnet gateway', { timeout: 240_000 }, () => {
  const home = tempHome('dns')
  const dir = join(home, 'devnet')
  let dns: string
  let http: string
  let cid: string
  let version: number

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '1', '--compute', '0', '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    assert.match(up.stdout, /gateway-0 .* dns 127\.0\.0\.1:\d+/)
    const gateway = readDevnetFile(dir).nodes.find(n => n.roles.includes('gateway'))!
    assert.ok(gateway.dns !== undefined, 'devnet.json lists the gateway\'s DNS address')
    dns = gateway.dns
    http = gateway.http!
    await keynetJson(home, ['name', 'register', 'mysite.key'])
    cid = (await keynetJson<{ cid: string }>(home, ['publish', site, '--name', 'mysite.key', '--replicas', '1', '--regions', '1'])).cid
    // Ask only once the gateway's own ledger has the content record, so no earlier answer is cached.
    const view = await eventually('the gateway to see the published name', async () => {
      const v = await getJson<NameView>(`${gateway.api}/v1/names/mysite.key`)
      return v.records.content?.cid === cid ? v : undefined
    })
    version = view.version
  })

  after(async () => {
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('A over UDP points at the gateway\'s HTTP host, authoritatively', async () => {
    const out = await dig(dns, ['mysite.key', 'A'])
    assert.match(out, /status: NOERROR/)
    assert.match(out, /flags: qr aa rd/)
    assert.match(out, /^mysite\.key\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1$/m)
    assert.equal((await dig(dns, ['+short', 'mysite.key'])).trim(), new URL(http).hostname)
  })

  it('TXT over TCP carries the content CID and the record version', async () => {
    const out = await dig(dns, ['+tcp', '+short', 'mysite.key', 'TXT'])
    assert.equal(out.trim(), `"cid=${cid}" "version=${version}"`)
  })

  it('NXDOMAIN with the SOA for an unregistered name and for an illegal one, over UDP and TCP', async () => {
    for (const args of [['nobody.key', 'A'], ['+tcp', 'nobody.key', 'TXT'], ['bad_name.key', 'A']]) {
      const out = await dig(dns, args)
      assert.match(out, /status: NXDOMAIN/, args.join(' '))
      assert.match(out, /^key\.\s+\d+\s+IN\s+SOA\s/m)
    }
  })

  it('a name outside .key is refused (no upstream configured)', async () => {
    assert.match(await dig(dns, ['example.com', 'A']), /status: REFUSED/)
    assert.match(await dig(dns, ['+tcp', 'example.com', 'A']), /status: REFUSED/)
  })

  it('malformed and oversized packets get FORMERR, and the gateway keeps answering dig', async () => {
    const port = Number(dns.slice(dns.lastIndexOf(':') + 1))
    const garbage = decode(Buffer.from(await udpExchange(port, Uint8Array.from([0xbe, 0xef, 0x01, 0x00, 0xff, 0xff]))))
    assert.equal(garbage.id, 0xbeef)
    assert.equal((garbage as { rcode?: string }).rcode, 'FORMERR')
    const oversized = new Uint8Array(8000).fill(0x41)
    assert.equal((decode(Buffer.from(await udpExchange(port, oversized))) as { rcode?: string }).rcode, 'FORMERR')
    assert.equal((await dig(dns, ['+short', 'mysite.key'])).trim(), '127.0.0.1')
  })

  it('DNS over HTTPS on the gateway\'s HTTP port answers the same, and rejects a bad encoding with 400', async () => {
    const query = encode({ type: 'query', id: 0, flags: 0x0100, questions: [{ name: 'mysite.key', type: 'TXT', class: 'IN' }] })
    const res = await fetch(`${http}/dns-query?dns=${query.toString('base64url')}`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'application/dns-message')
    const reply = decode(Buffer.from(await res.arrayBuffer()))
    const txt = (reply.answers?.[0] as { data: Buffer[] }).data.map(b => b.toString())
    assert.deepEqual(txt, [`cid=${cid}`, `version=${version}`])
    const post = await fetch(`${http}/dns-query`, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: encode({ type: 'query', id: 0, questions: [{ name: 'mysite.key', type: 'A', class: 'IN' }] }) })
    assert.equal((decode(Buffer.from(await post.arrayBuffer())).answers?.[0] as { data: string }).data, '127.0.0.1')
    const bad = await fetch(`${http}/dns-query?dns=not*base64`)
    assert.equal(bad.status, 400)
    assert.match(await bad.text(), /base64url/)
  })
})
