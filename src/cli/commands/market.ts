import type { Command } from 'commander'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { toHex } from '../../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../../foundations/crypto.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { parseCid } from '../../core/content/cid.ts'
import { walkDag } from '../../core/content/exporter.ts'
import { blockLeaves, CommitmentTree } from '../../core/market/commitment.ts'
import { checkKind, type ResourceKind } from '../../core/market/kinds.ts'
import type { TxBody } from '../../core/ledger/types.ts'
import type { DealView, OfferView } from '../../edges/api/market-routes.ts'
import { loadOrCreateNodeKey } from '../../node/node-key.ts'
import { CliContext, parseAddressArg, type GlobalOptions } from '../context.ts'
import { openDeal } from '../market/open-deal.ts'
import { receiptFromJson, receiptToJson } from '../market/receipts.ts'
import { signReceipt } from '../../core/market/receipts.ts'
import { maxReceiptsPerTx } from '../../core/market/constants.ts'
import { openClient } from './content.ts'
import { positive } from '../args.ts'

/** `keynet provider register|offer|withdraw`: an operator's stake and its nodes' offers. */
export function providerMarketCommands (provider: Command, globals: () => GlobalOptions): void {
  provider.command('register')
    .description("stake for an operator (default: your identity) so its nodes may offer; you become one of its stake sources")
    .requiredOption('--amount <n>', 'stake to move from your balance into the operator\'s')
    .option('--operator <address>', 'the operator to stake for (default: the signing identity)')
    .addHelpText('after', '\nNodes that share an operator, a stake source or a network prefix count as one operator for the market\'s rules.\nExample: keynet provider register --amount 100000')
    .action(async (o: { amount: string, operator?: string }) => {
      const ctx = new CliContext(globals())
      const operator = o.operator === undefined ? addressOf((await ctx.signer()).key.publicKey) : parseAddressArg(o.operator)
      const sent = await ctx.send({ type: 'stake', operator, amount: positive(o.amount, '--amount') })
      const stake = await ctx.api().stake(toHex(operator))
      ctx.print({ ...stake, height: sent.height }, () => `operator ${stake.operator} now has ${stake.amount} staked (group ${stake.group.slice(0, 8)}…, ${stake.slashed} slashed so far)`)
    })

  provider.command('offer')
    .description("offer a resource at a price, signed by the provider node's own key (its data folder)")
    .requiredOption('--node <dir>', "the provider node's data folder (its node-key.json signs the offer)")
    .option('--kind <kind>', 'storage | bandwidth | requests | compute', 'storage')
    .requiredOption('--capacity <units>', 'units offered (storage: GiB)')
    .requiredOption('--price <n>', 'price per unit per settlement period')
    .addHelpText('after', '\nExample: keynet provider offer --node ./s1 --kind storage --capacity 100 --price 10')
    .action(async (o: { node: string, kind: string, capacity: string, price: string }) => {
      const ctx = new CliContext(globals())
      const body: TxBody = { type: 'offer', kind: checkKind(o.kind), capacity: Number(o.capacity), price: Number(o.price) }
      const sent = await sendAsNode(ctx, o.node, body)
      ctx.print({ provider: sent.from, kind: o.kind, capacity: Number(o.capacity), price: Number(o.price), height: sent.height }, () => `provider ${sent.from} offers ${o.capacity} units of ${o.kind} at ${o.price} per unit per period (height ${sent.height})`)
    })

  provider.command('withdraw')
    .description('withdraw a node\'s offer: no new placements; its open deals run on')
    .requiredOption('--node <dir>', "the provider node's data folder")
    .option('--kind <kind>', 'the offer\'s kind', 'storage')
    .action(async (o: { node: string, kind: string }) => {
      const ctx = new CliContext(globals())
      const sent = await sendAsNode(ctx, o.node, { type: 'offer-withdraw', kind: checkKind(o.kind) })
      ctx.print({ provider: sent.from, kind: o.kind, withdrawn: true, height: sent.height }, () => `withdrew the ${o.kind} offer of ${sent.from}`)
    })

  provider.command('submit-receipt')
    .description("submit the latest client-signed usage receipt of each of a node's bandwidth or requests deals (the node's key signs the transaction)")
    .requiredOption('--node <dir>', "the provider node's data folder")
    .argument('<receipts...>', 'receipts as printed by `keynet deal receipt`: JSON, or a file holding it')
    .addHelpText('after', '\nExample: keynet provider submit-receipt --node ./s1 receipt-d3.json')
    .action(async (receipts: string[], o: { node: string }) => {
      const ctx = new CliContext(globals())
      if (receipts.length > maxReceiptsPerTx) throw new MalformedMessageError(`at most ${maxReceiptsPerTx} receipts per transaction`)
      const parsed = receipts.map(r => receiptFromJson(r.trimStart().startsWith('{') ? r : readFileSync(r, 'utf8')))
      const sent = await sendAsNode(ctx, o.node, { type: 'receipt', receipts: parsed })
      ctx.print({ provider: sent.from, receipts: parsed.map(receiptToJson), height: sent.height }, () => parsed.map(r => `accepted: deal ${r.dealId} counts ${r.count} for ${sent.from} (height ${sent.height})`).join('\n'))
    })
}

