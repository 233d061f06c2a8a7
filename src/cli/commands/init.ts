import type { Command } from 'commander'
import { toHex } from '../../foundations/bytes.ts'
import { KeystoreError } from '../../foundations/errors.ts'
import { Keystore, keynetHome } from '../../services/keystore/keystore.ts'
import { passphrase, type GlobalOptions } from '../context.ts'

export function initCommand (program: Command, globals: () => GlobalOptions): void {
  program.command('init')
    .description('create your identity (an ed25519 key) in an encrypted keystore under KEYNET_HOME (default ~/.keynet)')
    .option('--name <name>', 'identity name', 'default')
    .action(async (o: { name: string }) => {
      const g = globals()
      const store = new Keystore(g.home ?? keynetHome())
      const pass = await passphrase(`new passphrase for identity "${o.name}": `)
      if (process.env.KEYNET_PASSPHRASE === undefined && await passphrase('repeat it: ') !== pass) throw new KeystoreError('the two passphrases differ; nothing was created')
      const id = store.create(o.name, pass)
      const out = { name: id.name, address: toHex(id.address), publicKey: toHex(id.keyPair.publicKey), keystore: store.dir }
      process.stdout.write(g.json === true
        ? `${JSON.stringify(out, null, 2)}\n`
        : `created identity "${id.name}"\n  address     ${out.address}\n  public key  ${out.publicKey}\n  stored in   ${store.dir} (encrypted)\n`)
    })
}
