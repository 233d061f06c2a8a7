/**
 * Forwarding of names outside `.key` to a configured upstream resolver (`--dns-upstream
 * host:port`). Each query goes out from a fresh UDP socket (a random source port, so forged
 * replies must guess it and the id); a truncated UDP reply to a query that came over TCP or
 * HTTPS is asked again over TCP. The reply is passed back as the upstream sent it.
 */
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { frame, TcpFrames } from '../../core/dns/tcp-frames.ts'
import type { Transport } from '../../core/dns/answer.ts'
import { UnavailableError } from '../../foundations/errors.ts'
import { forwardTimeoutMs, maxPendingForwards, maxUpstreamAnswerBytes } from './constants.ts'

export interface Upstream {
  /** The upstream's reply to `query`; throws when it does not answer in time. */
  forward: (query: Uint8Array, transport: Transport) => Promise<Uint8Array>
}

/** An upstream resolver at `host:port`. */
export class UdpUpstream implements Upstream {
  private readonly host: string
  private readonly port: number
  private pending = 0

  constructor (host: string, port: number) {
    this.host = host
    this.port = port
  }

  async forward (query: Uint8Array, transport: Transport): Promise<Uint8Array> {
    if (this.pending >= maxPendingForwards) throw new UnavailableError(`${maxPendingForwards} queries are already waiting for the upstream resolver`)
    this.pending++
    try {
      const reply = await this.overUdp(query)
      const truncated = reply.byteLength >= 3 && (reply[2]! & 0x02) !== 0
      return truncated && transport !== 'udp' ? await this.overTcp(query) : reply
    } finally {
      this.pending--
    }
  }

  private async overUdp (query: Uint8Array): Promise<Uint8Array> {
    const socket = createSocket(this.host.includes(':') ? 'udp6' : 'udp4')
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        const timer = setTimeout(() => reject(new UnavailableError(`upstream ${this.host}:${this.port} did not answer within ${forwardTimeoutMs} ms`)), forwardTimeoutMs)
        socket.on('error', err => { clearTimeout(timer); reject(err) })
        socket.on('message', (msg, from) => {
          // Only a reply from the upstream to this very query counts.
          if (from.port !== this.port || msg.byteLength < 12 || msg[0] !== query[0] || msg[1] !== query[1]) return
          clearTimeout(timer)
          resolve(new Uint8Array(msg))
        })
        socket.send(query, this.port, this.host)
      })
    } finally {
      socket.close()
    }
  }

  private async overTcp (query: Uint8Array): Promise<Uint8Array> {
    const socket = connect({ host: this.host, port: this.port })
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        const frames = new TcpFrames(maxUpstreamAnswerBytes)
        socket.setTimeout(forwardTimeoutMs, () => reject(new UnavailableError(`upstream ${this.host}:${this.port} did not answer over TCP within ${forwardTimeoutMs} ms`)))
        socket.on('error', reject)
        socket.on('close', () => reject(new UnavailableError(`upstream ${this.host}:${this.port} closed the TCP connection without an answer`)))
        socket.on('data', chunk => {
          for (const f of frames.push(chunk)) if (f.kind === 'message') resolve(f.bytes)
        })
        socket.write(frame(query))
      })
    } finally {
      socket.destroy()
    }
  }
}
