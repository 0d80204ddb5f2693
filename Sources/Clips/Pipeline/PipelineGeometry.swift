import Video

/// A crop step that cannot fit the frames it would receive.
public struct CropTooLarge: Error, CustomStringConvertible, Equatable, Sendable {
    /// The step's position in the pipeline, from 0.
    public var step: Int
    public var name: String
    public var crop: FrameSize
    /// What reaches the step: the exact frame, or only its short side after `resize_short_side`.
    public var frame: String

    public var description: String {
        "\(name) (step \(step + 1)) crops \(crop.width)×\(crop.height) from \(frame) frames; "
            + "crop no larger than the frame, or resize before cropping"
    }
}

extension ClipPipeline {
    /// What is known of the frame size between steps.
    enum Extent {
        case unknown
        case shortSide(Int)
        case exact(FrameSize)
    }

    /// Checks that every fixed-size crop fits the frame it receives, following the resizes.
    ///
    /// With `frame` nil (a config, before any video is opened) only certain failures are
    /// reported: a crop whose smaller side exceeds a known short side, or that exceeds a known
    /// exact size. With the decoded frame size every crop is checked exactly.
    public func checkCrops(frame: FrameSize?) throws(CropTooLarge) {
        var extent: Extent = frame.map(Extent.exact) ?? .unknown
        for (i, step) in transforms.enumerated() {
            let name = step.name
            switch step {
            case .resizeShortSide(let side):
                if case .exact(let f) = extent {
                    extent = .exact(FrameStack.shortSideSize(height: f.height, width: f.width, side: side))
                } else {
                    extent = .shortSide(side)
                }
            case .resize(let size):
                extent = .exact(size)
            case .randomResizedCrop(let p):
                extent = .exact(p.size)
            case .multiScaleCrop:
                extent = .unknown                 // a random scale of the short side; a resize usually follows
            case .centreCrop(let size), .threeCrop(let size), .tenCrop(let size):
                let fits: Bool
                let shown: String
                switch extent {
                case .unknown: fits = true; shown = ""
                case .shortSide(let s): fits = min(size.width, size.height) <= s; shown = "short-side \(s)"
                case .exact(let f): fits = size.width <= f.width && size.height <= f.height; shown = "\(f.width)×\(f.height)"
                }
                guard fits else { throw CropTooLarge(step: i, name: name, crop: size, frame: shown) }
                extent = .exact(size)
            case .flip, .colorJitter:
                break
            }
        }
    }
}

extension ClipTransform {
    /// The step's name as configs write it (`centre_crop`, `resize_short_side`, …).
    public var name: String { Kind(self).rawValue }
}

extension ClipTransform.Kind {
    init(_ step: ClipTransform) {
        switch step {
        case .resizeShortSide: self = .resizeShortSide
        case .resize: self = .resize
        case .randomResizedCrop: self = .randomResizedCrop
        case .multiScaleCrop: self = .multiScaleCrop
        case .centreCrop: self = .centreCrop
        case .threeCrop: self = .threeCrop
        case .tenCrop: self = .tenCrop
        case .flip: self = .flip
        case .colorJitter: self = .colorJitter
        }
    }
}

extension ClipPipeline {
    /// The largest frame side a step may set, in pixels: configs are refused past it.
    public static let maxSide = 4096

    /// The largest side any step sets (a resize's side or size, a crop's size), or nil when no
    /// step sets one. With the model's input size, this bounds the frames a clip holds.
    public var largestSide: Int? { sidesSet.map(\.largest).max() }

    /// The smallest side any step sets, or nil when no step sets one.
    public var smallestSide: Int? { sidesSet.map(\.smallest).min() }

    /// The smallest and largest side of every step that sets a size.
    private var sidesSet: [(smallest: Int, largest: Int)] {
        transforms.compactMap { step -> (smallest: Int, largest: Int)? in
            switch step {
            case .resizeShortSide(let side): (side, side)
            case .resize(let size), .centreCrop(let size), .threeCrop(let size), .tenCrop(let size):
                (min(size.width, size.height), max(size.width, size.height))
            case .randomResizedCrop(let p): (min(p.size.width, p.size.height), max(p.size.width, p.size.height))
            case .multiScaleCrop(let p): (min(p.inputSize.width, p.inputSize.height), max(p.inputSize.width, p.inputSize.height))
            case .flip, .colorJitter: nil
            }
        }
    }
}
