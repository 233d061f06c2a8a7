/** State keys of the market's ledger entries (all under `mkt/`). */
import { toHex } from '../../../foundations/bytes.ts'

export const marketKey = {
  stake: (operator: string): string => `mkt/stake/${operator}`,
  /** An operator's group (absent: the operator is its own group). */
  group: (operator: string): string => `mkt/group/${operator}`,
  /** Which group a stake source or network prefix already belongs to. */
  link: (link: string): string => `mkt/link/${link}`,
  offer: (provider: Uint8Array, kind: string): string => `mkt/offer/${toHex(provider)}/${kind}`,
  price: (kind: string, region: string): string => `mkt/price/${kind}/${region}`,
  shares: (market: string): string => `mkt/shares/${market}`,
  dealSeq: 'mkt/deal-seq',
  deal: (id: string): string => `mkt/deal/${id}`,
  evidence: (dealId: string, provider: string, period: number): string => `mkt/evidence/${dealId}/${provider}/${period}`,
  /** A provider's receipted and settled usage in a bandwidth or requests deal (`Usage`). */
  usage: (dealId: string, provider: string): string => `mkt/usage/${dealId}/${provider}`,
  beacon: (period: number): string => `mkt/beacon/${period}`,
  /** A provider's recent audited periods and its earnings (`ProviderRecord`). */
  record: (provider: string): string => `mkt/record/${provider}`,
  /** A compute task's escrow and settlement (`ComputeTask`), by task id. */
  computeTask: (id: string): string => `mkt/task/${id}`,
  /** Total burnt by slashing (left circulation). */
  burnt: 'mkt/burnt'
}
