import type { Command } from 'commander'
import { fromHex, toHex } from '../../foundations/bytes.ts'
import { addressOf } from '../../foundations/crypto.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { formatBytes } from '../../foundations/units.ts'
import { endorseProvider } from '../../core/ledger/providers.ts'
import { CliContext, type GlobalOptions } from '../context.ts'
import { providerMarketCommands } from './market.ts'

export function providerCommands (program: Command, globals: () => GlobalOptions): void {
  const provider = program.command('provider').description('providers: endorse your nodes, stake, offer, list the registry')
  providerMarketCommands(provider, globals)

  provider.command('endorse')
    .description("sign, as the operator, a node's registration; prints the node's operator.json")
    .requiredOption('--node <public key>', "the node's public key (hex, from <data>/node-key.json)")
    .addHelpText('after', '\nExample: keynet provider endorse --node 3b6a…e1 > ./s1/operator.json')
    .action(async (o: { node: string }) => {
      const ctx = new CliContext(globals())
      let node: Uint8Array
      try { node = fromHex(o.node) } catch { throw new MalformedMessageError('--node must be the 32-byte public key in hex') }
      if (node.byteLength !== 32) throw new MalformedMessageError('--node must be the 32-byte public key in hex')
      const genesis = await ctx.trustedGenesis(ctx.api())
      const { name, key } = await ctx.signer()
      const file = { operator: name, operatorKey: toHex(key.publicKey), endorsement: toHex(endorseProvider(key.secretKey, genesis.chainId, node)) }
      process.stdout.write(`${JSON.stringify(file, null, 2)}\n`)
      process.stderr.write(`endorsed node ${toHex(addressOf(node))} for operator ${toHex(addressOf(key.publicKey))} on ${genesis.chainId}\n`)
    })

  provider.command('ls')
    .description('list registered storage providers with region, operator, capacity and liveness')
    .action(async () => {
      const ctx = new CliContext(globals())
      const { providers, height } = await ctx.api().providers()
      ctx.print({ providers, height }, () => [
        `${providers.length} providers at height ${height}`,
        ...providers.map(p => `  ${p.address.slice(0, 12)}…  ${p.live ? 'live  ' : 'SILENT'}  ${p.region.padEnd(10)} operator ${p.operator.slice(0, 8)}…  ${formatBytes(p.capacityBytes)}  ${p.peerId}`)
      ].join('\n'))
    })
}
