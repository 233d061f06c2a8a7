/** The resources the market trades and the unit each is priced in. */
import { MalformedMessageError } from '../../foundations/errors.ts'

export type ResourceKind = 'storage' | 'bandwidth' | 'requests' | 'compute'

export const resourceKinds: readonly ResourceKind[] = ['storage', 'bandwidth', 'requests', 'compute']

/** What one unit of each kind is; a price is per unit per settlement period. */
export const unitOf: Record<ResourceKind, string> = {
  storage: 'GiB-month',
  bandwidth: 'GiB',
  requests: '1,000 requests',
  compute: 'core-second'
}

export function checkKind (v: unknown): ResourceKind {
  if (typeof v !== 'string' || !(resourceKinds as readonly string[]).includes(v)) {
    throw new MalformedMessageError(`kind must be one of ${resourceKinds.join(', ')}`)
  }
  return v as ResourceKind
}

/** A market is one resource kind across all regions; the operator cap applies per market. */
export function marketOf (kind: ResourceKind): string {
  return kind
}