async function sendAsNode (ctx: CliContext, dir: string, body: TxBody): ReturnType<CliContext['send']> {
  if (!existsSync(join(dir, 'node-key.json'))) throw new MalformedMessageError(`${dir} holds no node-key.json: pass the provider node's data folder`)
  const key: KeyPair = loadOrCreateNodeKey(dir)
  return await ctx.send(body, { key })
}

export function marketCommands (program: Command, globals: () => GlobalOptions): void {
  const market = program.command('market').description('the provider market: live offers and prices')
  market.command('offers')
    .description('live offers: price, capacity, measured quality and operator')
    .option('--kind <kind>', 'storage | bandwidth | requests | compute')
    .option('--region <region>', 'only offers in this region, e.g. eu-west')
    .addHelpText('after', '\nExample: keynet market offers --kind storage --region eu-west')
    .action(async (o: { kind?: string, region?: string }) => {
      const ctx = new CliContext(globals())
      const filter = { ...(o.kind === undefined ? {} : { kind: checkKind(o.kind) }), ...(o.region === undefined ? {} : { region: o.region }) }
      const { period, offers } = await ctx.api().offers(filter)
      const sorted = [...offers].sort((a, b) => a.price - b.price || b.quality.score - a.quality.score)
      ctx.print({ period, offers: sorted }, () => [
        `${sorted.length} offers (period ${period})`,
        '  provider       kind     region      price  free/capacity  quality (score, passed/settled)  operator',
        ...sorted.map(offerLine)
      ].join('\n'))
    })
}

function offerLine (o: OfferView): string {
  return `  ${o.provider.slice(0, 12)}…  ${o.kind.padEnd(8)} ${o.region.padEnd(10)} ${String(o.price).padStart(6)}  ${`${o.free}/${o.capacity}`.padStart(13)}  ${`${(o.quality.score / 100).toFixed(1)} %, ${o.quality.passes}/${o.quality.settled}`.padEnd(32)} ${o.operator.slice(0, 8)}…${o.live ? '' : '  (silent)'}`
}

