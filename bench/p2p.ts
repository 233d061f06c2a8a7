/**
 * p2p host micro-benchmark, four hosts in one process on 127.0.0.1:
 *  1. start-up: how long after start until a publisher's messages reach every node, with peer
 *     exchange (full mesh) and without it (star around the bootstrap node: delivery to the
 *     leaves depends on the hub's gossipsub mesh, which forms on heartbeats);
 *  2. gossip latency (one message in flight) and throughput (publish as fast as `publish`
 *     resolves) for 1 KiB and 64 KiB messages;
 *  3. request/response round trip.
 *
 * Run: node bench/p2p.ts [--quick] [--gossip] [--nodes N]
 *   --quick   fewer messages;  --gossip  skip the start-up runs;  --nodes N  gossip among N hosts (default 4)
 *
 * Everything shares one event loop, so throughput is the whole network's cost on one core, not
 * one node's capacity; a loaded machine shows up directly in the figures.
 */
import { performance } from 'node:perf_hooks'
import { generateKeyPair } from '../src/foundations/crypto.ts'
import { createP2PHost, type P2PHost } from '../src/services/p2p/index.ts'

const quick = process.argv.includes('--quick')
const nodesArg = process.argv.indexOf('--nodes')
const gossipNodes = nodesArg > 0 ? Number(process.argv[nodesArg + 1]) : 4
const local = ['/ip4/127.0.0.1/tcp/0']

/** n hosts, not started; all bootstrap from host 0, whose port is fixed in advance. */
async function network (n: number, peerExchange: boolean): Promise<P2PHost[]> {
  const secretKey = generateKeyPair().secretKey
  const probe = await createP2PHost({ secretKey, listen: local })
  await probe.start()
  const addr = probe.multiaddrs()[0] as string
  await probe.stop()
  const port = /\/tcp\/(\d+)\//.exec(addr)?.[1] as string
  const first = await createP2PHost({ secretKey, listen: [`/ip4/127.0.0.1/tcp/${port}`], peerExchange })
  const others = await Promise.all(Array.from({ length: n - 1 }, async () =>
    createP2PHost({ secretKey: generateKeyPair().secretKey, listen: local, peerExchange, bootstrap: [addr] })))
  return [first, ...others]
}

function pct (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number
}

const fmt = (ms: number): string => `${ms.toFixed(2)} ms`
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

function stamp (seq: number, size: number): Uint8Array {
  const data = new Uint8Array(size)
  const view = new DataView(data.buffer)
  view.setUint32(0, seq)
  view.setFloat64(4, performance.now())
  return data
}

function readStamp (data: Uint8Array): { seq: number, sentAt: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  return { seq: view.getUint32(0), sentAt: view.getFloat64(4) }
}

/**
 * Hosts 0–2 start at once, host 3 joins 1.5 s later; host 1 publishes every 10 ms from its start.
 * When does each node first hear it, and is anything lost after that?
 */
async function startup (peerExchange: boolean): Promise<void> {
  const hosts = await network(4, peerExchange)
  const firstAt = new Map<string, number>()
  const startedAt = new Map<string, number>()
  const received = new Map<string, Set<number>>()
  for (const h of hosts) {
    received.set(h.peerId, new Set())
    h.subscribe('bench/startup', (data) => {
      const { seq } = readStamp(data)
      received.get(h.peerId)?.add(seq)
      if (!firstAt.has(h.peerId)) firstAt.set(h.peerId, performance.now())
    })
  }
  const late = hosts[3] as P2PHost
  const t0 = performance.now()
  await Promise.all(hosts.slice(0, 3).map(async h => { startedAt.set(h.peerId, performance.now()); await h.start() }))
  const lateStart = sleep(1_500).then(async () => { startedAt.set(late.peerId, performance.now()); await late.start() })
  const publisher = hosts[1] as P2PHost
  const sent: number[] = []
  for (let seq = 0; performance.now() - t0 < 3_500; seq++) {
    await publisher.publish('bench/startup', stamp(seq, 64))
    sent.push(performance.now())
    await sleep(10)
  }
  await lateStart
  await sleep(300)
  const label = peerExchange ? 'full mesh (peer exchange)' : 'star around node 0 (no peer exchange)'
  console.log(`start-up, ${label}; node 1 publishes every 10 ms (${sent.length} messages):`)
  for (const [i, h] of hosts.entries()) {
    if (h === publisher) continue
    const got = received.get(h.peerId) ?? new Set()
    const first = firstAt.get(h.peerId)
    const began = startedAt.get(h.peerId) ?? NaN
    const firstSeq = Math.min(...got)
    const missedAfterFirst = sent.filter((_, seq) => seq > firstSeq && !got.has(seq)).length
    console.log(`  node ${i}${i === 0 ? ' (bootstrap)' : i === 3 ? ' (joins late)' : ''}: first delivery ${first === undefined ? 'never' : fmt(first - began)} after its start; lost after that: ${missedAfterFirst}`)
  }
  await Promise.all(hosts.map(async h => { await h.stop() }))
}

