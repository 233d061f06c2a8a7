import type { Command } from 'commander'
import { toHex } from '../../foundations/bytes.ts'
import { KeystoreError } from '../../foundations/errors.ts'
import { Keystore, keynetHome } from '../../services/keystore/keystore.ts'
import { recoveryPhrase, secretFromPhrase } from '../../services/keystore/recovery-phrase.ts'
import { passphrase, readLine, type GlobalOptions } from '../context.ts'

export function initCommand (program: Command, globals: () => GlobalOptions): void {
  program.command('init')
    .description('create your identity (an ed25519 key) in an encrypted keystore under KEYNET_HOME (default ~/.keynet); prints its recovery phrase once')
    .option('--name <name>', 'identity name', 'default')
    .option('--recover', 'restore the identity from its 24-word recovery phrase (KEYNET_RECOVERY_PHRASE, else asked)')
    .addHelpText('after', '\nWrite the recovery phrase down: with it, `keynet init --recover` restores the same key on any machine.\nExamples:\n  keynet init\n  keynet init --recover --name default')
    .action(async (o: { name: string, recover?: boolean }) => {
      const g = globals()
      const store = new Keystore(g.home ?? keynetHome())
      const secret = o.recover === true ? secretFromPhrase(process.env.KEYNET_RECOVERY_PHRASE ?? await readLine('recovery phrase (24 words): ')) : undefined
      const pass = await passphrase(`new passphrase for identity "${o.name}": `)
      if (process.env.KEYNET_PASSPHRASE === undefined && await passphrase('repeat it: ') !== pass) throw new KeystoreError('the two passphrases differ; nothing was created')
      const id = store.create(o.name, pass, secret)
      const phrase = secret === undefined ? recoveryPhrase(id.keyPair.secretKey) : undefined
      const out = {
        name: id.name, address: toHex(id.address), publicKey: toHex(id.keyPair.publicKey), keystore: store.dir,
        ...(phrase === undefined ? { recovered: true } : { recoveryPhrase: phrase })
      }
      process.stdout.write(g.json === true
        ? `${JSON.stringify(out, null, 2)}\n`
        : [
            `${secret === undefined ? 'created' : 'recovered'} identity "${id.name}"`,
            `  address     ${out.address}`,
            `  public key  ${out.publicKey}`,
            `  stored in   ${store.dir} (encrypted)`,
            ...(phrase === undefined
              ? []
              : ['', 'Recovery phrase (shown only now; anyone with it holds this key; `keynet init --recover` restores it):', `  ${phrase}`]),
            ''
          ].join('\n'))
    })
}
