// Frame-accurate decoding. Wanted frames are sorted and grouped; each group seeks once to the
// keyframe at or before its first frame and decodes forward, matching pictures to frame indices
// by timestamp. A new group starts only when a keyframe lies beyond the previous wanted frame
// (seeking then skips work). Frames nobody wants may be skipped by the decoder when nothing
// references them (AVDISCARD_NONREF), which leaves every reference picture, and so every wanted
// frame, bit-identical.
import CFFmpeg

extension VideoReader {
    /// Frames at 0-based presentation-order `indices` (any order, repeats allowed), in the order
    /// given, as RGB24 of `size` (nil: native size, after rotation when `autoRotate`).
    public func frames(at indices: [Int], size: FrameSize? = nil) throws(VideoError) -> FrameStack {
        for k in indices where k < 0 || k >= frameCount {
            throw .indexOutOfRange(path: source, index: k, frameCount: frameCount)
        }
        let turn = options.autoRotate ? info.rotation : 0
        let native = turn % 180 == 0 ? FrameSize(width: info.width, height: info.height)
                                     : FrameSize(width: info.height, height: info.width)
        let out = size ?? native
        guard out.width > 0, out.height > 0, out.width * out.height <= options.maxPixels else {
            throw .invalidArgument("output size \(out.width)×\(out.height) for \(source)")
        }
        let frameBytes = out.width * out.height * 3
        var slots: [Int: [Int]] = [:]  // frame index → positions in the result
        for (position, k) in indices.enumerated() { slots[k, default: []].append(position) }
        let wanted = slots.keys.sorted()

        defer { demuxer.deadline.clear() }
        var pixels = [UInt8](repeating: 0, count: indices.count * frameBytes)
        try pixels.withUnsafeMutableBufferPointer { (buffer) throws(VideoError) in
            let base = buffer.baseAddress!
            for group in groups(of: wanted) {
                try decode(group) { (k, picture) throws(VideoError) in
                    let positions = slots[k]!
                    let first = base + positions[0] * frameBytes
                    guard scaler.convert(picture, to: out, rotation: turn, into: first) else {
                        throw .decodeFailed(path: source, frame: k, reason: "cannot convert \(pixelFormatName(picture.pointee.format)) to RGB")
                    }
                    for p in positions.dropFirst() { (base + p * frameBytes).update(from: first, count: frameBytes) }
                }
            }
        }
        return FrameStack(count: indices.count, height: out.height, width: out.width, pixels: pixels)
    }

    /// Every frame, in order, decoded sequentially from the start.
    public func decodeAll(size: FrameSize? = nil) throws(VideoError) -> FrameStack {
        try frames(at: Array(0..<frameCount), size: size)
    }

    /// Splits sorted distinct frame indices into runs decoded after one seek each.
    func groups(of wanted: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        for k in wanted {
            if let previous = result.last?.last, index.keyframe(atOrBefore: k) <= previous + 1 {
                result[result.count - 1].append(k)
            } else {
                result.append([k])
            }
        }
        return result
    }

    /// Seeks to the keyframe for `group` and decodes until every frame of it has been handed to `emit`.
    /// If the demuxer lands after that keyframe, it retries from earlier keyframes.
    private func decode(_ group: [Int],
                        emit: (Int, UnsafeMutablePointer<AVFrame>) throws(VideoError) -> Void) throws(VideoError) {
        var start = index.keyframe(atOrBefore: group[0])
        while true {
            demuxer.deadline.start(seconds: options.timeout)
            // The keyframe's pts, not its dts: MP4 seeking with B-frames then lands on this keyframe
            // rather than the one before (measured: dts targets decoded a whole extra GOP).
            let status = demuxer.seek(to: index.pts[start])
            if status == averrorEXIT { throw .timedOut(path: source, operation: "seeking to frame \(start)") }
            if status < 0 { throw .seekFailed(path: source, frame: group[0], reason: ffmpegErrorString(status)) }
            decoder.flush()
            if try decodeForward(group, from: start, emit: emit) { return }
            guard let earlier = index.keyframe(before: start) else {
                throw .seekFailed(path: source, frame: group[0], reason: "the demuxer lands after the first keyframe")
            }
            start = earlier
        }
    }

    /// Decodes from the current position. Returns false when the first packet is past the group's
    /// first frame (the seek landed too late), true once every frame of the group was emitted.
    private func decodeForward(_ group: [Int], from start: Int,
                               emit: (Int, UnsafeMutablePointer<AVFrame>) throws(VideoError) -> Void) throws(VideoError) -> Bool {
        guard let codec = decoder.context, let packet = decoder.packet, let picture = decoder.frame else {
            throw .decodeFailed(path: source, frame: group[0], reason: "decoder not open")
        }
        let wanted = Set(group)
        var next = 0              // group[next] is the first frame not yet emitted
        var lastSeen = start - 1  // last frame the decoder produced
        var firstPacket = true
        let discard = options.discardNonReference

        // Takes every picture the decoder has ready.
        func receive() throws(VideoError) {
            while next < group.count {
                let status = avcodec_receive_frame(codec, picture)
                if status == averrorEAGAIN || status == averrorEOF { return }
                if status < 0 {
                    throw .decodeFailed(path: source, frame: group[next], reason: ffmpegErrorString(status))
                }
                defer { av_frame_unref(picture) }
                picturesDecoded += 1
                // A picture without a timestamp is taken to follow the previous one; one whose
                // timestamp is not in the index (none of our frames) is dropped, never guessed.
                let t = picture.pointee.best_effort_timestamp
                guard let k = t == noPTS ? lastSeen + 1 : index.frame(forPTS: t), k >= start else {
                    continue  // unknown, or a leading picture of an earlier keyframe
                }
                lastSeen = k
                if k > group[next] {
                    throw .decodeFailed(path: source, frame: group[next], reason: "the decoder produced no picture for it")
                }
                guard k == group[next] else { continue }
                let pixels = Int(picture.pointee.width) * Int(picture.pointee.height)
                if pixels > options.maxPixels {
                    throw .tooLarge(path: source, width: Int(picture.pointee.width),
                                    height: Int(picture.pointee.height), maxPixels: options.maxPixels)
                }
                try emit(k, picture)
                next += 1
            }
        }

        while next < group.count {
            demuxer.deadline.start(seconds: options.timeout)  // a watchdog on each read, not a budget for the call
            let status = av_read_frame(demuxer.format, packet)
            if status == averrorEOF {
                avcodec_send_packet(codec, nil)  // drain the pictures still held for reordering
                try receive()
                break
            }
            if status < 0 {
                if status == averrorEXIT { throw .timedOut(path: source, operation: "reading towards frame \(group[next])") }
                throw .decodeFailed(path: source, frame: group[next], reason: "demuxing: \(ffmpegErrorString(status))")
            }
            defer { av_packet_unref(packet) }
            let p = packet.pointee
            guard p.stream_index == demuxer.streamIndex else { continue }
            let ts = p.pts != noPTS ? p.pts : p.dts
            let k = ts == noPTS ? nil : index.frame(forPTS: ts)
            if firstPacket {
                firstPacket = false
                if let k, k > group[0] { return false }
            }
            if discard {
                codec.pointee.skip_frame = k.map(wanted.contains) ?? true ? AVDISCARD_DEFAULT : AVDISCARD_NONREF
            }
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != averrorEAGAIN {
                throw .decodeFailed(path: source, frame: k ?? group[next], reason: ffmpegErrorString(sent))
            }
            try receive()
        }
        if next < group.count {
            throw .decodeFailed(path: source, frame: group[next], reason: "the stream ended before it was decoded")
        }
        return true
    }
}
