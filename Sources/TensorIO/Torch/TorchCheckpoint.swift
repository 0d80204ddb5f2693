import Engine
import Foundation
internal import ZIPFoundation

/// A PyTorch checkpoint as `torch.save` writes it since torch 1.6: a zip holding
/// `<folder>/data.pkl` (the pickled object), `<folder>/data/<key>` (one raw record per storage),
/// `<folder>/byteorder` and `<folder>/version`. The folder is named after the file, so the
/// reader finds `data.pkl` by its suffix.
///
/// The pickle runs on a restricted unpickler (`Unpickler`): dicts, OrderedDicts, lists, tuples,
/// numbers, strings, bytes, None and tensors, and nothing that imports or calls Python, so an
/// untrusted file is safe to read. Tensors come out as contiguous Float32 whatever their dtype
/// (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte, Bool storages) and strides; the
/// dtype in the file is kept beside each one. Int64 tensors such as `num_batches_tracked` are
/// converted like the rest, as the safetensors reader does: exact up to 2²⁴.
public struct TorchCheckpoint: Sendable {
    /// The whole unpickled object: a state dict, or a training checkpoint around one.
    public let root: PickleValue

    /// Keys under which training checkpoints keep the model's state dict, tried in this order:
    /// MMAction2 and Lightning (`state_dict`), PySlowFast (`model_state`), timm and DeiT (`model`),
    /// DeepSpeed (`module`).
    public static let stateDictKeys = ["state_dict", "model_state", "model", "module"]

    /// A file of n bytes may hold tensors of at most 8n (at least 2²⁰) elements in all: views and
    /// expanded tensors can share storage, but not without bound.
    public static func elementBudget(fileSize: Int) -> Int { max(8 * fileSize, 1 << 20) }

    /// The most `data.pkl` may unpack to, well above any state dict's pickle.
    public static let maxPickleSize = 1 << 30

    /// Reads a checkpoint file; see `init(data:)` for what is checked.
    public init(contentsOf url: URL) throws(TorchError) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
        try Self.checkFormat(data)
        try self.init(archiveAt: url, bytes: data)
    }

    /// Parses untrusted bytes: the zip, then the pickle, reading each storage record the first
    /// time a tensor needs it. The bytes are written to a temporary file for the length of the
    /// call (see below); `init(contentsOf:)` reads the file in place.
    public init(data: Data) throws(TorchError) {
        try Self.checkFormat(data)
        // ZIPFoundation's in-memory archives trap when a corrupt offset points past the end of
        // the data; its file-backed ones just read short. So the bytes go through a temporary file.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-checkpoint-\(UUID().uuidString).pth")
        do {
            try data.write(to: url)
        } catch {
            throw .io(path: url.path, reason: error.localizedDescription)
        }
        defer { try? FileManager.default.removeItem(at: url) }
        try self.init(archiveAt: url, bytes: data)
    }

    private static func checkFormat(_ data: Data) throws(TorchError) {
        switch WeightFile.format(of: data) {
        case .torchZip: break
        case .pickle: throw .legacyFormat
        case .safetensors: throw .notACheckpoint(magic: data.prefix(8).map { String(format: "%02x", $0) }.joined())
        }
    }

    /// `bytes` are the file's contents, for the directory check and the size bounds.
    private init(archiveAt url: URL, bytes: Data) throws(TorchError) {
        try ZipPreflight.check(bytes)
        let fileSize = bytes.count
        let archive = try RecordReader(url, fileSize: fileSize)
        let folder = try archive.dataPickleFolder()
        if let order = try archive.record(folder + "byteorder", limit: 16) {
            let text = String(decoding: order, as: UTF8.self)
            guard text == "little" else { throw .byteOrder(text) }
        }
        guard let pickle = try archive.record(folder + "data.pkl", limit: Self.maxPickleSize) else { throw .noDataPickle }

        var loaded: [String: Data] = [:]
        root = try Unpickler.load([UInt8](pickle), elementBudget: Self.elementBudget(fileSize: fileSize)) {
            request throws(TorchError) -> TorchStorage in
            let path = folder + "data/" + request.key
            let (expected, overflow) = request.count.multipliedReportingOverflow(by: request.dtype.byteSize)
            let bytes: Data
            if let cached = loaded[request.key] {
                bytes = cached
            } else {
                guard let record = try archive.record(path, limit: .max) else { throw .missingRecord(path) }
                bytes = record
                loaded[request.key] = record
            }
            guard !overflow, bytes.count == expected else {
                throw .storageSize(key: request.key, storage: request.typeName,
                                   expected: overflow ? .max : expected, found: bytes.count)
            }
            return TorchStorage(key: request.key, dtype: request.dtype, count: request.count, bytes: bytes)
        }
    }

    /// The model weights in file order, as TensorIO's container of named tensors (so they can be
    /// written straight out as safetensors).
    ///
    /// The state dict is the root if it is a dict, or the dict under the first of
    /// `stateDictKeys` it has, repeatedly (`{"model": {"module": …}}`). Its entries that are
    /// tensors under string keys are the weights; anything else beside them is ignored. When
    /// every key starts with `module.` (DataParallel), the prefix is dropped, as often as it repeats.
    public func stateDict() throws(TorchError) -> SafeTensors {
        var value = root
        var path = "the checkpoint"
        descend: while true {
            for key in Self.stateDictKeys {
                if let inner = value[key], case .dict = inner {
                    (value, path) = (inner, "\(path)[\"\(key)\"]")
                    continue descend
                }
            }
            break
        }
        guard case .dict(let items) = value else { throw .noStateDict("\(path) is not a dict") }
        var entries: [SafeTensors.Entry] = []
        for (key, value) in items {
            if case .string(let name) = key, case .tensor(let tensor, let dtype) = value {
                entries.append(SafeTensors.Entry(name: name, dtype: dtype, tensor: tensor))
            }
        }
        guard !entries.isEmpty else { throw .noStateDict("\(path) holds no tensors under string keys") }
        let prefix = "module."
        while entries.allSatisfy({ $0.name.hasPrefix(prefix) }) {
            entries = entries.map { SafeTensors.Entry(name: String($0.name.dropFirst(prefix.count)), dtype: $0.dtype, tensor: $0.tensor) }
        }
        // Dict keys are distinct already; this guards the one way they might not stay so, Swift
        // treating canonically equal Unicode strings as equal after the prefix is gone.
        var seen = Set<String>()
        for entry in entries where !seen.insert(entry.name).inserted {
            throw .noStateDict("two keys read as \"\(entry.name)\"")
        }
        return SafeTensors(checked: entries, metadata: [:])
    }
}

