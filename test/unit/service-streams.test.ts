import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '../../src/foundations/crypto.ts'
import {
  AbortedError, ProtocolUnsupportedError, StreamFailedError, createP2PHost, type DuplexLike, type P2PHost
} from '../../src/services/p2p/index.ts'

async function pair (t: { after: (fn: () => Promise<void>) => void }): Promise<{ server: P2PHost, client: P2PHost }> {
  const server = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  const client = await createP2PHost({ secretKey: generateKeyPair().secretKey, listen: ['/ip4/127.0.0.1/tcp/0'], peerExchange: false })
  t.after(async () => { await Promise.all([server.stop(), client.stop()]) })
  await server.start()
  await client.start()
  await client.connect(server.multiaddrs()[0] as string)
  return { server, client }
}

async function readAll (stream: DuplexLike): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of stream) parts.push(chunk)
  return new Uint8Array(Buffer.concat(parts))
}

const MiB = 1 << 20
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

test('an echo of 96 MiB: every byte comes back, and a paused reader stops the writer', async (t) => {
  const { server, client } = await pair(t)
  await server.handleStream('/test/echo/1', async (stream, _from, signal) => {
    for await (const chunk of stream) await stream.write(chunk, signal)
    await stream.close(signal)
  })
  const stream = await client.openStream(server.peerId, '/test/echo/1')
  assert.equal(stream.remotePeer, server.peerId)
  assert.equal(stream.protocol, '/test/echo/1')
  const total = 96 * MiB
  let written = 0
  let read = 0
  const sent = createHash('sha256')
  const received = createHash('sha256')
  const writer = (async () => {
    for (let at = 0; at < total; at += 64 * 1024) {
      const chunk = new Uint8Array(64 * 1024).fill((at >>> 16) & 0xff)
      sent.update(chunk)
      await stream.write(chunk)
      written += chunk.byteLength
    }
    await stream.close()
  })()
  let aheadWhilePaused = -1
  for await (const chunk of stream) {
    received.update(chunk)
    read += chunk.byteLength
    if (aheadWhilePaused < 0 && read >= 8 * MiB) {
      await sleep(1000)
      aheadWhilePaused = written - read
    }
  }
  await writer
  assert.equal(read, total)
  assert.equal(received.digest('hex'), sent.digest('hex'), 'the bytes came back in order')
  // Both directions' windows and queues hold some MiB; the writer waited for the rest.
  assert.ok(aheadWhilePaused >= 0 && aheadWhilePaused < 48 * MiB, `the writer got ${(aheadWhilePaused / MiB).toFixed(1)} MiB ahead of a paused reader`)
})

test('data sent before a reset is still read whole, then the reset is seen', async (t) => {
  const { server, client } = await pair(t)
  await server.handleStream('/test/reset/1', async (stream, _from, signal) => {
    await stream.write(new Uint8Array(100_000).fill(7), signal)
    stream.abort(new Error('server gave up'))
  })
  const stream = await client.openStream(server.peerId, '/test/reset/1')
  let got = 0
  await assert.rejects(async () => { for await (const chunk of stream) got += chunk.byteLength }, StreamFailedError)
  assert.equal(got, 100_000)
  assert.ok(stream.signal.aborted)
})

test('the caller aborting reaches the handler as its signal; a handler that returns closes its side', async (t) => {
  const { server, client } = await pair(t)
  let handlerSignal: AbortSignal | undefined
  let handlerReadError: unknown
  await server.handleStream('/test/wait/1', async (stream, _from, signal) => {
    handlerSignal = signal
    try {
      for await (const chunk of stream) void chunk
    } catch (err) {
      handlerReadError = err
    }
  })
  await server.handleStream('/test/hello/1', async (stream, from, signal) => {
    await stream.write(new TextEncoder().encode(`hello ${from}`), signal)
  })

  const controller = new AbortController()
  const waiting = await client.openStream(server.peerId, '/test/wait/1', { signal: controller.signal })
  await waiting.write(new Uint8Array([1, 2, 3]))
  while (handlerSignal === undefined) await sleep(10)
  controller.abort()
  await assert.rejects(readAll(waiting), AbortedError)
  while (handlerSignal.aborted !== true) await sleep(10)
  assert.ok(handlerReadError instanceof StreamFailedError)

  const hello = await client.openStream(server.peerId, '/test/hello/1')
  await hello.close()
  assert.equal(new TextDecoder().decode(await readAll(hello)), `hello ${client.peerId}`)
})

test('a handler that throws or outlives its deadline resets the stream', async (t) => {
  const { server, client } = await pair(t)
  await server.handleStream('/test/throw/1', async () => { throw new Error('boom') })
  await server.handleStream('/test/slow/1', async (_stream, _from, signal) => {
    await new Promise(resolve => { signal.addEventListener('abort', resolve) })
  }, { timeoutMs: 300 })
  await assert.rejects(readAll(await client.openStream(server.peerId, '/test/throw/1')), StreamFailedError)
  const started = Date.now()
  await assert.rejects(readAll(await client.openStream(server.peerId, '/test/slow/1')), StreamFailedError)
  assert.ok(Date.now() - started < 3_000)
})

test('opening a stream: unsupported protocol, an aborted signal, a banned peer', async (t) => {
  const { server, client } = await pair(t)
  await assert.rejects(client.openStream(server.peerId, '/test/none/1'), ProtocolUnsupportedError)
  await assert.rejects(client.openStream(server.peerId, '/test/none/1', { signal: AbortSignal.abort() }), AbortedError)
  await server.handleStream('/test/open/1', async (stream) => { for await (const chunk of stream) void chunk })
  server.penalise(client.peerId, 'test', 10)
  await assert.rejects(async () => {
    const stream = await client.openStream(server.peerId, '/test/open/1', { timeoutMs: 2_000 })
    await readAll(stream)
  })
})
