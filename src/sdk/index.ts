/**
 * @packageDocumentation
 *
 * The Keynet SDK: one client for every kind of resource.
 *
 * @example
 * ```ts
 * import { connect } from './src/sdk/index.ts'
 *
 * const net = await connect({ api: 'http://127.0.0.1:7700' })
 * const page = await net.fetch('key://mysite.key/index.html')   // a standard Response
 * console.log(page.status, page.headers.get('content-type'), await page.text())
 * await net.close()
 * ```
 *
 * Names are checked against the validators' signatures (the genesis validator set is taken from
 * the node on first use unless `genesis` is given); every block is checked against its CID.
 */
import { ApiClient } from '../edges/api/client.ts'
import type { Genesis } from '../core/ledger/types.ts'
import type { KeyPair } from '../foundations/crypto.ts'
import type { FaultLog } from '../services/content/fault-log.ts'
import { ApiDirectory } from './api-directory.ts'
import { KeynetClient, type BlockTransport } from './keynet-client.ts'

export interface ConnectOptions {
  /** A node's API base URL. */
  api: string
  /** The validator set to trust for name answers (default: the node's genesis, on first use). */
  genesis?: Genesis
  /** Where provider faults (wrong blocks, stalls) are recorded. */
  faults?: FaultLog
  /** Signs key-value writes: the name owner's key or a delegated one. */
  signer?: KeyPair
  /** `libp2p`: never use providers' HTTP block endpoints (default `auto`: use them where announced). */
  blockTransport?: BlockTransport
}

/** Connects to the network through one node's API; close it when done. */
export async function connect (opts: ConnectOptions): Promise<KeynetClient> {
  const directory = new ApiDirectory(new ApiClient(opts.api), opts.genesis)
  return await KeynetClient.withOwnHost({
    directory,
    ...(opts.faults === undefined ? {} : { faults: opts.faults }),
    ...(opts.signer === undefined ? {} : { signer: opts.signer }),
    ...(opts.blockTransport === undefined ? {} : { blockTransport: opts.blockTransport })
  })
}

export { KeynetClient, ApiDirectory }
export type { BlockTransport, UploadOptions, UploadResult } from './keynet-client.ts'
