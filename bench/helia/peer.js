/**
 * One Helia node for the content benchmark (bench/content.ts), run as its own process:
 *
 *   node peer.js add <file>                     adds the file, prints {"cid","addrs"} on stdout, serves until stdin closes
 *   node peer.js fetch <cid> <multiaddr> <out>  dials the adder, streams the file to <out>, prints {"bytes","dialMs","fetchMs","cpuMs"}
 *
 * libp2p is TCP on 127.0.0.1 only, noise, yamux and identify, with no bootstrap, DHT, mDNS or HTTP
 * routing: blocks can only come over bitswap from the peer dialled. Both nodes keep blocks in
 * memory (Helia's default). The file is imported with @helia/unixfs's defaults, which are the
 * same DAG shape as Keynet's (CIDv1, raw leaves, 1 MiB chunks, balanced 1024 links), so both
 * sides move the same blocks.
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { withBitswap } from '@helia/bitswap'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createHeliaLight } from 'helia'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'

/** A Helia node that speaks bitswap over loopback TCP and nothing else. */
async function node () {
  const helia = withBitswap(withLibp2pLight(createHeliaLight({ start: false }), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    services: { identify: identify() }
  }))
  await helia.start()
  return helia
}

const [mode, ...args] = process.argv.slice(2)
const out = (value) => { process.stdout.write(`${JSON.stringify(value)}\n`) }

if (mode === 'add') {
  const [file] = args
  const helia = await node()
  const fs = unixfs(helia)
  const started = performance.now()
  const cid = await fs.addByteStream(createReadStream(file, { highWaterMark: 1 << 20 }))
  out({ cid: cid.toString(), addrs: helia.libp2p.getMultiaddrs().map(a => a.toString()), addMs: Math.round(performance.now() - started) })
  // Serve until the bench closes our stdin (or kills us).
  process.stdin.resume()
  await once(process.stdin, 'end')
  await helia.stop()
  process.exit(0)
} else if (mode === 'fetch') {
  const [cidText, addr, file] = args
  const helia = await node()
  const fs = unixfs(helia)
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await helia.libp2p.dial(multiaddr(addr))
  const t1 = performance.now()
  const sink = createWriteStream(file)
  let bytes = 0
  for await (const chunk of fs.cat(CID.parse(cidText))) {
    bytes += chunk.byteLength
    if (!sink.write(chunk)) await once(sink, 'drain')
  }
  sink.end()
  await once(sink, 'finish')
  const t2 = performance.now()
  const cpu = process.cpuUsage(cpu0)
  out({ bytes, dialMs: Math.round(t1 - t0), fetchMs: Math.round(t2 - t1), cpuMs: Math.round((cpu.user + cpu.system) / 1000) })
  await helia.stop()
  process.exit(0)
} else {
  process.stderr.write('usage: node peer.js add <file> | fetch <cid> <multiaddr> <out>\n')
  process.exit(2)
}
