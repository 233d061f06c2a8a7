/**
 * A compute provider's side of `/keynet/compute/run/1`: runs each request in its `Sandbox`, at
 * most `cores` at once; a request past that is refused at once with `UnavailableError` (busy), so
 * the client moves it to another provider instead of queueing behind long tasks.
 */
import { UnavailableError } from '../../foundations/errors.ts'
import { maxMessageBytesCap, type P2PHost } from '../p2p/index.ts'
import { computeRunProtocol, decodeRunRequest, encodeRunResponse } from './compute-protocol.ts'
import { wallSlackMs, wallTimeoutMultiple } from './constants.ts'
import { Sandbox } from './sandbox.ts'

export interface ComputeHostInit {
  host: Pick<P2PHost, 'handle' | 'unhandle'>
  /** Tasks run at once (one core each). */
  cores: number
  /** Memory one task may use, in bytes: larger requests are refused. */
  memoryBytes: number
  log?: (line: string) => void
}

export class ComputeHost {
  private readonly init: ComputeHostInit
  private readonly sandbox = new Sandbox()
  private running = 0

  constructor (init: ComputeHostInit) {
    this.init = init
  }

  /** Tasks running now. */
  get busy (): number { return this.running }

  async start (): Promise<void> {
    await this.init.host.handle(computeRunProtocol, async (request, from, signal) => {
      const run = decodeRunRequest(request)
      if (run.memoryBytes > this.init.memoryBytes) throw new UnavailableError(`this provider runs tasks of at most ${this.init.memoryBytes} bytes of memory`)
      if (this.running >= this.init.cores) throw new UnavailableError(`busy: all ${this.init.cores} cores run tasks`)
      this.running++
      try {
        const result = await this.sandbox.run({ ...run, signal, transferInput: false })
        this.init.log?.(`compute: task for ${from} ended ${result.status} in ${result.timings.totalMs.toFixed(0)} ms`)
        return encodeRunResponse(result)
      } finally {
        this.running--
      }
    }, { maxRequestBytes: maxMessageBytesCap, timeoutMs: 24 * 60 * 60_000 * wallTimeoutMultiple + wallSlackMs })
  }

  async stop (): Promise<void> {
    await this.init.host.unhandle(computeRunProtocol)
    await this.sandbox.close()
  }
}
