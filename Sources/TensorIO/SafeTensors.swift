import Engine
import Foundation

/// The named tensors and metadata of one safetensors file.
///
/// The format: an 8-byte little-endian header length n, n bytes of JSON mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets count from the end of the header),
/// an optional `"__metadata__"` map of strings, then the raw little-endian tensor bytes.
///
/// Reading accepts every `DType`, converts it to Float32 and keeps the stored dtype in the entry;
/// writing stores every tensor as F32. Entries keep the order of the file (or of the caller).
public struct SafeTensors: Sendable {
    public struct Entry: Sendable {
        public let name: String
        /// The element type in the file; `tensor` always holds Float32.
        public let dtype: DType
        public let tensor: Tensor
    }

    /// Longer headers are refused before anything is parsed (the reference reader's limit).
    public static let maxHeaderLength = 100_000_000
    /// More tensors than this are refused once the header is parsed, before any is looked at: the
    /// largest published checkpoints hold a few thousand.
    public static let maxEntries = 100_000

    public let entries: [Entry]
    public var metadata: [String: String]
    private let positions: [String: Int]

    /// Tensors to write, in the order given, as F32.
    public init(_ tensors: [(name: String, tensor: Tensor)],
                metadata: [String: String] = [:]) throws(SafeTensorsError) {
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != "__metadata__" else { throw .reservedName(name) }
            guard seen.insert(name).inserted else { throw .duplicateKey(name) }
        }
        self.init(checked: tensors.map { Entry(name: $0.name, dtype: .f32, tensor: $0.tensor) },
                  metadata: metadata)
    }

    /// `entries` must have distinct names.
    init(checked entries: [Entry], metadata: [String: String]) {
        self.entries = entries
        self.metadata = metadata
        positions = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// Tensor names in file order.
    public var keys: [String] { entries.map(\.name) }

    public func entry(_ name: String) -> Entry? { positions[name].map { entries[$0] } }

    public subscript(name: String) -> Tensor? { entry(name)?.tensor }

    /// Name → tensor, the shape a state-dict loader wants.
    public var tensors: [String: Tensor] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.tensor) })
    }
}
