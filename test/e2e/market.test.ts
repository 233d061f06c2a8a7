import assert from 'node:assert/strict'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { toHex } from '../../src/foundations/bytes.ts'
import { addressOf, keyPairFromSecret } from '../../src/foundations/crypto.ts'
import { fromHex } from '../../src/foundations/bytes.ts'
import { ApiClient } from '../../src/edges/api/client.ts'
import type { DealView } from '../../src/edges/api/market-routes.ts'
import type { StatusView } from '../../src/edges/api/types.ts'
import { eventually, getJson, keynet, keynetJson, readDevnetFile, tempHome } from './harness.ts'

const site = new URL('../../examples/site/', import.meta.url).pathname
/** Short periods keep the test short: audits, answers and settlement each take a period. */
const settlementPeriodMs = 4000
const price = 10

describe('the storage market on a devnet: audits, payment only for checked periods, replacement, repair, slashing', { timeout: 300_000 }, () => {
  const home = tempHome('market')
  const dir = join(home, 'devnet')
  let api: ApiClient
  let content: { cid: string, dataRoot: string } | undefined

  interface StorageNode { name: string, api: string, address: string, region: string, operator: string, dataDir: string }
  const storageNodes = (): StorageNode[] => readDevnetFile(dir).nodes.filter(n => n.roles.includes('storage')).map(n => ({
    name: n.name, api: n.api, dataDir: n.dataDir, region: n.region!, operator: n.operator!,
    address: (JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }).address
  }))

  /** Everything that can hold funds here — accounts, operator stakes, escrow, and what slashing burnt — read at one height. */
  const totalFunds = async (): Promise<number> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const height = (await api.status()).height
      const total = await totalFundsOnce()
      if ((await api.status()).height === height) return total
    }
    throw new Error('the chain never held still long enough to read every balance at one height')
  }
  const totalFundsOnce = async (): Promise<number> => {
    const file = readDevnetFile(dir)
    const operators = (JSON.parse(readFileSync(join(dir, 'operators.json'), 'utf8')) as Array<{ address: string }>).map(o => o.address)
    const accounts = [
      file.devAccount.address,
      ...file.nodes.map(n => (JSON.parse(readFileSync(join(n.dataDir, 'node.json'), 'utf8')) as { address: string }).address),
      ...operators
    ]
    const [balances, stakes, market] = await Promise.all([
      Promise.all(accounts.map(async a => (await api.account(a)).balance)),
      Promise.all(operators.map(async o => (await api.stake(o)).amount)),
      api.market()
    ])
    return [...balances, ...stakes].reduce((x, y) => x + y, 0) + market.escrowHeld + market.burnt
  }

  before(async () => {
    const up = await keynet(home, ['devnet', 'up', '--validators', '1', '--storage', '6', '--compute', '0', '--no-gateway', '--settlement-period', String(settlementPeriodMs), '--timeout', '120000'])
    assert.equal(up.code, 0, up.stderr)
    api = new ApiClient(readDevnetFile(dir).nodes[0]!.api)
  })

  after(async () => {
    await keynet(home, ['devnet', 'down'])
    rmSync(home, { recursive: true, force: true })
  })

  it('every storage node stakes and offers at start; offers list price, capacity, quality and operator', async () => {
    const offers = await keynetJson<{ offers: Array<{ provider: string, operator: string, price: number, capacity: number, region: string, quality: { score: number } }> }>(home, ['market', 'offers', '--kind', 'storage'])
    assert.equal(offers.offers.length, 6)
    assert.ok(offers.offers.every(o => o.price === price && o.capacity >= 1 && o.quality.score > 0))
    const eu = await keynetJson<{ offers: Array<{ region: string }> }>(home, ['market', 'offers', '--kind', 'storage', '--region', 'eu-west'])
    assert.ok(eu.offers.length >= 1 && eu.offers.every(o => o.region === 'eu-west'))
  })

  it('publish opens a deal; a provider that deletes its blocks fails audits, goes unpaid, is slashed and replaced, and the content is repaired; honest holders are paid every period; funds add up', async (t) => {
    const before = await totalFunds()
    const startHeight = (await api.status()).height
    const run = await keynet(home, ['publish', site, '--periods', '40', '--json'])
    assert.equal(run.code, 0, run.stderr)
    const published = JSON.parse(run.stdout) as { cid: string, holders: Array<{ address: string, region: string, operator: string }>, deal?: { id: string, escrow: number } }
    assert.ok(published.deal !== undefined, `publish opened a deal: ${run.stderr}`)
    const dealId = published.deal.id
    assert.equal(published.deal.escrow, 3 * price * 1 * 40, 'escrow covers 3 holders × price × 1 GiB × 40 periods')
    const nodes = storageNodes()
    const holderAddrs = published.holders.map(h => h.address)
    // The victim: a holder whose region has another node under an operator the deal does not use yet, so the policy can be kept.
    const victim = published.holders.find(h => nodes.some(n => !holderAddrs.includes(n.address) && n.region === h.region &&
      !published.holders.some(o => o.address !== h.address && o.operator === n.operator)))
    assert.ok(victim !== undefined, 'a holder with a possible replacement')
    const honest = holderAddrs.filter(a => a !== victim.address)
    const victimNode = nodes.find(n => n.address === victim.address)!

    // Honest service first: every holder is paid for a settled period.
    await eventually('a settled period paid to all three holders', async () => {
      const records = await Promise.all(holderAddrs.map(async a => await api.record(a)))
      return records.every(r => r.periods.some(p => p.outcome === 'pass')) ? true : undefined
    }, 8 * settlementPeriodMs)
    const stakeBefore = (await api.stake(victim.operator)).amount

    rmSync(join(victimNode.dataDir, 'blocks', 'blocks'), { recursive: true, force: true })
    const deletedAt = Date.now()

    const replaced = await eventually('the victim dropped from the deal and replaced', async () => {
      const deal = await api.deal(dealId)
      const current = deal.slots.map(s => s.holder?.provider)
      return !current.includes(victim.address) && current.every(p => p !== undefined) ? deal : undefined
    }, 8 * settlementPeriodMs)
    const replacedAt = Date.now()
    const replacement = replaced.slots.map(s => s.holder!.provider).find(p => !holderAddrs.includes(p))!
    assert.ok(replacement !== undefined)
    const replacementNode = nodes.find(n => n.address === replacement)!
    assert.equal(replacementNode.region, victim.region, 'the replacement keeps the regions of the policy')
    assert.equal(new Set(replaced.slots.map(s => s.holder!.group)).size, 3, 'and distinct operators')

    const pin = await api.pin(published.cid)
    assert.ok(pin.holders.includes(replacement) && !pin.holders.includes(victim.address), 'the pin follows the deal')
    await eventually('the replacement pulled the content (repair)', async () => {
      const status = await getJson<StatusView>(`${replacementNode.api}/v1/status`)
      return status.storage?.pinned.includes(published.cid) === true && status.storage.pulling === 0 ? true : undefined
    }, 4 * settlementPeriodMs)
    const repairedAt = Date.now()

    const victimRecord = await api.record(victim.address)
    const failed = victimRecord.periods.filter(p => p.outcome !== 'pass')
    assert.ok(failed.length >= 1, 'the victim failed the periods after it deleted its blocks')
    assert.equal(victimRecord.earned, price * victimRecord.periods.filter(p => p.outcome === 'pass').length, 'and was paid only for the periods it passed')
    const stake = await api.stake(victim.operator)
    assert.ok(stake.amount < stakeBefore && stake.slashed > 0, `the victim's operator was slashed (${stakeBefore} → ${stake.amount})`)
    assert.ok((await api.market()).burnt > 0, 'part of the slash was burnt')

    // The replacement earns once it answers its audits; the honest holders never missed a period.
    await eventually('the replacement is paid for a period', async () => {
      const r = await api.record(replacement)
      return r.periods.some(p => p.outcome === 'pass') ? true : undefined
    }, 6 * settlementPeriodMs)
    const deal: DealView = await api.deal(dealId)
    for (const a of honest) {
      const r = await api.record(a)
      assert.ok(r.periods.every(p => p.outcome === 'pass'), `${a} passed every period`)
      assert.equal(r.periods.length, deal.nextPeriod - deal.startPeriod, `${a} was settled for every period so far`)
      assert.equal(r.earned, price * r.periods.length)
    }
    const e = deal.escrow
    assert.equal(e.deposited, e.paid + e.refunded + e.held, 'escrow in = paid + refunded + held')
    const earned = (await Promise.all([...holderAddrs, replacement].map(async a => (await api.record(a)).earned))).reduce((x, y) => x + y, 0)
    assert.equal(earned, e.paid, 'what the holders earned is what the escrow paid')
    assert.ok(e.refunded >= price * failed.length, 'the failed periods went back to the client')
    assert.equal(await totalFunds(), before, 'client + providers + stakes + escrow + burnt (+ fees to the validator) = before')

    // What the market costs the ledger per period, counted in the committed blocks.
    const endHeight = (await api.status()).height
    const counts = new Map<string, number>()
    let first = Infinity
    let last = 0
    for (let h = startHeight + 1; h <= endHeight; h++) {
      const block = await api.block(h)
      first = Math.min(first, block.time)
      last = Math.max(last, block.time)
      for (const type of block.txTypes) counts.set(type, (counts.get(type) ?? 0) + 1)
    }
    const periods = (last - first) / settlementPeriodMs
    const perPeriod = (type: string): string => ((counts.get(type) ?? 0) / periods).toFixed(2)
    t.diagnostic(`deal ${dealId}: escrow ${e.deposited} = paid ${e.paid} + refunded ${e.refunded} + held ${e.held}; victim failed ${failed.length} periods, its operator slashed ${stakeBefore - stake.amount}`)
    t.diagnostic(`blocks deleted → dropped and replaced ${((replacedAt - deletedAt) / settlementPeriodMs).toFixed(1)} periods (${replacedAt - deletedAt} ms), → content repaired on the replacement ${((repairedAt - deletedAt) / settlementPeriodMs).toFixed(1)} periods`)
    t.diagnostic(`market transactions per ${settlementPeriodMs} ms period over ${periods.toFixed(1)} periods (1 deal, 3 holders, 6 storage nodes): market-tick ${perPeriod('market-tick')}, audit-result ${perPeriod('audit-result')}, settle ${perPeriod('settle')}, audit-answer ${perPeriod('audit-answer')}, deal-replace ${perPeriod('deal-replace')}; heartbeats ${perPeriod('provider-heartbeat')}`)

    const shown = await keynetJson<{ id: string, status: string, dataRoot: string }>(home, ['deal', 'show', dealId])
    assert.equal(shown.status, 'open')
    content = { cid: published.cid, dataRoot: shown.dataRoot }
    const got = await keynet(home, ['get', `${published.cid}/index.html`])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.stdout, readFileSync(join(site, 'index.html'), 'utf8'), 'the content is still served, verified')
  })

  it('provider register, offer and withdraw through the CLI; offers with negative or absurd prices are refused', async () => {
    const { deals } = await api.deals()
    const held = new Set(deals.flatMap(d => d.slots.map(s => s.holder?.provider)))
    const node = storageNodes().find(n => !held.has(n.address))!
    const listed = async (): Promise<{ price: number, capacity: number } | undefined> => (await api.offers({ kind: 'storage' })).offers.find(o => o.provider === node.address)
    await keynetJson(home, ['provider', 'withdraw', '--node', node.dataDir])
    assert.equal(await listed(), undefined, 'a withdrawn offer is gone (and its node does not post it again)')
    for (const bad of ['-5', '1000000000']) {
      const r = await keynet(home, ['provider', 'offer', '--node', node.dataDir, '--capacity', '8', '--price', bad, '--json'])
      assert.equal(r.code, 1)
      assert.equal((JSON.parse(r.stdout) as { error: { name: string } }).error.name, 'InvalidOfferError', r.stdout)
    }
    assert.equal(await listed(), undefined, 'refused offers change nothing (the node refuses them before they reach a block, so not even a fee is paid)')
    const reference = (await api.market()).prices.find(p => p.kind === 'storage' && p.region === node.region)!.reference
    await keynetJson(home, ['provider', 'offer', '--node', node.dataDir, '--capacity', '8', '--price', String(reference)])
    assert.deepEqual(await listed().then(o => ({ price: o?.price, capacity: o?.capacity })), { price: reference, capacity: 8 })
    // A deal opened by hand for the same content commits to the same data as publish computed.
    const pin = await api.pin(content!.cid)
    const opened = await keynetJson<{ id: string, dataRoot: string, periods: number, escrow: { deposited: number } }>(home, ['deal', 'open', '--cid', content!.cid, '--providers', pin.holders.join(','), '--periods', '2', '--regions', '3'])
    assert.equal(opened.dataRoot, content!.dataRoot)
    assert.equal(opened.escrow.deposited, 3 * price * 2)
    const stake = (await api.stake(node.operator)).amount
    await keynetJson(home, ['provider', 'register', '--amount', '5000', '--operator', node.operator])
    assert.equal((await api.stake(node.operator)).amount, stake + 5000)
  })

  it('wallet shows balance, escrow, deals and earnings', async () => {
    const dev = keyPairFromSecret(fromHex((JSON.parse(readFileSync(join(dir, 'dev-account.json'), 'utf8')) as { secretKey: string }).secretKey))
    const wallet = await keynetJson<{ address: string, balance: number, escrow: number, deals: Array<{ id: string, role: string }> }>(home, ['wallet'])
    assert.equal(wallet.address, toHex(addressOf(dev.publicKey)))
    assert.ok(wallet.balance > 0 && wallet.escrow > 0)
    assert.ok(wallet.deals.some(d => d.role === 'client'))
  })
})
