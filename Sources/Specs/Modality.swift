/// What a model's input channels hold. Checkpoints, configs and HTTP bodies spell it in snake_case.
public enum Modality: String, Codable, Sendable, CaseIterable {
    /// RGB frames: 3 channels.
    case rgb
    /// Stacks of optical flow: each segment is `clipLength` flow frames, x and y interleaved,
    /// 2·clipLength channels.
    case flow
    /// Both: each segment is one RGB frame beside a stack of `clipLength` flow frames,
    /// 3 + 2·clipLength channels.
    case twoStream = "two_stream"
}

/// The named per-channel normalisations of the references' data pipelines.
public enum NormalizationPreset: String, Codable, Sendable, CaseIterable {
    /// MMAction2's data preprocessor (ImageNet statistics on 0–255).
    case imagenet
    /// torchvision's video models (Kinetics statistics on 0–1).
    case kinetics
    /// PySlowFast and PyTorchVideo (0.45 ± 0.225 on 0–1).
    case slowfast
    /// Sports-1M C3D (BGR-ordered means on 0–255, no scaling).
    case c3d
    /// TSN's flow stacks (128 ± 128 on 0–255).
    case flow
}

/// An unknown name for a closed set, with the names that are known.
public struct UnknownName: Error, CustomStringConvertible, Equatable {
    public let kind: String
    public let name: String
    public let known: [String]

    public init<T: CaseIterable & RawRepresentable>(_ name: String, of type: T.Type, kind: String) where T.RawValue == String {
        self.kind = kind
        self.name = name
        known = T.allCases.map(\.rawValue)
    }

    public var description: String {
        "unknown \(kind) '\(name.count > 200 ? String(name.prefix(200)) + "…" : name)'; known: \(known.joined(separator: ", "))"
    }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    /// The case named `name`, or an `UnknownName` error listing the known ones.
    public static func named(_ name: String, kind: String) throws(UnknownName) -> Self {
        guard let value = Self(rawValue: name) else { throw UnknownName(name, of: Self.self, kind: kind) }
        return value
    }
}
