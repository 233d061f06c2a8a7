import { beaconOf, periodOf } from '../market-state.ts'
import type { MarketHandler } from './context.ts'

/** Fixes the beacon of the period that just ended, so auditors can draw its challenges. */
export const marketTick: MarketHandler<'market-tick'> = (ctx) => {
  const ended = periodOf(ctx) - 1
  if (ended >= 0) beaconOf(ctx, ended)
}