async function gossip (size: number, count: number): Promise<void> {
  const hosts = await network(gossipNodes, true)
  await Promise.all(hosts.map(async h => { await h.start() }))
  const topic = `bench/${size}`
  const receivers = hosts.slice(1)
  const latencies: number[] = []
  const counts = new Map<string, number>()
  let delivered = 0
  for (const h of receivers) {
    counts.set(h.peerId, 0)
    h.subscribe(topic, (data) => {
      latencies.push(performance.now() - readStamp(data).sentAt)
      counts.set(h.peerId, (counts.get(h.peerId) ?? 0) + 1)
      delivered++
    })
  }
  const publisher = hosts[0] as P2PHost
  publisher.subscribe(topic, () => {})
  await Promise.all(hosts.map(async h => { await h.waitForTopicPeers(topic, hosts.length - 1, AbortSignal.timeout(10_000)) }))

  // Latency: one message in flight, next after all three receivers have it.
  const rounds = Math.min(count, quick ? 200 : 1000)
  for (let seq = 0; seq < rounds; seq++) {
    const target = delivered + receivers.length
    await publisher.publish(topic, stamp(seq, size))
    const deadline = performance.now() + 2_000
    while (delivered < target && performance.now() < deadline) await new Promise(resolve => setImmediate(resolve))
  }
  const idle = latencies.splice(0).sort((a, b) => a - b)

  // Throughput: publish back to back; latency here includes queueing.
  delivered = 0
  for (const peer of counts.keys()) counts.set(peer, 0)
  const started = performance.now()
  for (let seq = 0; seq < count; seq++) await publisher.publish(topic, stamp(rounds + seq, size))
  const deadline = performance.now() + 60_000
  while (delivered < count * receivers.length && performance.now() < deadline) await sleep(1)
  const elapsed = (performance.now() - started) / 1000
  const loaded = latencies.sort((a, b) => a - b)
  const perReceiver = Math.min(...counts.values())
  console.log(`gossip ${size / 1024} KiB, ${hosts.length} nodes (1 publisher, ${receivers.length} receivers):`)
  console.log(`  one in flight (${rounds} msgs): p50 ${fmt(pct(idle, 0.5))}  p99 ${fmt(pct(idle, 0.99))}  max ${fmt(idle.at(-1) ?? NaN)}`)
  console.log(`  back to back (${count} msgs): ${(perReceiver / elapsed).toFixed(0)} msg/s per receiver ` +
    `(${(perReceiver * size / elapsed / 2 ** 20).toFixed(1)} MiB/s), delivered ${delivered}/${count * receivers.length}, ` +
    `latency p50 ${fmt(pct(loaded, 0.5))} p99 ${fmt(pct(loaded, 0.99))}`)
  await Promise.all(hosts.map(async h => { await h.stop() }))
}

async function requests (): Promise<void> {
  const hosts = await network(2, true)
  await Promise.all(hosts.map(async h => { await h.start() }))
  const [server, client] = hosts as [P2PHost, P2PHost]
  while (!client.peers().includes(server.peerId)) await sleep(10)
  await server.handle('/bench/echo/1', async (r) => r, { maxRequestBytes: 8 * 2 ** 20 })
  const small = new Uint8Array(1024)
  await client.request(server.peerId, '/bench/echo/1', small)
  const times: number[] = []
  for (let i = 0; i < (quick ? 200 : 1000); i++) {
    const t = performance.now()
    await client.request(server.peerId, '/bench/echo/1', small)
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  const big = new Uint8Array(4 * 2 ** 20)
  const t = performance.now()
  const n = quick ? 5 : 20
  for (let i = 0; i < n; i++) await client.request(server.peerId, '/bench/echo/1', big, { maxResponseBytes: 8 * 2 ** 20 })
  const mibs = (n * 4 * 2) / ((performance.now() - t) / 1000)
  console.log(`request/response: 1 KiB echo p50 ${fmt(pct(times, 0.5))} p99 ${fmt(pct(times, 0.99))}; 4 MiB echo ${mibs.toFixed(0)} MiB/s (both ways)`)
  await Promise.all(hosts.map(async h => { await h.stop() }))
}

if (!process.argv.includes('--gossip')) {
  await startup(true)
  await startup(false)
}
await gossip(1024, quick ? 1000 : 5000)
await gossip(64 * 1024, quick ? 200 : 1000)
await requests()
