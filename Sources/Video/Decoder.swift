// Owns the AVCodecContext of one reader plus the packet and frame it reuses.
import CFFmpeg

final class Decoder {
    private(set) var context: UnsafeMutablePointer<AVCodecContext>?
    private(set) var packet: UnsafeMutablePointer<AVPacket>?
    private(set) var frame: UnsafeMutablePointer<AVFrame>?

    init() {
        packet = av_packet_alloc()
        frame = av_frame_alloc()
    }

    deinit {
        avcodec_free_context(&context)
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// Opens the decoder for `stream` with frame and slice threads (`threads` 0 = FFmpeg's choice).
    func open(stream: UnsafeMutablePointer<AVStream>, threads: Int, label: String) throws(VideoError) {
        let parameters = stream.pointee.codecpar
        let name = codecName(parameters!.pointee.codec_id)
        guard packet != nil, frame != nil, let codec = avcodec_find_decoder(parameters!.pointee.codec_id),
              let context = avcodec_alloc_context3(codec) else {
            throw .unsupportedCodec(path: label, codec: name)
        }
        self.context = context
        guard avcodec_parameters_to_context(context, parameters) >= 0 else {
            throw .unsupportedCodec(path: label, codec: name)
        }
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = Int32(clamping: max(0, threads))
        context.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        let status = avcodec_open2(context, codec, nil)
        if status < 0 { throw .unsupportedCodec(path: label, codec: "\(name): \(ffmpegErrorString(status))") }
    }

    /// Forgets buffered pictures and any end-of-stream state, as after a seek.
    func flush() { avcodec_flush_buffers(context) }
}
