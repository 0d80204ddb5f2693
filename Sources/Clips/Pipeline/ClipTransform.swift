import Engine
import Video

/// One step of a clip pipeline. Steps take a clip's views (one, or several after a multi-crop)
/// and return views; a random step draws once per clip and applies that draw to every frame of
/// every view. Codable, so configs can list steps as `- centreCrop: {size: {width: 224, height: 224}}`.
public enum ClipTransform: Sendable, Equatable {
    /// Short side to `side`, aspect kept (MMAction2 `Resize(scale=(-1, side))`).
    case resizeShortSide(side: Int)
    /// Exactly `size`, aspect ignored (`Resize(scale=size, keep_ratio=False)`).
    case resize(size: FrameSize)
    /// torchvision `RandomResizedCrop`: a random box, then bilinear resize to `size`.
    case randomResizedCrop(RandomResizedCrop)
    /// TSN's `MultiScaleCrop` (crop only; follow it with `resize`).
    case multiScaleCrop(MultiScaleCrop)
    case centreCrop(size: FrameSize)
    /// Three views along the long side (left, right, middle).
    case threeCrop(size: FrameSize)
    /// Ten views: each of the five fixed crops followed by its mirror.
    case tenCrop(size: FrameSize)
    case flip(HorizontalFlip)
    case colorJitter(ColorJitter)
}

extension ClipTransform: Codable {
    /// Step names as written in configs (snake_case, like every other config key).
    enum Kind: String, CodingKey, CaseIterable {
        case resizeShortSide = "resize_short_side", resize, randomResizedCrop = "random_resized_crop"
        case multiScaleCrop = "multi_scale_crop", centreCrop = "centre_crop", threeCrop = "three_crop", tenCrop = "ten_crop"
        case flip, colorJitter = "color_jitter"
    }

    private struct Side: Codable { var side: Int }
    private struct SizeOnly: Codable { var size: FrameSize }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// One single-key object per step: `{"centre_crop": {"size": 224}}`; an unknown name is reported by name.
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.container(keyedBy: AnyKey.self)
        guard raw.allKeys.count == 1, let name = raw.allKeys.first?.stringValue else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a transform is an object with one key, got \(raw.allKeys.map(\.stringValue))"))
        }
        guard let kind = Kind(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "unknown transform '\(name)'; known: \(Kind.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let c = try decoder.container(keyedBy: Kind.self)
        switch kind {
        case .resizeShortSide: self = .resizeShortSide(side: try c.decode(Side.self, forKey: kind).side)
        case .resize: self = .resize(size: try c.decode(SizeOnly.self, forKey: kind).size)
        case .randomResizedCrop: self = .randomResizedCrop(try c.decode(RandomResizedCrop.self, forKey: kind))
        case .multiScaleCrop: self = .multiScaleCrop(try c.decode(MultiScaleCrop.self, forKey: kind))
        case .centreCrop: self = .centreCrop(size: try c.decode(SizeOnly.self, forKey: kind).size)
        case .threeCrop: self = .threeCrop(size: try c.decode(SizeOnly.self, forKey: kind).size)
        case .tenCrop: self = .tenCrop(size: try c.decode(SizeOnly.self, forKey: kind).size)
        case .flip: self = .flip(try c.decode(HorizontalFlip.self, forKey: kind))
        case .colorJitter: self = .colorJitter(try c.decode(ColorJitter.self, forKey: kind))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Kind.self)
        switch self {
        case .resizeShortSide(let side): try c.encode(Side(side: side), forKey: .resizeShortSide)
        case .resize(let size): try c.encode(SizeOnly(size: size), forKey: .resize)
        case .randomResizedCrop(let p): try c.encode(p, forKey: .randomResizedCrop)
        case .multiScaleCrop(let p): try c.encode(p, forKey: .multiScaleCrop)
        case .centreCrop(let size): try c.encode(SizeOnly(size: size), forKey: .centreCrop)
        case .threeCrop(let size): try c.encode(SizeOnly(size: size), forKey: .threeCrop)
        case .tenCrop(let size): try c.encode(SizeOnly(size: size), forKey: .tenCrop)
        case .flip(let p): try c.encode(p, forKey: .flip)
        case .colorJitter(let p): try c.encode(p, forKey: .colorJitter)
        }
    }
}

public struct RandomResizedCrop: Codable, Sendable, Equatable {
    public var size: FrameSize
    public var scale: ClosedRange<Double>
    public var ratio: ClosedRange<Double>

    public init(size: FrameSize, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3)) {
        (self.size, self.scale, self.ratio) = (size, scale, ratio)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let scale = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .scale) ?? 0.08...1
        let ratio = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .ratio) ?? (3.0 / 4)...(4.0 / 3)
        // Areas past the frame, or aspect ratios past 1:100, give boxes no frame holds (and sizes
        // past Int's range).
        guard scale.lowerBound > 0, scale.upperBound <= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .scale, in: c, debugDescription: "area fractions in (0, 1]")
        }
        guard ratio.lowerBound >= 0.01, ratio.upperBound <= 100 else {
            throw DecodingError.dataCorruptedError(forKey: .ratio, in: c, debugDescription: "aspect ratios in [0.01, 100]")
        }
        self.init(size: try c.decode(FrameSize.self, forKey: .size), scale: scale, ratio: ratio)
    }
}

