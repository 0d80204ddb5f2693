import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The header timeout for a connection's first request, below the HTTP decoder. With the
/// WebSocket upgrade in the pipeline, `ConnectionGuard` joins only once the first request's head
/// has been read (the upgrade decision needs it), so this handler watches the raw bytes until the
/// blank line that ends that head, closing the connection if it does not come within `timeout`,
/// then steps aside. Later requests on the connection are `ConnectionGuard`'s.
final class FirstHeadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// The last three bytes seen, to find "\r\n\r\n" across reads.
    private var tail: [UInt8] = []
    private var done = false

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !done {
            let bytes = unwrapInboundIn(data)
            let window = tail + (bytes.getBytes(at: bytes.readerIndex, length: bytes.readableBytes) ?? [])
            if containsHeadEnd(window) {
                done = true
                timer?.cancel()
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            tail = Array(window.suffix(3))
        }
        context.fireChannelRead(data)
    }

    private func containsHeadEnd(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil, !done else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}

/// HTTP/1.1 with the WebSocket upgrade, and the first request's header timeout in front of it.
struct GuardedUpgradeChannel: ServerChildChannel {
    let inner: HTTP1WebSocketUpgradeChannel
    let headerTimeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(FirstHeadTimeout(timeout: headerTimeout), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: HTTP1WebSocketUpgradeChannel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
