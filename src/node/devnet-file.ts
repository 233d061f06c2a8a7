/**
 * What a devnet folder says about its network (`devnet.json`, the developer account), read
 * without loading the code that starts nodes: every CLI command that finds the local devnet uses
 * this, and most of them never start one.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromHex } from '../foundations/bytes.ts'
import { keyPairFromSecret, type KeyPair } from '../foundations/crypto.ts'

export const devnetFileName = 'devnet.json'

/** One node of a devnet as listed in `devnet.json`. */
export interface DevnetNode {
  id: string
  name: string
  roles: string[]
  api: string
  p2p: string
  pid: number
  dataDir: string
  logFile: string
  /** Storage nodes: region and operator address. */
  region?: string
  operator?: string
  /** The gateway's HTTP address. */
  http?: string
  /** The gateway's DNS server, `host:port` (UDP and TCP; DNS over HTTPS at `<http>/dns-query`). */
  dns?: string
}

/** `devnet.json`: what a devnet folder holds and where its nodes answer. */
export interface DevnetFile {
  chainId: string
  dir: string
  genesis: string
  devAccount: { address: string, keyFile: string }
  nodes: DevnetNode[]
}

/** Reads a devnet folder's `devnet.json`, or undefined if there is none. */
export function readDevnet (dir: string): DevnetFile | undefined {
  const path = join(dir, devnetFileName)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as DevnetFile
}

/** The devnet's funded developer key (unencrypted: it is play money on a local network). */
export function devAccountKey (dir: string): KeyPair {
  const { secretKey } = JSON.parse(readFileSync(join(dir, 'dev-account.json'), 'utf8')) as { secretKey: string }
  return keyPairFromSecret(fromHex(secretKey))
}

/** Whether a recorded node process still runs (pid 0 or below never names one). */
export function isAlive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try { process.kill(pid, 0); return true } catch { return false }
}
