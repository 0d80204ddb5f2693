// The frame ↔ timestamp table that makes frame counts exact and random access frame-accurate.
// Built once per reader by demuxing the video stream (no decoding): one entry per packet,
// sorted into presentation order, so frame k is the packet with the k-th smallest pts.
import CFFmpeg

struct PacketIndex {
    /// Presentation timestamps in the stream's time base, ascending: frame k has `pts[k]`.
    private(set) var pts: [Int64] = []
    /// Presentation indices of the frames a decoder can start from (always includes 0).
    private(set) var keyframes: [Int] = []
    /// Whether a packet was flagged as damaged (short read) while demuxing.
    private(set) var sawCorruptPacket = false
    /// Video packets demuxed, including those the container marks to be discarded.
    private(set) var packetsRead = 0
    private var indexByPTS: [Int64: Int] = [:]

    var count: Int { pts.count }

    /// Demuxes every packet of `stream` from the current position; each read must finish within `timeout`.
    init(format: UnsafeMutablePointer<AVFormatContext>, stream: Int32, deadline: Deadline, timeout: Double,
         path: String) throws(VideoError) {
        struct Entry { var pts: Int64; var key: Bool }
        var entries: [Entry] = []
        guard let packet = av_packet_alloc() else { throw .readFailed(path: path, reason: "out of memory") }
        var packetRef: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&packetRef) }
        var previous: Int64 = -1
        while true {
            deadline.start(seconds: timeout)
            let status = av_read_frame(format, packet)
            if status == averrorEOF { break }
            if status == averrorEXIT { throw .timedOut(path: path, operation: "counting frames") }
            if status < 0 {
                throw .truncated(path: path, reason: "demuxing stopped after \(entries.count) frames: \(ffmpegErrorString(status))")
            }
            defer { av_packet_unref(packet) }
            let p = packet.pointee
            guard p.stream_index == stream else { continue }
            packetsRead += 1
            guard p.flags & AV_PKT_FLAG_DISCARD == 0 else { continue }
            if p.flags & AV_PKT_FLAG_CORRUPT != 0 { sawCorruptPacket = true }
            // A packet without pts falls back to dts, then to "one after the previous packet".
            let ts = p.pts != noPTS ? p.pts : (p.dts != noPTS ? p.dts : previous + 1)
            previous = ts
            entries.append(Entry(pts: ts, key: p.flags & AV_PKT_FLAG_KEY != 0))
        }
        // Stable sort: packets sharing a pts keep demux order.
        let order = entries.indices.sorted { (entries[$0].pts, $0) < (entries[$1].pts, $1) }
        pts = order.map { entries[$0].pts }
        keyframes = order.indices.filter { entries[order[$0]].key }
        if keyframes.first != 0 && !pts.isEmpty { keyframes.insert(0, at: 0) }
        for (k, t) in pts.enumerated() where indexByPTS[t] == nil { indexByPTS[t] = k }
    }

    /// The frame a decoded picture with this timestamp is, if it is one of ours.
    func frame(forPTS t: Int64) -> Int? { indexByPTS[t] }

    /// The last keyframe at or before frame k (0 when none is flagged before it).
    func keyframe(atOrBefore k: Int) -> Int {
        var lo = 0, hi = keyframes.count - 1, best = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if keyframes[mid] <= k { best = keyframes[mid]; lo = mid + 1 } else { hi = mid - 1 }
        }
        return best
    }

    /// The keyframe before keyframe `k`, or nil for the first.
    func keyframe(before k: Int) -> Int? {
        k == 0 ? nil : keyframe(atOrBefore: k - 1)
    }
}