/// The zip's records by path, read whole and checked: stored (uncompressed) files only, sizes
/// within bounds before anything is read, and the CRC when the writer recorded one.
private struct RecordReader {
    let archive: Archive
    let fileSize: Int
    /// Archive order, for picking the first data.pkl; the first record of a path wins, as in torch.
    let paths: [String]
    let entries: [String: Entry]

    init(_ url: URL, fileSize: Int) throws(TorchError) {
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw .zip("\(error)")
        }
        self.fileSize = fileSize
        var paths: [String] = []
        var entries: [String: Entry] = [:]
        for entry in archive where entries[entry.path] == nil {
            paths.append(entry.path)
            entries[entry.path] = entry
        }
        (self.paths, self.entries) = (paths, entries)
    }

    /// The folder (with its trailing slash) of the first top-level `data.pkl`.
    func dataPickleFolder() throws(TorchError) -> String {
        for path in paths where path == "data.pkl" || path.hasSuffix("/data.pkl") {
            let folder = path.dropLast("data.pkl".count)
            if folder.dropLast().contains("/") { continue }
            return String(folder)
        }
        throw .noDataPickle
    }

    /// The bytes of the record at `path`, nil if there is none. A record larger than `limit`
    /// bytes (or than the file) is refused unread.
    func record(_ path: String, limit: Int) throws(TorchError) -> Data? {
        guard let entry = entries[path] else { return nil }
        guard entry.type == .file else { throw .unsupportedRecord(path, reason: "is not a plain file") }
        guard !entry.isCompressed else {
            throw .unsupportedRecord(path, reason: "is compressed; torch.save stores records uncompressed")
        }
        let size = entry.uncompressedSize
        guard size <= UInt64(fileSize), size <= UInt64(max(limit, 0)) else {
            throw .unsupportedRecord(path, reason: "claims \(size) bytes, more than \(min(limit, fileSize)) allowed here")
        }
        var bytes = Data(capacity: Int(size))
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry) { chunk in bytes.append(chunk) }
        } catch {
            throw .zip("\(path): \(error)")
        }
        guard bytes.count == Int(size) else { throw .zip("\(path): the record ends after \(bytes.count) of its \(size) bytes") }
        // Writers that skip the CRC leave 0 in its place.
        guard entry.checksum == 0 || checksum == entry.checksum else { throw .zip("\(path): CRC mismatch") }
        return bytes
    }
}
