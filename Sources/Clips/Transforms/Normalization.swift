import Engine
@_exported import Specs
import Video

/// Per-channel (R, G, B) normalisation: value = (byte · inputScale − mean) / std.
public struct Normalization: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    /// 1 when mean/std are given on 0–255, 1/255 when on 0–1.
    public var inputScale: Float

    public init(mean: [Float], std: [Float], inputScale: Float = 1) {
        precondition(mean.count == 3 && std.count == 3 && std.allSatisfy { $0 != 0 },
                     "Normalization: need three means and three non-zero stds")
        (self.mean, self.std, self.inputScale) = (mean, std, inputScale)
    }

    public typealias Preset = NormalizationPreset

    public init(_ preset: Preset) {
        switch preset {
        case .imagenet:  // MMAction2's data preprocessor, on 0–255
            self.init(mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375])
        case .kinetics:  // torchvision video models, on 0–1
            self.init(mean: [0.43216, 0.394666, 0.37645], std: [0.22803, 0.22145, 0.216989], inputScale: 1 / 255)
        case .slowfast:  // PySlowFast, on 0–1
            self.init(mean: [0.45, 0.45, 0.45], std: [0.225, 0.225, 0.225], inputScale: 1 / 255)
        case .c3d:  // Sports-1M C3D, on 0–255
            self.init(mean: [104, 117, 128], std: [1, 1, 1])
        case .flow:  // TSN flow stacks, on 0–255
            self.init(mean: [128, 128, 128], std: [128, 128, 128])
        }
    }

    enum CodingKeys: String, CodingKey { case mean, std, inputScale = "input_scale" }

    /// Either a preset name (`"imagenet"`) or `{mean: [...], std: [...], input_scale: 1}`.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            do {
                self.init(try Preset.named(name, kind: "normalization preset"))
            } catch {
                throw DecodingError.dataCorruptedError(in: single, debugDescription: "\(error)")
            }
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try c.decode([Float].self, forKey: .mean), std = try c.decode([Float].self, forKey: .std)
        guard mean.count == 3 else { throw DecodingError.dataCorruptedError(forKey: .mean, in: c, debugDescription: "need 3 values") }
        guard std.count == 3, !std.contains(0) else {
            throw DecodingError.dataCorruptedError(forKey: .std, in: c, debugDescription: "need 3 non-zero values")
        }
        self.init(mean: mean, std: std, inputScale: try c.decodeIfPresent(Float.self, forKey: .inputScale) ?? 1)
    }

    /// The value of every byte in each channel: 3 × 256.
    var table: [Float] {
        (0..<3).flatMap { c in (0..<256).map { (Float($0) * inputScale - mean[c]) / std[c] } }
    }
}

extension FrameStack {
    /// Normalised floats laid out C × T × H × W (C = 3).
    public func tensor(_ normalization: Normalization) -> Tensor {
        let out = Tensor(shape: [3, count, height, width], storage: Storage(uninitializedCount: pixels.count))
        write(normalization, into: out.data)
        return out
    }

    /// Writes the C × T × H × W floats of this stack at `destination`.
    func write(_ normalization: Normalization, into destination: UnsafeMutablePointer<Float>) {
        let table = normalization.table
        let plane = height * width, channel = count * plane
        pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                let (s, l, d) = (UnsafeSendable(src.baseAddress!), UnsafeSendable(lut.baseAddress!),
                                 UnsafeSendable(destination))
                Parallel.forRanges(count) { frames in
                    for t in frames {
                        let p = s.value + t * plane * 3
                        for c in 0..<3 {
                            let o = d.value + c * channel + t * plane, lc = l.value + c * 256
                            for i in 0..<plane { o[i] = lc[Int(p[i * 3 + c])] }
                        }
                    }
                }
            }
        }
    }
}

/// Batches of clips.
public enum ClipBatch {
    /// Clips of equal shape stacked into N × C × T × H × W.
    public static func stack(_ clips: [Tensor]) -> Tensor {
        guard let first = clips.first else { return Tensor.zeros([0]) }
        ensure(clips.allSatisfy { $0.shape == first.shape },
               "ClipBatch.stack: clip shapes differ: \(clips.map(\.shape))")
        let out = Tensor(shape: [clips.count] + first.shape, storage: Storage(uninitializedCount: clips.count * first.count))
        for (i, clip) in clips.enumerated() { (out.data + i * first.count).update(from: clip.data, count: first.count) }
        return out
    }

    /// Frame stacks of equal size normalised straight into N × C × T × H × W.
    public static func stack(_ clips: [FrameStack], _ normalization: Normalization) -> Tensor {
        guard let first = clips.first else { return Tensor.zeros([0]) }
        precondition(clips.allSatisfy { $0.count == first.count && $0.height == first.height && $0.width == first.width },
                     "ClipBatch.stack: clip sizes differ: \(clips.map { "\($0.count)×\($0.height)×\($0.width)" })")
        let each = first.pixels.count
        let out = Tensor(shape: [clips.count, 3, first.count, first.height, first.width],
                         storage: Storage(uninitializedCount: clips.count * each))
        for (i, clip) in clips.enumerated() { clip.write(normalization, into: out.data + i * each) }
        return out
    }
}