export function dealCommands (program: Command, globals: () => GlobalOptions): void {
  const deal = program.command('deal').description('deals: escrowed agreements paid per period against evidence')
  deal.command('open')
    .description('open a deal with chosen providers; the escrow (price × units × periods per provider) leaves your balance')
    .requiredOption('--providers <addresses>', 'comma-separated provider addresses (see `keynet market offers`)')
    .option('--kind <kind>', 'storage | bandwidth | requests | compute', 'storage')
    .option('--cid <cid>', 'storage: the pinned content (yours) the deal keeps; its data commitment is computed from the blocks')
    .option('--units <n>', 'units per provider per period (storage: GiB; bandwidth: GiB; requests: 1,000 requests)', '1')
    .option('--periods <n>', 'settlement periods', '120')
    .option('--replicas <n>', 'providers, under distinct operators, that must hold it')
    .option('--regions <n>', 'distinct regions among them', '1')
    .addHelpText('after', '\nExamples:\n  keynet deal open --cid bafy… --providers 49e4…,d9a1…,c3f9… --periods 120 --regions 3\n  keynet deal open --kind bandwidth --units 10 --providers 49e4…,d9a1… --periods 60   (paid from your receipts: keynet deal receipt)')
    .action(async (o: { providers: string, kind: string, cid?: string, units: string, periods: string, replicas?: string, regions: string }) => {
      const ctx = new CliContext(globals())
      const kind: ResourceKind = checkKind(o.kind)
      const providers = o.providers.split(',').map(p => toHex(parseAddressArg(p.trim())))
      let commitment: { dataRoot: Uint8Array, segments: number } | undefined
      if (kind === 'storage') {
        if (o.cid === undefined) throw new MalformedMessageError('a storage deal names the content it keeps: pass --cid (publish opens one by itself)')
        commitment = await commitmentOf(ctx, o.cid)
      }
      const opened = await openDeal(ctx, {
        kind, providers, units: positive(o.units, '--units'), periods: positive(o.periods, '--periods'),
        replicas: o.replicas === undefined ? providers.length : positive(o.replicas, '--replicas'), regions: positive(o.regions, '--regions'),
        ...(o.cid === undefined ? {} : { cid: o.cid }),
        ...(commitment ?? {})
      })
      ctx.print(opened, () => describeDeal(opened))
    })

  deal.command('receipt')
    .description('sign a usage receipt for a provider of your bandwidth or requests deal: everything it has served you so far in the deal; prints it as JSON for the provider to submit')
    .requiredOption('--deal <id>', 'the deal, e.g. d3')
    .requiredOption('--provider <address>', 'the provider the receipt pays')
    .requiredOption('--count <n>', 'bytes (bandwidth) or requests (requests) served so far in the deal: cumulative, never lower than a receipt you signed before')
    .addHelpText('after', '\nExample: keynet deal receipt --deal d3 --provider 49e4… --count 1073741824 > receipt-d3.json')
    .action(async (o: { deal: string, provider: string, count: string }) => {
      const ctx = new CliContext(globals())
      const api = ctx.api()
      const [{ key }, genesis] = await Promise.all([ctx.signer(), ctx.trustedGenesis(api)])
      const count = Number(o.count)
      if (!Number.isSafeInteger(count) || count < 1) throw new MalformedMessageError('--count must be a positive whole number')
      const provider = parseAddressArg(o.provider)
      const sig = signReceipt(key.secretKey, genesis.chainId, { dealId: o.deal, provider: toHex(provider), count })
      const receipt = receiptToJson({ dealId: o.deal, provider, count, client: key.publicKey, sig })
      process.stdout.write(`${JSON.stringify(receipt)}\n`)
    })

  deal.command('show [id]')
    .description('a deal: holders, escrow (deposited = paid + refunded + held), periods settled; without an id, your deals')
    .action(async (id: string | undefined) => {
      const ctx = new CliContext(globals())
      const api = ctx.api()
      if (id !== undefined) {
        const d = await api.deal(id)
        ctx.print(d, () => describeDeal(d))
        return
      }
      const me = toHex(addressOf((await ctx.signer()).key.publicKey))
      const { deals } = await api.deals({ client: me })
      ctx.print({ deals }, () => deals.length === 0 ? 'no deals' : deals.map(describeDeal).join('\n'))
    })
}

