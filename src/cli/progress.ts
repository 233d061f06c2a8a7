/**
 * A progress bar on stderr for long transfers: redrawn in place on a terminal, a line every few
 * seconds otherwise (logs, CI), silent with --json.
 */
import { formatBytes } from '../foundations/units.ts'

/** Redraws at most this often on a terminal. */
const redrawMs = 100
/** Without a terminal, a progress line at most this often. */
const lineMs = 2000

export class ProgressBar {
  private readonly label: string
  private readonly total: number | undefined
  private readonly enabled: boolean
  private readonly tty: boolean
  private readonly started = performance.now()
  private lastDraw = 0
  private done = 0

  constructor (label: string, total: number | undefined, opts: { enabled: boolean }) {
    this.label = label
    this.total = total
    this.enabled = opts.enabled
    this.tty = process.stderr.isTTY === true
  }

  /** Sets the bytes done so far. */
  update (done: number, note = ''): void {
    this.done = done
    if (!this.enabled) return
    const now = performance.now()
    if (now - this.lastDraw < (this.tty ? redrawMs : lineMs)) return
    this.lastDraw = now
    this.draw(note)
  }

  finish (note = ''): void {
    if (!this.enabled) return
    this.draw(note)
    if (this.tty) process.stderr.write('\n')
  }

  /** Bytes per second since start. */
  get rate (): number {
    return this.done / Math.max(0.001, (performance.now() - this.started) / 1000)
  }

  private draw (note: string): void {
    const width = 28
    const fraction = this.total === undefined || this.total === 0 ? undefined : Math.min(1, this.done / this.total)
    const bar = fraction === undefined ? '' : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}% `
    const amount = this.total === undefined ? formatBytes(this.done) : `${formatBytes(this.done)}/${formatBytes(this.total)}`
    const line = `${this.label} ${bar}${amount} ${formatBytes(this.rate)}/s${note === '' ? '' : `  ${note}`}`
    process.stderr.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`)
  }
}
