import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex, toHex } from '../foundations/bytes.ts'
import { addressOf, type KeyPair } from '../foundations/crypto.ts'
import { KeystoreError, KeynetError, UnavailableError } from '../foundations/errors.ts'
import { genesisFromJson } from '../core/ledger/genesis.ts'
import type { Genesis, TxBody } from '../core/ledger/types.ts'
import { ApiClient } from '../edges/api/client.ts'
import type { TxStatusView } from '../edges/api/types.ts'
import { devAccountKey, isAlive, readDevnet } from '../node/devnet-file.ts'
import { Keystore, keynetHome } from '../services/keystore/keystore.ts'

/** Options every command accepts. */
export interface GlobalOptions { api?: string, json?: boolean, from?: string, home?: string }

/** The default devnet folder: where `npm start` puts its network and the CLI looks for it. */
export function defaultDevnetDir (home = keynetHome()): string {
  return join(home, 'devnet')
}

/** Submissions tried with a later nonce when another transaction of the same key took it. */
const nonceRetries = 5

/** Everything a command needs: the node API, the signer, and how to print. */
export class CliContext {
  readonly opts: GlobalOptions
  readonly home: string

  constructor (opts: GlobalOptions) {
    this.opts = opts
    this.home = opts.home ?? keynetHome()
  }

  /** `--api`, else `KEYNET_API`, else a live node of the default devnet. */
  api (): ApiClient {
    const explicit = this.opts.api ?? process.env.KEYNET_API
    if (explicit !== undefined && explicit !== '') return new ApiClient(explicit)
    const devnet = readDevnet(defaultDevnetDir(this.home))
    const node = devnet?.nodes.find(n => isAlive(n.pid))
    if (node === undefined) throw new UnavailableError('no node API given and no local devnet is running: start one with `npm start` (or `keynet devnet up`), or pass --api URL / set KEYNET_API')
    return new ApiClient(node.api)
  }

  /**
   * The signing key: `--from NAME` (a keystore identity), else the keystore's `default`
   * identity if `keynet init` made one, else the local devnet's funded developer account.
   */
  async signer (): Promise<{ name: string, key: KeyPair }> {
    const store = new Keystore(this.home)
    const name = this.opts.from ?? (store.has('default') ? 'default' : undefined)
    if (name === 'dev' || name === undefined) {
      const dir = defaultDevnetDir(this.home)
      if (!existsSync(join(dir, 'dev-account.json'))) {
        throw new KeystoreError('no identity to sign with: run `keynet init` to create one, or start a devnet (`npm start`) to use its developer account')
      }
      return { name: 'dev', key: devAccountKey(dir) }
    }
    const identity = store.unlock(name, await passphrase(`passphrase for identity "${name}": `))
    return { name, key: identity.keyPair }
  }

  /** Signs a transaction body with the next free nonce (with `key`, else the signer), submits it and waits for its block. */
  async send (body: TxBody, opts: { fee?: number, key?: KeyPair } = {}): Promise<TxStatusView & { from: string }> {
    const api = this.api()
    const key = opts.key ?? (await this.signer()).key
    const address = toHex(addressOf(key.publicKey))
    const [account, genesis] = await Promise.all([api.account(address), this.trustedGenesis(api)])
    // Transaction encoding loads every transaction type's codec: only commands that write need it.
    const { encodeSignedTx, signTx, txId } = await import('../core/ledger/tx.ts')
    const sign = (nonce: number): Uint8Array => encodeSignedTx(signTx({ chainId: genesis.chainId, from: key.publicKey, nonce, fee: opts.fee ?? genesis.params.minTxFee, body }, key.secretKey))
    let nonce = account.pendingNonce
    let encoded = sign(nonce)
    // The same key may sign elsewhere at once (a node's own agent, while its operator runs the CLI
    // with the node's key), and the answering node need not have seen that transaction yet.
    for (let attempt = 1; ; attempt++) {
      try {
        await api.submitTx(encoded)
        break
      } catch (err) {
        if ((err as Error).name !== 'BadNonceError' || attempt >= nonceRetries) throw err
        await new Promise(resolve => setTimeout(resolve, 100 * attempt))
        nonce = Math.max(nonce + 1, (await api.account(address)).pendingNonce)
        encoded = sign(nonce)
      }
    }
    const id = toHex(txId(encoded))
    const deadline = Date.now() + 30_000
    let status: TxStatusView
    do {
      status = await api.tx(id, 5000)
      if (status.status === 'unknown') throw new UnavailableError(`transaction ${id} was dropped from the mempool before it was committed (a conflicting transaction, or a proposer left it out); run the command again`)
    } while (status.status !== 'committed' && Date.now() < deadline)
    if (status.status !== 'committed') throw new UnavailableError(`transaction ${id} was accepted but not committed within 30 s; check it later with \`curl ${api.base}/v1/txs/${id}\``)
    if (status.error !== undefined) throw named(status.error.name, status.error.message)
    return { ...status, from: address }
  }

