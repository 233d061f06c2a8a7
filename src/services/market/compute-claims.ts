/**
 * A compute provider's claims: it keeps the reports it signed for tasks with escrow and, driven by
 * the ledger, posts its own when the rules say so (`providerClaim`): an agreeing report the client
 * left out of its settlement, and after the deadline of a task its client never settled, its report
 * with `close` — so a client that disappears still pays. Reports are kept in memory, at most
 * `maxHeldReports` (the oldest go first); a restarted provider forgets them.
 */
import { fromHex } from '../../foundations/bytes.ts'
import { marketKey } from '../../core/ledger/market/keys.ts'
import type { TxBody } from '../../core/ledger/types.ts'
import { providerClaim, type ComputeTask } from '../../core/market/compute-tasks.ts'
import type { LedgerNode } from '../ledger/ledger-node.ts'
import { agentTickMs, maxHeldReports } from './constants.ts'

interface HeldReport { digest: string, coreSeconds: number, sig: Uint8Array, sentAt: number }

export class ComputeClaims {
  private readonly init: { ledger: LedgerNode, address: string, send: (body: TxBody, what: string) => void, log: (line: string) => void }
  private readonly held = new Map<string, HeldReport>()
  private timer: NodeJS.Timeout | undefined

  constructor (init: ComputeClaims['init']) {
    this.init = init
  }

  /** Keeps the report this node signed for `taskId`. */
  remember (taskId: string, report: { digest: string, coreSeconds: number, sig: Uint8Array }): void {
    this.held.delete(taskId)
    this.held.set(taskId, { ...report, sentAt: 0 })
    if (this.held.size > maxHeldReports) this.held.delete(this.held.keys().next().value!)
  }

  start (): void {
    this.timer = setInterval(() => { this.tick() }, agentTickMs)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private tick (): void {
    const { ledger } = this.init
    if (!ledger.canGossipTxs || this.held.size === 0) return
    const view = ledger.view()
    const now = ledger.chain.time
    for (const [taskId, r] of this.held) {
      const task = view.entry<ComputeTask>(marketKey.computeTask(taskId))
      // Not opened (a run without escrow, or the open not committed yet): kept until pushed out.
      if (task === undefined) continue
      if (task.status === 'closed' || !task.providers.some(p => p.provider === this.init.address)) { this.held.delete(taskId); continue }
      const claim = providerClaim(task, this.init.address, r.digest, now)
      // A claim sent is not sent again for a while: it commits well within that.
      if (claim === 'none' || Date.now() - r.sentAt < 10 * agentTickMs) continue
      r.sentAt = Date.now()
      const posted = task.reports.some(x => x.provider === this.init.address)
      const reports = posted ? [] : [{ provider: fromHex(this.init.address), digest: r.digest, coreSeconds: r.coreSeconds, sig: r.sig }]
      this.init.send({ type: 'compute-settle', taskId, reports, close: claim === 'close' }, claim === 'close' ? 'compute claim (close)' : 'compute report')
      this.init.log(`compute: ${claim === 'close' ? 'closing' : 'posting my report to'} task ${taskId.slice(0, 16)}…`)
    }
  }
}
