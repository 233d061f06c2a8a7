import type { TxContext } from '../../handlers/context.ts'
import type { MarketTxBody } from '../types.ts'

export type MarketHandler<T extends MarketTxBody['type']> = (ctx: TxContext, body: Extract<MarketTxBody, { type: T }>) => void