  /**
   * The validator set a light-client check trusts: the local devnet's genesis file when the node
   * belongs to it, else the genesis pinned on first contact with that chain under
   * `<home>/trust/<chainId>.json` (trust on first use, like SSH host keys).
   */
  async trustedGenesis (api: ApiClient): Promise<Genesis> {
    const status = await api.status()
    const devnet = readDevnet(defaultDevnetDir(this.home))
    if (devnet !== undefined && devnet.chainId === status.chainId) return genesisFromJson(readFileSync(devnet.genesis, 'utf8'))
    const dir = join(this.home, 'trust')
    const path = join(dir, `${status.chainId}.json`)
    if (existsSync(path)) return genesisFromJson(readFileSync(path, 'utf8'))
    const fetched = await api.genesis()
    mkdirSync(dir, { recursive: true })
    writeFileSync(path, JSON.stringify(fetched, null, 2))
    if (this.opts.json !== true) process.stderr.write(`keynet: pinned the validator set of chain ${status.chainId} in ${path} (first contact)\n`)
    return genesisFromJson(JSON.stringify(fetched))
  }

  /** Prints `value` as JSON with --json, else the human lines. */
  print (value: unknown, human: () => string): void {
    process.stdout.write(this.opts.json === true ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`)
  }
}

/** The passphrase from `KEYNET_PASSPHRASE`, else asked on the terminal. */
export async function passphrase (prompt: string): Promise<string> {
  const fromEnv = process.env.KEYNET_PASSPHRASE
  if (fromEnv !== undefined) return fromEnv
  if (!process.stdin.isTTY) throw new KeystoreError('no passphrase: set KEYNET_PASSPHRASE or run in a terminal')
  return await readHidden(prompt)
}

/** Reads one line from standard input (a terminal or a pipe), after printing `prompt` to stderr. */
export async function readLine (prompt: string): Promise<string> {
  if (process.stdin.isTTY) return await readHidden(prompt)
  process.stderr.write(prompt)
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer)
    if (Buffer.concat(chunks).includes(10)) break
  }
  return Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? ''
}

/** Reads one line from the terminal without echoing it (raw mode; Backspace and Ctrl-C work). */
async function readHidden (prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let line = ''
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') { stdin.off('data', onData); resolve(line); return }
          if (ch === '\u0003') { stdin.off('data', onData); reject(new KeystoreError('cancelled')); return }
          if (ch === '\u007f' || ch === '\b') line = line.slice(0, -1)
          else if (ch >= ' ') line += ch
        }
      }
      stdin.on('data', onData)
    })
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    process.stderr.write('\n')
  }
}

function named (name: string, message: string): KeynetError {
  const err = new KeynetError(message)
  err.name = name
  return err
}

export function parseAddressArg (s: string): Uint8Array {
  const hex = s.startsWith('0x') ? s.slice(2) : s
  let bytes: Uint8Array
  try { bytes = fromHex(hex) } catch { bytes = new Uint8Array(0) }
  if (bytes.byteLength !== 20) throw new KeystoreError(`"${s}" is not an address (40 hex characters)`)
  return bytes
}
