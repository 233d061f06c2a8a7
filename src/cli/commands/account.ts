import type { Command } from 'commander'
import { toHex } from '../../foundations/bytes.ts'
import { addressOf } from '../../foundations/crypto.ts'
import { CliContext, parseAddressArg, type GlobalOptions } from '../context.ts'
import { positive } from '../args.ts'

export function accountCommands (program: Command, globals: () => GlobalOptions): void {
  const account = program.command('account').description('balances and payments')

  account.command('show [address]')
    .description("an account's balance and nonce (default: your signing identity)")
    .action(async (address: string | undefined) => {
      const ctx = new CliContext(globals())
      const target = address === undefined ? toHex(addressOf((await ctx.signer()).key.publicKey)) : toHex(parseAddressArg(address))
      const view = await ctx.api().account(target)
      ctx.print(view, () => `${view.address}\n  balance   ${view.balance}\n  nonce     ${view.nonce}${view.pendingNonce !== view.nonce ? ` (${view.pendingNonce - view.nonce} pending)` : ''}`)
    })

  account.command('send <to> <amount>')
    .description('pay an amount of the native unit to an address')
    .action(async (to: string, amount: string) => {
      const ctx = new CliContext(globals())
      const result = await ctx.send({ type: 'transfer', to: parseAddressArg(to), amount: positive(amount, 'amount') })
      ctx.print({ to, amount: Number(amount), ...result }, () => `sent ${amount} to ${to} at height ${result.height}`)
    })
}

export function statusCommand (program: Command, globals: () => GlobalOptions): void {
  program.command('status')
    .description("a node's view of the network: height, validators, peers, state root")
    .action(async () => {
      const ctx = new CliContext(globals())
      const api = ctx.api()
      const s = await api.status()
      ctx.print(s, () => [
        `chain       ${s.chainId}`,
        `node        ${s.nodeId} (${s.roles.join(', ')}) at ${api.base}`,
        `height      ${s.height}  (ledger time ${new Date(s.time).toISOString()})`,
        `consensus   height ${s.consensus.height} round ${s.consensus.round} ${s.consensus.step}`,
        `state root  ${s.stateRoot}`,
        `last block  ${s.lastBlockHash}`,
        `peers       ${s.peers}`,
        `mempool     ${s.mempool} transactions`,
        `validators  ${s.validators.length}: ${s.validators.map(v => `${v.name} (${v.publicKey.slice(0, 12)}…, power ${v.power})`).join(', ')}`
      ].join('\n'))
    })
}