async function commitmentOf (ctx: CliContext, cid: string): Promise<{ dataRoot: Uint8Array, segments: number }> {
  const client = await openClient(ctx)
  try {
    const root = parseCid(cid)
    const { get } = await client.blocksFor(root)
    const blocks: Array<{ cid: string, size: number, leaves: Uint8Array[] }> = []
    for await (const b of walkDag(root, get, { concurrency: 16 })) blocks.push({ cid: b.cid.toString(), size: b.bytes.byteLength, leaves: blockLeaves(b.bytes) })
    const tree = new CommitmentTree(blocks)
    return { dataRoot: tree.root, segments: tree.segments }
  } finally {
    await client.close()
  }
}

export function describeDeal (d: DealView): string {
  const settled = d.nextPeriod - d.startPeriod
  return [
    `deal ${d.id} (${d.status}): ${d.kind}, ${d.units} units × ${d.periods} periods from period ${d.startPeriod}, ${settled} settled${d.cid === undefined ? '' : `, content ${d.cid}`}`,
    `  policy   ${d.policy.replicas} providers in ${d.policy.regions} regions under distinct operators`,
    `  escrow   deposited ${d.escrow.deposited} = paid ${d.escrow.paid} + refunded ${d.escrow.refunded} + held ${d.escrow.held}`,
    ...d.slots.map((s, i) => `  slot ${i}   ${s.holder === undefined ? 'vacant (awaiting replacement)' : `${s.holder.provider.slice(0, 12)}… ${s.holder.region} since ${s.holder.since}${s.holder.failures.length > 0 ? `, failed ${s.holder.failures.length}` : ''}${s.holder.usage === undefined ? '' : `, receipted ${s.holder.usage.count} (paid for ${s.holder.usage.settled})`}`}  price ${s.price}`)
  ].join('\n')
}

export function walletCommand (program: Command, globals: () => GlobalOptions): void {
  program.command('wallet')
    .description('your balance, escrow in your deals, their status, stake and earnings as a provider or operator')
    .option('--address <address>', 'look at another account (default: your signing identity)')
    .addHelpText('after', '\nKeys stay in the encrypted keystore (`keynet init`; `keynet init --recover` restores one from its recovery phrase).')
    .action(async (o: { address?: string }) => {
      const ctx = new CliContext(globals())
      const api = ctx.api()
      const address = o.address === undefined ? toHex(addressOf((await ctx.signer()).key.publicKey)) : toHex(parseAddressArg(o.address))
      const [account, asClient, asProvider, record, stake] = await Promise.all([
        api.account(address), api.deals({ client: address }), api.deals({ provider: address }), api.record(address), api.stake(address)
      ])
      const deals = [
        ...asClient.deals.map(d => ({ id: d.id, role: 'client', status: d.status, held: d.escrow.held, paid: d.escrow.paid, refunded: d.escrow.refunded })),
        ...asProvider.deals.map(d => ({ id: d.id, role: 'provider', status: d.status, held: d.escrow.held, paid: d.escrow.paid, refunded: d.escrow.refunded }))
      ]
      const escrow = asClient.deals.reduce((a, d) => a + d.escrow.held, 0)
      const out = { address, balance: account.balance, escrow, stake: stake.amount, slashed: stake.slashed, earned: record.earned, deals }
      ctx.print(out, () => [
        `${address}`,
        `  balance   ${account.balance}`,
        `  escrow    ${escrow} held in ${asClient.deals.filter(d => d.status === 'open').length} open deals as client`,
        `  earned    ${record.earned} as a provider (${record.periods.filter(p => p.outcome === 'pass').length} of the last ${record.periods.length} settled periods passed)`,
        `  stake     ${stake.amount} as an operator${stake.slashed > 0 ? ` (${stake.slashed} slashed)` : ''}`,
        ...deals.map(d => `  ${d.id.padEnd(6)} ${d.role.padEnd(8)} ${d.status.padEnd(6)} held ${d.held}  paid ${d.paid}  refunded ${d.refunded}`)
      ].join('\n'))
    })
}
