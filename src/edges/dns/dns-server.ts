/**
 * The DNS server's sockets: UDP and TCP (RFC 1035 length framing, RFC 7766 pipelining) on the
 * same host and port, every query handed to a `DnsAnswerer`. A query that throws, a client that
 * vanishes, or bytes that are not DNS never stop the server: the worst case is one dropped query.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'
import { frame, TcpFrames } from '../../core/dns/tcp-frames.ts'
import type { DnsAnswerer } from './dns-answerer.ts'
import { maxTcpConnections, maxTcpPipelined, maxTcpQueryBytes, tcpIdleTimeoutMs } from './constants.ts'

export interface DnsServerInit {
  answerer: DnsAnswerer
  log?: (line: string) => void
}

/** Attempts to find a port free for both UDP and TCP when asked for any port (0). */
const anyPortAttempts = 20

export class DnsServer {
  private readonly answerer: DnsAnswerer
  private readonly log: (line: string) => void
  private udp: UdpSocket | undefined
  private tcp: Server | undefined
  private readonly connections = new Set<Socket>()

  constructor (init: DnsServerInit) {
    this.answerer = init.answerer
    this.log = init.log ?? (() => {})
  }

  /** Listens on UDP and TCP; resolves with `host:port` (the real port for 0). */
  async listen (host: string, port: number): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(host, port)
      const udpPort = udp.address().port
      try {
        this.tcp = await this.listenTcp(host, udpPort)
        this.udp = udp
        return `${host.includes(':') ? `[${host}]` : host}:${udpPort}`
      } catch (err) {
        udp.close()
        // With any port asked for, the UDP port may be taken for TCP: try another.
        if (port !== 0 || attempt + 1 >= anyPortAttempts || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
      }
    }
  }

  async close (): Promise<void> {
    for (const c of this.connections) c.destroy()
    await Promise.all([
      new Promise<void>(resolve => { if (this.udp === undefined) resolve(); else this.udp.close(() => resolve()) }),
      new Promise<void>(resolve => { if (this.tcp === undefined) resolve(); else this.tcp.close(() => resolve()) })
    ])
  }

  private async bindUdp (host: string, port: number): Promise<UdpSocket> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, host, () => { socket.off('error', reject); resolve() })
    })
    socket.on('error', err => this.log(`dns: udp: ${err.message}`))
    socket.on('message', (msg, from) => {
      this.answerer.answer(msg, 'udp').then(reply => {
        if (reply !== undefined) socket.send(reply, from.port, from.address)
      }, (err: unknown) => this.log(`dns: udp query failed: ${(err as Error).stack ?? String(err)}`))
    })
    return socket
  }

  private async listenTcp (host: string, port: number): Promise<Server> {
    const server = createServer(socket => this.serveConnection(socket))
    server.maxConnections = maxTcpConnections
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    server.on('error', err => this.log(`dns: tcp: ${err.message}`))
    return server
  }

  private serveConnection (socket: Socket): void {
    this.connections.add(socket)
    socket.setNoDelay(true)
    socket.setTimeout(tcpIdleTimeoutMs, () => socket.destroy())
    socket.on('error', () => {})
    socket.on('close', () => this.connections.delete(socket))
    const frames = new TcpFrames(maxTcpQueryBytes)
    let inFlight = 0
    const send = (reply: Uint8Array | undefined): void => {
      if (reply !== undefined && !socket.destroyed) socket.write(frame(reply))
    }
    socket.on('data', chunk => {
      for (const f of frames.push(chunk)) {
        if (f.kind === 'oversized') { send(this.answerer.errorFor(f.id, 'FORMERR')); continue }
        inFlight++
        if (inFlight >= maxTcpPipelined) socket.pause()
        this.answerer.answer(f.bytes, 'tcp').then(send, (err: unknown) => {
          this.log(`dns: tcp query failed: ${(err as Error).stack ?? String(err)}`)
        }).finally(() => {
          inFlight--
          if (inFlight < maxTcpPipelined && socket.isPaused()) socket.resume()
        })
      }
    })
  }
}
