/**
 * Yamux window updates only when half the receive window is used up, as the Go and Rust
 * implementations do. js-yamux answers every data frame it receives with a window-update frame,
 * which doubles the frames (and socket writes) of every small message; profiling an idle node
 * showed those writes as the largest single cost. Imported once by the host, before any stream.
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowFields) => void, windowPatched?: boolean }
if (proto.windowPatched !== true) {
  const sendWindowUpdate = proto.sendWindowUpdate
  proto.sendWindowUpdate = function (this: WindowFields): void {
    // An established stream with more than half its window left needs no update yet; any other
    // state may carry flags (SYN/ACK/FIN) and takes the library's path.
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 > this.recvWindow) return
    sendWindowUpdate.call(this)
  }
  proto.windowPatched = true
}
