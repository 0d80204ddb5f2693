import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Guards each connection below the router:
/// - **Header timeout.** A connection must send a request's headers within `headerTimeout` of
///   opening, or of the end of the previous response; else it is closed. Slow senders of headers
///   cannot hold connections open.
/// - **Clean close.** After a response that says `Connection: close` (an error that refuses the
///   rest of a body), nothing else is answered on the connection: the output is closed once the
///   response is out, what the client still sends is read and dropped for a moment (up to
///   `lingerBytes` or `lingerTime`, so the client reads the answer instead of a reset), then the
///   connection closes.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let headerTimeout: TimeAmount
    let lingerTime: TimeAmount
    let lingerBytes: Int
    /// Requests whose heads arrived and whose responses have not ended.
    private var open = 0
    private var headerTimer: Scheduled<Void>?
    /// A response head said `Connection: close`.
    private var closeAfterResponse = false
    /// That response is out: input is dropped until the connection closes.
    private var lingering = false
    private var dropped = 0

    init(headerTimeout: TimeAmount, lingerTime: TimeAmount = .seconds(2), lingerBytes: Int = 1 << 20) {
        self.headerTimeout = headerTimeout
        self.lingerTime = lingerTime
        self.lingerBytes = lingerBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHeaderTimer(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarmHeaderTimer() }

    func channelActive(context: ChannelHandlerContext) {
        armHeaderTimer(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarmHeaderTimer()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if lingering {
            if case .body(let bytes) = part { dropped += bytes.readableBytes }
            if dropped > lingerBytes { context.close(promise: nil) }
            return
        }
        if case .head = part {
            open += 1
            disarmHeaderTimer()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // What follows a refused body is not a request; the decoder's complaints about it are not answered.
        if lingering || closeAfterResponse {
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.status.kind != .informational,
               response.headerFields[.connection].map({ $0.lowercased().contains("close") }) == true {
                closeAfterResponse = true
            }
        case .body:
            break
        case .end:
            open = max(0, open - 1)
            if closeAfterResponse {
                lingering = true
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.cascade(to: promise)
                context.writeAndFlush(data, promise: written)
                let loop = context.eventLoop.assumeIsolated()
                written.futureResult.assumeIsolated().whenComplete { _ in
                    context.close(mode: .output, promise: nil)
                    loop.scheduleTask(in: self.lingerTime) { context.close(promise: nil) }
                }
                return
            }
            if open == 0 { armHeaderTimer(context) }
        }
        context.write(data, promise: promise)
    }

    private func armHeaderTimer(_ context: ChannelHandlerContext) {
        disarmHeaderTimer()
        headerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) { [weak self] in
            guard let self, self.open == 0 else { return }
            context.close(promise: nil)
        }
    }

    private func disarmHeaderTimer() {
        headerTimer?.cancel()
        headerTimer = nil
    }
}
