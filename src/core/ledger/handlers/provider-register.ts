import { toHex } from '../../../foundations/bytes.ts'
import { addressOf } from '../../../foundations/crypto.ts'
import { InvalidSignatureError, InvalidTransactionError } from '../../../foundations/errors.ts'
import { maxProviders } from '../../../foundations/limits.ts'
import { getProvider, providerIndex, verifyEndorsement } from '../providers.ts'
import { stateKey } from '../state-keys.ts'
import type { TxHandler } from './context.ts'

/**
 * A node registers itself as a provider (or updates its region, capacity and addresses). The
 * sender is the node's own key; the operator's endorsement ties it to one operator.
 */
export const providerRegister: TxHandler<'provider-register'> = (ctx, body) => {
  if (!verifyEndorsement(body.operatorKey, body.endorsement, ctx.chainId, ctx.sender)) {
    throw new InvalidSignatureError(`the endorsement is not the operator key's signature for node ${toHex(ctx.sender)} on chain ${ctx.chainId}: create it with \`keynet provider endorse\``)
  }
  const previous = getProvider(ctx.state, ctx.sender)
  if (previous === undefined) {
    const index = providerIndex(ctx.state)
    if (index.length >= maxProviders) throw new InvalidTransactionError(`the registry holds the maximum of ${maxProviders} providers`)
    ctx.state.setEntry(stateKey.providerIndex, [...index, ctx.sender])
  }
  ctx.state.setEntry(stateKey.provider(ctx.sender), {
    node: ctx.senderKey,
    kinds: body.kinds ?? ['storage'],
    operator: addressOf(body.operatorKey),
    region: body.region,
    capacityBytes: body.capacityBytes,
    addrs: body.addrs,
    ...(body.memoryBytes === undefined ? {} : { memoryBytes: body.memoryBytes }),
    registeredAt: previous?.registeredAt ?? ctx.time,
    lastSeen: ctx.time
  })
}