public struct MultiScaleCrop: Codable, Sendable, Equatable {
    /// The network input, which crop sides within 3 pixels snap to.
    public var inputSize: FrameSize
    public var scales: [Double]
    public var maxScaleGap: Int
    /// Any offset instead of the fixed grid.
    public var randomCrop: Bool
    /// 13 fixed offsets instead of 5.
    public var moreFixedCrops: Bool

    enum CodingKeys: String, CodingKey {
        case inputSize = "input_size", scales, maxScaleGap = "max_scale_gap", randomCrop = "random_crop", moreFixedCrops = "more_fixed_crops"
    }

    public init(inputSize: FrameSize, scales: [Double] = [1, 0.875, 0.75, 0.66], maxScaleGap: Int = 1,
                randomCrop: Bool = false, moreFixedCrops: Bool = false) {
        (self.inputSize, self.scales, self.maxScaleGap) = (inputSize, scales, maxScaleGap)
        (self.randomCrop, self.moreFixedCrops) = (randomCrop, moreFixedCrops)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let scales = try c.decodeIfPresent([Double].self, forKey: .scales) ?? [1, 0.875, 0.75, 0.66]
        guard !scales.isEmpty, scales.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw DecodingError.dataCorruptedError(forKey: .scales, in: c, debugDescription: "need scales in (0, 1]")
        }
        let maxScaleGap = try c.decodeIfPresent(Int.self, forKey: .maxScaleGap) ?? 1
        guard maxScaleGap >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .maxScaleGap, in: c, debugDescription: "need a gap ≥ 0 (0: square crops)")
        }
        self.init(inputSize: try c.decode(FrameSize.self, forKey: .inputSize),
                  scales: scales,
                  maxScaleGap: maxScaleGap,
                  randomCrop: try c.decodeIfPresent(Bool.self, forKey: .randomCrop) ?? false,
                  moreFixedCrops: try c.decodeIfPresent(Bool.self, forKey: .moreFixedCrops) ?? false)
    }

    /// The crop box for one draw on a `width` × `height` frame.
    public func box(width: Int, height: Int, using rng: inout Xoshiro) -> CropBox {
        let sizes = CropPlacement.multiScaleSizes(width: width, height: height, scales: scales,
                                                  maxGap: maxScaleGap, input: inputSize)
        var size = sizes[Int(rng.nextUnit() * Double(sizes.count))]
        // Snapping to the input size may overshoot a frame just smaller than it.
        size = FrameSize(width: min(size.width, width), height: min(size.height, height))
        if randomCrop {
            return CropBox(x: Int(rng.nextUnit() * Double(width - size.width + 1)),
                           y: Int(rng.nextUnit() * Double(height - size.height + 1)),
                           width: size.width, height: size.height)
        }
        let boxes = CropPlacement.fixed(width: width, height: height, crop: size, more: moreFixedCrops)
        return boxes[Int(rng.nextUnit() * Double(boxes.count))]
    }
}

public struct HorizontalFlip: Codable, Sendable, Equatable {
    public var probability: Double
    /// Set for optical flow, whose x component changes sign in a mirror.
    public var flow: FlowLayout?

    public init(probability: Double = 0.5, flow: FlowLayout? = nil) {
        (self.probability, self.flow) = (probability, flow)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let p = try c.decodeIfPresent(Double.self, forKey: .probability) ?? 0.5
        guard (0...1).contains(p) else {
            throw DecodingError.dataCorruptedError(forKey: .probability, in: c, debugDescription: "must be in 0…1")
        }
        self.init(probability: p,
                  flow: try c.decodeIfPresent(FlowLayout.self, forKey: .flow))
    }
}

extension ClipTransform {
    /// Applies this step to a clip's views (all of one size), drawing at most once from `rng`.
    /// `flow` says how optical flow is stored when the frames are flow, so that every mirror
    /// (a flip, or ten-crop's mirrored crops) inverts its x component.
    public func apply(_ views: [FrameStack], flow: FlowLayout? = nil, using rng: inout Xoshiro) -> [FrameStack] {
        guard let first = views.first else { return views }
        let (w, h) = (first.width, first.height)
        switch self {
        case .resizeShortSide(let side):
            return views.map { $0.resized(shortSide: side) }
        case .resize(let size):
            return views.map { $0.resized(to: size) }
        case .randomResizedCrop(let p):
            let box = CropPlacement.randomResized(width: w, height: h, scale: p.scale, ratio: p.ratio, using: &rng)
            return views.map { $0.cropped(to: box).resized(to: p.size) }
        case .multiScaleCrop(let p):
            let box = p.box(width: w, height: h, using: &rng)
            return views.map { $0.cropped(to: box) }
        case .centreCrop(let size):
            let box = CropPlacement.centre(width: w, height: h, crop: size)
            return views.map { $0.cropped(to: box) }
        case .threeCrop(let size):
            let boxes = CropPlacement.three(width: w, height: h, crop: size)
            return views.flatMap { v in boxes.map { v.cropped(to: $0) } }
        case .tenCrop(let size):
            let boxes = CropPlacement.fixed(width: w, height: h, crop: size)
            return views.flatMap { v in
                boxes.flatMap { box -> [FrameStack] in
                    let c = v.cropped(to: box)
                    return [c, c.flippedHorizontally(flow: flow)]
                }
            }
        case .flip(let p):
            guard rng.nextUnit() < p.probability else { return views }
            return views.map { $0.flippedHorizontally(flow: p.flow ?? flow) }
        case .colorJitter(let p):
            let steps = p.draw(using: &rng)
            return views.map { $0.jittered(steps) }
        }
    }
}
