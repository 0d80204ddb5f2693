import Engine
import Foundation
import Testing
@testable import TensorIO

/// `Fixtures/torch/*.pth` come from torch.save via Tests/Fixtures/make_torch_fixtures.py, which
/// also wrote `expected.json`: every tensor's dtype, shape and float32 values as torch sees them.
@Suite struct TorchCheckpointFixtureTests {
    struct ExpectedTensor: Decodable {
        let dtype: String
        let shape: [Int]
        let values: [Double]
    }

    struct ExpectedFile: Decodable {
        let keys: [String]
        let tensors: [String: ExpectedTensor]
    }

    static func fixture(_ name: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/torch"))
    }

    static func checkpoint(_ name: String) throws -> TorchCheckpoint {
        try TorchCheckpoint(contentsOf: fixture(name))
    }

    static func expected() throws -> [String: ExpectedFile] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                        nan: "nan")
        return try decoder.decode([String: ExpectedFile].self, from: Data(contentsOf: fixture("expected.json")))
    }

    @Test(arguments: ["tiny_model.pth", "dtypes.pth", "views.pth", "nested.pth", "model_state.pth"])
    func stateDictMatchesTorch(file: String) throws {
        let expected = try #require(try Self.expected()[file])
        let state = try Self.checkpoint(file).stateDict()
        #expect(state.keys == expected.keys)
        for key in expected.keys {
            let want = try #require(expected.tensors[key])
            let entry = try #require(state.entry(key), "\(file): no \(key)")
            #expect(entry.dtype.rawValue == want.dtype, "\(file) \(key)")
            #expect(entry.tensor.shape == want.shape, "\(file) \(key)")
            let got = entry.tensor.scalars
            #expect(got.count == want.values.count, "\(file) \(key)")
            for (i, (g, w)) in zip(got, want.values).enumerated() {
                let w = Float(w)
                #expect(g == w || (g.isNaN && w.isNaN), "\(file) \(key)[\(i)]: \(g) != \(w)")
            }
        }
    }

    @Test func tinyModelHasItsBatchNormCounter() throws {
        let state = try Self.checkpoint("tiny_model.pth").stateDict()
        let counter = try #require(state.entry("bn.num_batches_tracked"))
        #expect(counter.dtype == .i64)
        #expect(counter.tensor.shape == [] && counter.tensor.scalars == [7])
        #expect(state["conv.weight"]?.shape == [3, 2, 3, 3])
        #expect(state["bn.running_var"]?.scalars.allSatisfy { $0 > 0 } == true)
    }

    /// Edge values of each type, checked here by hand rather than through the JSON.
    @Test func everyDTypeConverts() throws {
        let state = try Self.checkpoint("dtypes.pth").stateDict()
        #expect(state.entries.map(\.dtype) == [.f32, .f64, .f16, .bf16, .i64, .i32, .i16, .i8, .u8, .bool, .f32, .f32])
        #expect(state["f32"]?.scalars == [1.5, -2.25, Float(3.0e-39 as Double), 1.0e30])
        #expect(state["f64"]?.scalars == [0.1, -1.5, .infinity])
        #expect(state["f16"]?.scalars == [1, -2, 0.5, 65504, 0x1p-24, -.infinity])
        let bf16 = try #require(state["bf16"]?.scalars)
        #expect(Array(bf16.prefix(3)) == [1, -2, 3.140625] && bf16[4].isNaN)
        #expect(state["i64"]?.scalars == [-3, 0, 42, 0x1p40])
        #expect(state["i32"]?.scalars == [-100_000, 7])
        #expect(state["i16"]?.scalars == [-32768, 32767])
        #expect(state["i8"]?.scalars == [-128, 127])
        #expect(state["u8"]?.scalars == [0, 255])
        #expect(state["bool"]?.scalars == [1, 0, 0, 1])
        #expect(state["scalar"]?.shape == [] && state["scalar"]?.scalars == [2.5])
        #expect(state["empty"]?.shape == [0, 3] && state["empty"]?.count == 0)
    }

    /// Views keep torch's offsets and strides; the expected values are recomputed from the script's formula.
    @Test func stridedViewsReadTheRightElements() throws {
        let state = try Self.checkpoint("views.pth").stateDict()
        func base(_ i: Int, _ j: Int) -> Float { Float(i * 5 + j) * 0.5 - 3 }   // base: 4, 5
        #expect(state["base"]?.scalars == (0..<4).flatMap { i in (0..<5).map { base(i, $0) } })
        #expect(state["transposed"]?.shape == [5, 4])
        #expect(state["transposed"]?.scalars == (0..<5).flatMap { j in (0..<4).map { base($0, j) } })
        #expect(state["slice"]?.shape == [2, 3])
        #expect(state["slice"]?.scalars == (1..<3).flatMap { i in (1..<4).map { base(i, $0) } })
        #expect(state["row"]?.scalars == (0..<5).map { base(3, $0) })
        #expect(state["column"]?.scalars == (0..<4).map { base($0, 2) })
        #expect(state["expanded"]?.shape == [2, 3] && state["expanded"]?.scalars == [1, -1, 2, 1, -1, 2])
        #expect(state["channels_last"]?.shape == [1, 2, 3, 4])
        #expect(state["channels_last"]?.scalars == (0..<24).map(Float.init))
        #expect(state["half_slice"]?.scalars == [4, 6, 8, 10])
        #expect(state["param"]?.scalars == [0.25, 0.75])
    }

    @Test func trainingCheckpointKeepsItsTree() throws {
        let root = try Self.checkpoint("nested.pth").root
        #expect(root["epoch"]?.int == 3)
        let meta = try #require(root["meta"])
        #expect(repr(meta) == "{'note': 'motive fixture', 'pair': (1, 2.5, None), 'big': bigint(0000000000000000 40), "
            + "'negative': -5, 'flags': [True, False], 'raw': b[0, 255, 97, 98], 'empty': ()}")
        let optimizer = try #require(root["optimizer"])
        let group = try #require({ if case .list(let groups)? = optimizer["param_groups"] { groups.first } else { nil } }())
        #expect(repr(try #require(group["lr"])) == "0.1")
        #expect(repr(try #require(group["nesterov"])) == "False")
        #expect(repr(try #require(group["foreach"])) == "None")
        #expect(repr(try #require(group["params"])) == "[0, 1, 2, 3]")
        // Optimizer state is keyed by parameter index: int keys, each with its momentum buffer.
        guard case .dict(let state)? = optimizer["state"] else { Issue.record("no optimizer state"); return }
        #expect(state.map { repr($0.key) } == ["0", "1", "2", "3"])
        #expect(state[0].value["momentum_buffer"]?.tensor?.shape == [2, 3])
        // The state dict inside still has its DataParallel prefix; stateDict() drops it.
        guard case .dict(let raw)? = root["state_dict"] else { Issue.record("no state_dict"); return }
        #expect(raw.allSatisfy { $0.key.string?.hasPrefix("module.") == true })
        #expect(try Self.checkpoint("nested.pth").stateDict().keys.first == "0.weight")
    }

    @Test func pySlowFastCheckpoint() throws {
        let checkpoint = try Self.checkpoint("model_state.pth")
        #expect(checkpoint.root["epoch"]?.int == 10)
        #expect(checkpoint.root["cfg"]?.string == "TRAIN:\n  ENABLE: True\n")
        #expect(repr(try #require(checkpoint.root["optimizer_state"])) == "None")
        let state = try checkpoint.stateDict()
        #expect(state["head.proj.weight"]?.scalars == [1, 2, 3, 4])
        #expect(state["head.proj.bias"]?.scalars == [-1, 1])
    }

    @Test func forbiddenGlobalIsRefusedByName() throws {
        let error = #expect(throws: TorchError.self) { try Self.checkpoint("forbidden_global.pth") }
        #expect(error == .forbiddenGlobal("posix.system"))
        #expect(error?.description.contains("posix.system") == true)
        let viaLoader = #expect(throws: WeightFileError.self) {
            try WeightFile.stateDict(contentsOf: Self.fixture("forbidden_global.pth"))
        }
        #expect(viaLoader == .torch(.forbiddenGlobal("posix.system")))
    }

    @Test func brokenFilesGiveTypedErrors() throws {
        let truncated = #expect(throws: TorchError.self) { try Self.checkpoint("truncated.pth") }
        guard case .zip = truncated else { Issue.record("truncated.pth: \(String(describing: truncated))"); return }
        let cutPickle = #expect(throws: TorchError.self) { try Self.checkpoint("truncated_pickle.pth") }
        guard case .truncated = cutPickle else { Issue.record("truncated_pickle.pth: \(String(describing: cutPickle))"); return }
        #expect(throws: TorchError.missingRecord("model_state/data/1")) { try Self.checkpoint("missing_storage.pth") }
        #expect(throws: TorchError.storageSize(key: "0", storage: "FloatStorage", expected: 16, found: 12)) {
            try Self.checkpoint("short_storage.pth")
        }
        #expect(throws: TorchError.byteOrder("big")) { try Self.checkpoint("big_endian.pth") }
    }

    @Test func legacyFormatAsksForAResave() throws {
        let error = #expect(throws: TorchError.self) { try Self.checkpoint("legacy.pth") }
        #expect(error == .legacyFormat)
        #expect(error?.description.contains("re-save") == true)
        #expect(throws: WeightFileError.torch(.legacyFormat)) { try WeightFile.stateDict(contentsOf: Self.fixture("legacy.pth")) }
    }

    @Test func garbageIsNotACheckpoint() throws {
        #expect(throws: TorchError.notACheckpoint(magic: "")) { try TorchCheckpoint(data: Data()) }
        #expect(throws: TorchError.notACheckpoint(magic: "68656c6c6f")) { try TorchCheckpoint(data: Data("hello".utf8)) }
        // A zip signature with nothing behind it.
        let error = #expect(throws: TorchError.self) { try TorchCheckpoint(data: Data([0x50, 0x4B, 0x03, 0x04, 0, 0])) }
        guard case .zip = error else { Issue.record("expected .zip, got \(String(describing: error))"); return }
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("motive-absent-\(UUID().uuidString).pth")
        let io = #expect(throws: TorchError.self) { try TorchCheckpoint(contentsOf: missing) }
        guard case .io = io else { Issue.record("expected .io, got \(String(describing: io))"); return }
    }

    /// Renaming data.pkl (in the local header and the central directory alike) leaves a valid zip
    /// that torch.save did not write.
    @Test func zipWithoutDataPickle() throws {
        let original = try [UInt8](Data(contentsOf: Self.fixture("model_state.pth")))
        let (from, to) = (Array("data.pkl".utf8), Array("data.pkX".utf8))
        var renamed = original
        var i = 0
        while i + from.count <= renamed.count {
            if Array(renamed[i..<(i + from.count)]) == from { renamed.replaceSubrange(i..<(i + from.count), with: to) }
            i += 1
        }
        #expect(renamed != original)
        #expect(throws: TorchError.noDataPickle) { try TorchCheckpoint(data: Data(renamed)) }
    }

    /// Directory offsets that ZIPFoundation would pass to `fseeko` unchecked (and trap on past
    /// Int64.max) are refused first, by `ZipPreflight`.
    @Test func directoryOffsetsPastTheFileAreRefused() throws {
        let original = try [UInt8](Data(contentsOf: Self.fixture("tiny_model.pth")))
        let end = try #require((0...(original.count - 22)).last { Array(original[$0..<($0 + 4)]) == [0x50, 0x4B, 0x05, 0x06] })
        func patched(at offset: Int, _ bytes: [UInt8]) -> Data {
            var copy = original
            copy.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            return Data(copy)
        }
        func expectZipError(_ data: Data, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let error = #expect(throws: TorchError.self, sourceLocation: sourceLocation) { try TorchCheckpoint(data: data) }
            guard case .zip(let reason) = error, reason.contains(fragment) else {
                Issue.record("expected .zip mentioning \(fragment), got \(String(describing: error))", sourceLocation: sourceLocation)
                return
            }
        }
        // torch writes a ZIP64 end record (76 bytes before the end record); its directory offset is at +48.
        #expect(Array(original[(end - 76)..<(end - 72)]) == [0x50, 0x4B, 0x06, 0x06])
        expectZipError(patched(at: end - 76 + 48, le(1 << 63, 8)), "the central directory starts at byte 9223372036854775808")
        // The first directory entry's local header offset, all ones and no ZIP64 field to replace it.
        let directory = Int(original[end + 16]) | Int(original[end + 17]) << 8 | Int(original[end + 18]) << 16
        expectZipError(patched(at: directory + 42, [0xFF, 0xFF, 0xFF, 0xFF]), "local header offset 4294967295")
    }

    @Test func weightFileSniffsTheContentNotTheExtension() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("motive-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A torch checkpoint named .safetensors, and a safetensors file named .pth.
        let torchFile = folder.appendingPathComponent("model.safetensors")
        try FileManager.default.copyItem(at: Self.fixture("tiny_model.pth"), to: torchFile)
        let safeFile = folder.appendingPathComponent("model.pth")
        let reference = try #require(Bundle.module.url(forResource: "reference", withExtension: "safetensors",
                                                       subdirectory: "Fixtures"))
        try FileManager.default.copyItem(at: reference, to: safeFile)

        let fromTorch = try WeightFile.stateDict(contentsOf: torchFile)
        let direct = try Self.checkpoint("tiny_model.pth").stateDict()
        #expect(fromTorch.keys == direct.keys)
        for key in direct.keys { #expect(fromTorch[key]?.scalars == direct[key]?.scalars) }
        let fromSafe = try WeightFile.stateDict(contentsOf: safeFile)
        #expect(fromSafe.keys == (try SafeTensors(contentsOf: reference)).keys)
        #expect(WeightFile.format(of: try Data(contentsOf: safeFile)) == .safetensors)
        #expect(WeightFile.format(of: try Data(contentsOf: torchFile)) == .torchZip)
        #expect(throws: WeightFileError.safetensors(.fileTooShort(byteCount: 3))) { try WeightFile.stateDict(data: Data([1, 2, 3])) }
    }

    /// The format is decided on structure: a safetensors file whose header is 128, 384 or 640
    /// bytes long starts with 0x80, pickle's PROTO opcode, and is still safetensors.
    @Test(arguments: [128, 384, 640])
    func safetensorsStartingWith0x80IsSafetensors(headerLength: Int) throws {
        let tensor = Tensor([1, 2, 3], shape: [3])
        var found: Data?
        for n in 0..<700 where found == nil {
            let data = try SafeTensors([("t", tensor)], metadata: ["p": String(repeating: "x", count: n)]).encoded()
            if data.prefix(8).enumerated().reduce(0, { $0 | Int($1.element) << (8 * $1.offset) }) == headerLength { found = data }
        }
        let file = try #require(found)
        #expect(file.first == 0x80)
        #expect(WeightFile.format(of: file) == .safetensors)
        #expect(try WeightFile.stateDict(data: file)["t"]?.scalars == [1, 2, 3])
    }

    @Test func formatBoundaries() throws {
        #expect(WeightFile.format(of: Data([0x50, 0x4B, 0x03, 0x04, 0, 0])) == .torchZip)
        for protocolNumber: UInt8 in 2...5 { #expect(WeightFile.format(of: Data([0x80, protocolNumber, 0x7D, 0x71])) == .pickle) }
        // 0x80 with no valid protocol, and no plausible safetensors header: the safetensors reader explains.
        #expect(WeightFile.format(of: Data([0x80, 0x00, 0, 0, 0, 0, 0, 0, 0x7B, 0x7D])) == .safetensors)
        #expect(WeightFile.format(of: Data([0x80, 0x06])) == .safetensors)
        // A header length past the end of the file is not safetensors' structure; a pickle then stays a pickle.
        #expect(WeightFile.format(of: Data([0x80, 0x02, 0xFF, 0xFF, 0, 0, 0, 0, 0x7B, 0x7D])) == .pickle)
        let legacy = try Data(contentsOf: Self.fixture("legacy.pth"))
        #expect(WeightFile.format(of: legacy) == .pickle)
    }

    /// A state dict read from a .pth writes out as safetensors and reads back the same.
    @Test func stateDictConvertsToSafetensors() throws {
        let state = try Self.checkpoint("tiny_model.pth").stateDict()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors(state.entries.map { ($0.name, $0.tensor) }).write(to: url)
        let back = try SafeTensors(contentsOf: url)
        #expect(back.keys == state.keys)
        for key in state.keys { #expect(back[key]?.scalars == state[key]?.scalars) }
    }

    /// Prefixes and every single-byte corruption of a real checkpoint load or throw: no trap, no hang.
    @Test func corruptedCheckpointNeverCrashes() throws {
        let original = try Data(contentsOf: Self.fixture("views.pth"))
        // Every prefix loses the end-of-directory record; the ones cut inside it are the interesting ones.
        for length in Array(stride(from: 0, to: original.count, by: 17)) + Array((original.count - 120)..<original.count) {
            #expect(throws: TorchError.self) { try TorchCheckpoint(data: original.prefix(length)) }
        }
        // Every byte of the central directory and the end records, a spread of the rest.
        var generator = SystemRandomNumberGenerator()
        let directory = original.count - 800  // views.pth: the central directory starts 779 bytes from the end
        for position in Array(stride(from: 0, to: directory, by: 5)) + Array(directory..<original.count) {
            var corrupted = original
            corrupted[position] ^= UInt8.random(in: 1...255, using: &generator)
            _ = try? TorchCheckpoint(data: corrupted).stateDict()
        }
    }
}

/// The unpickler on byte streams built by hand, opcode by opcode.
@Suite struct UnpicklerTests {
    static let proto2 = op(.proto) + [2]

    /// Runs `body` then STOP, with storages (key → dtype and raw bytes) for persistent ids.
    static func unpickle(_ body: [UInt8], storages: [String: (SafeTensors.DType, [UInt8])] = [:],
                         elementBudget: Int = 1 << 20) throws(TorchError) -> PickleValue {
        try Unpickler.load(proto2 + body + op(.stop), elementBudget: elementBudget) { request throws(TorchError) in
            guard let (dtype, bytes) = storages[request.key] else { throw .missingRecord(request.key) }
            return TorchStorage(key: request.key, dtype: dtype, count: bytes.count / dtype.byteSize, bytes: Data(bytes))
        }
    }

    static func raw(_ stream: [UInt8]) throws(TorchError) -> PickleValue {
        try Unpickler.load(stream, elementBudget: 1 << 20) { request throws(TorchError) in throw .missingRecord(request.key) }
    }

    @Test func scalarsAndStrings() throws {
        let body = op(.mark) + op(.none, .newTrue, .newFalse) + int(-5) + op(.binInt1) + [200] + op(.binInt2) + [0xFF, 0xFF]
            + op(.binFloat) + [0x40, 0x04, 0, 0, 0, 0, 0, 0]                                   // 2.5, big-endian
            + op(.shortBinUnicode) + [3] + Array("hé".utf8) + op(.binUnicode8) + le(1, 8) + Array("x".utf8)
            + op(.shortBinString) + [2] + Array("py".utf8) + op(.binString) + le(1, 4) + Array("2".utf8)
            + op(.shortBinBytes) + [2, 0, 255] + op(.binBytes) + le(1, 4) + [7] + op(.binBytes8) + le(0, 8)
            + op(.list)
        #expect(repr(try Self.unpickle(body)) == "[None, True, False, -5, 200, 65535, 2.5, 'hé', 'x', 'py', '2', b[0, 255], b[7], b[]]")
        // Two of the three bytes of "hé" cut the é in half, which is refused rather than patched.
        #expect(throws: TorchError.malformedPickle(offset: 2, reason: "a string is not valid UTF-8")) {
            try Self.unpickle(op(.shortBinUnicode) + [2, 0x68, 0xC3])
        }
    }

    @Test func longIntegers() throws {
        func long1(_ bytes: [UInt8]) -> [UInt8] { op(.long1) + [UInt8(bytes.count)] + bytes }
        let body = op(.mark) + long1([]) + long1([0xFF]) + long1([0x00, 0x80, 0x00]) + long1([0x00, 0x00, 0x00, 0x80, 0x00])
            + long1([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) + long1([0, 0, 0, 0, 0, 0, 0, 0x80])
            + long1([0, 0, 0, 0, 0, 0, 0, 0x80, 0x00]) + op(.long4) + le(2, 4) + [0x01, 0xFF] + op(.list)
        #expect(repr(try Self.unpickle(body))
            == "[0, -1, 32768, 2147483648, 9223372036854775807, -9223372036854775808, bigint(0000000000000080 00), -255]")
    }

    @Test func containersAndTheirOpcodes() throws {
        // [(1,), (1, 2), (1, 2, 3), (), {'a': [1, 2, 3]}] with POP, POP_MARK and DUP along the way.
        let one = op(.binInt1) + [1], two = op(.binInt1) + [2], three = op(.binInt1) + [3]
        let body = op(.emptyList) + op(.mark)
            + one + op(.tuple1) + one + two + op(.tuple2) + one + two + three + op(.tuple3) + op(.mark, .tuple)
            + op(.mark) + str("a") + op(.emptyList) + one + op(.append) + op(.mark) + two + three + op(.appends, .dict)
            + op(.none, .pop) + op(.mark) + one + two + op(.popMark)
            + op(.appends)
            + op(.dup, .pop)
        #expect(repr(try Self.unpickle(body)) == "[(1,), (1, 2), (1, 2, 3), (), {'a': [1, 2, 3]}]")
    }

    @Test func dictKeysFollowPython() throws {
        // {True: 'x', 'k': 1, 1: 'y', 'k': 2}: True and 1 are one key; a repeated key keeps its place.
        let body = op(.emptyDict) + op(.mark) + op(.newTrue) + str("x") + str("k") + op(.binInt1) + [1]
            + op(.binInt1) + [1] + str("y") + str("k") + op(.binInt1) + [2] + op(.setItems)
        #expect(repr(try Self.unpickle(body)) == "{True: 'y', 'k': 2}")
        let listKey = op(.emptyDict) + op(.emptyList) + op(.none, .setItem)
        #expect(throws: TorchError.malformedPickle(offset: 5, reason: "a list or dict used as a dict key")) {
            try Self.unpickle(listKey)
        }
    }

    /// The memo holds references: a list appended to after it was memoized shows the appends
    /// wherever it is fetched again, as in Python.
    @Test func memoSharesMutableContainers() throws {
        let body = op(.emptyList) + op(.binPut) + [0] + op(.none, .append)      // l = [None]; memo 0 = l
            + op(.emptyList, .memoize) + op(.binGet) + [0] + op(.append)         // m = [l]; memo 1 = m
            + op(.binGet) + [0] + op(.newTrue, .append, .pop)                    // l.append(True)
            + op(.longBinPut) + le(70_000, 4) + op(.longBinGet) + le(70_000, 4) + op(.tuple2)
        #expect(repr(try Self.unpickle(body)) == "([[None, True]], [[None, True]])")
    }

    @Test func protocolFourFramesAndStackGlobals() throws {
        // An OrderedDict by STACK_GLOBAL and NEWOBJ, then its _metadata set by BUILD, in a frame.
        let inner = op(.shortBinUnicode) + [11] + Array("collections".utf8) + op(.memoize)
            + op(.shortBinUnicode) + [11] + Array("OrderedDict".utf8) + op(.memoize, .stackGlobal, .memoize)
            + op(.emptyTuple, .newObj, .memoize) + str("w") + op(.binInt1) + [9] + op(.setItem)
            + op(.emptyDict) + str("_metadata") + op(.emptyDict, .setItem, .build) + op(.stop)
        let stream = op(.proto) + [4] + op(.frame) + le(UInt64(inner.count), 8) + inner
        #expect(repr(try Self.raw(stream)) == "{'w': 9}")
    }

    @Test func tensorsFromStorages() throws {
        let storage = ("0", (SafeTensors.DType.f32, floats((0..<12).map(Float.init))))
        let storages = Dictionary(uniqueKeysWithValues: [storage])
        // A 3×2 view from offset 1 with strides (4, 2) picks 1, 3, 5, 7, 9, 11; then its transpose.
        let body = op(.mark) + tensor("0", numel: 12, offset: 1, size: [3, 2], stride: [4, 2])
            + tensor("0", numel: 12, offset: 0, size: [4, 3], stride: [1, 4]) + op(.tuple)
        let value = try Self.unpickle(body, storages: storages)
        #expect(repr(value) == "(tensor(F32 [3, 2] [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]), "
            + "tensor(F32 [4, 3] [0.0, 4.0, 8.0, 1.0, 5.0, 9.0, 2.0, 6.0, 10.0, 3.0, 7.0, 11.0]))")
        // A parameter wraps a tensor; a long storage converts; a bare storage reads as 1-D.
        let longs = ("1", (SafeTensors.DType.i64, le(UInt64(bitPattern: -7), 8) + le(1 << 30, 8)))
        let parameter = global("torch._utils", "_rebuild_parameter") + op(.mark)
            + tensor("1", type: "LongStorage", numel: 2, offset: 0, size: [2], stride: [1])
            + op(.newTrue) + global("collections", "OrderedDict") + op(.emptyTuple, .reduce) + op(.tuple, .reduce)
        #expect(repr(try Self.unpickle(parameter, storages: Dictionary(uniqueKeysWithValues: [longs])))
            == "tensor(I64 [2] [-7.0, 1.0737418e+09])")
        let bare = op(.mark) + str("storage") + global("torch", "HalfStorage") + str("2") + str("cpu")
            + int(2) + op(.tuple, .binPersId)
        #expect(repr(try Self.unpickle(bare, storages: ["2": (.f16, [0x00, 0x3C, 0x00, 0xC0])])) == "tensor(F16 [2] [1.0, -2.0])")
    }

    @Test func badTensorArgumentsAreRefused() throws {
        let storages: [String: (SafeTensors.DType, [UInt8])] = ["0": (.f32, floats([1, 2, 3, 4]))]
        func expectMalformed(_ body: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let error = #expect(throws: TorchError.self, sourceLocation: sourceLocation) { try Self.unpickle(body, storages: storages) }
            guard case .malformedPickle(_, let reason) = error, reason.contains(fragment) else {
                Issue.record("expected malformedPickle containing \(fragment), got \(String(describing: error))",
                             sourceLocation: sourceLocation)
                return
            }
        }
        expectMalformed(tensor("0", numel: 4, offset: 2, size: [3], stride: [1]), "reaches element 4 of a storage of 4")
        expectMalformed(tensor("0", numel: 4, offset: 0, size: [2, 2], stride: [2, -1]), "negative")
        expectMalformed(tensor("0", numel: 4, offset: 0, size: [2, 2], stride: [2]), "size has 2 dimensions")
        // A storage record shorter than numel says is the loader's business: here, a missing one.
        #expect(throws: TorchError.missingRecord("9")) { try Self.unpickle(tensor("9", numel: 4, offset: 0, size: [4], stride: [1]), storages: storages) }
        // Sizes whose product overflows, and a stride-0 view far past the element budget.
        let huge = tensor("0", numel: 4, offset: 0, size: [Int32.max, Int32.max, Int32.max], stride: [0, 0, 0])
        let hugeError = #expect(throws: TorchError.self) { try Self.unpickle(huge, storages: storages) }
        guard case .tooLarge = hugeError else { Issue.record("expected .tooLarge, got \(String(describing: hugeError))"); return }
        let expanded = tensor("0", numel: 4, offset: 0, size: [1 << 30], stride: [0])
        let budgetError = #expect(throws: TorchError.self) { try Self.unpickle(expanded, storages: storages) }
        guard case .tooLarge = budgetError else { Issue.record("expected .tooLarge, got \(String(describing: budgetError))"); return }
        // Complex storages are not on the allowlist.
        #expect(throws: TorchError.forbiddenGlobal("torch.ComplexFloatStorage")) {
            try Self.unpickle(tensor("0", type: "ComplexFloatStorage", numel: 4, offset: 0, size: [4], stride: [1]), storages: storages)
        }
    }

    @Test(arguments: [("os", "system"), ("posix", "system"), ("builtins", "eval"), ("__builtin__", "exec"),
                      ("subprocess", "Popen"), ("numpy.core.multiarray", "_reconstruct"), ("torch", "load"),
                      ("torch._utils", "_rebuild_qtensor"), ("collections", "defaultdict")])
    func everyOtherGlobalIsRefused(module: String, name: String) {
        // GLOBAL, STACK_GLOBAL, and the REDUCE that would call it: the name stops the load before any call.
        let call = global(module, name) + op(.mark) + str("echo pwned") + op(.tuple, .reduce)
        #expect(throws: TorchError.forbiddenGlobal("\(module).\(name)")) { try Self.unpickle(call) }
        let stacked = str(module) + str(name) + op(.stackGlobal)
        #expect(throws: TorchError.forbiddenGlobal("\(module).\(name)")) { try Self.unpickle(stacked) }
    }

    @Test func allowedGlobalsCannotBeMisused() {
        func expectMalformed(_ body: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
            let error = #expect(throws: TorchError.self, sourceLocation: sourceLocation) { try Self.unpickle(body) }
            guard case .malformedPickle = error else {
                Issue.record("expected malformedPickle, got \(String(describing: error))", sourceLocation: sourceLocation)
                return
            }
        }
        let orderedDict = global("collections", "OrderedDict")
        expectMalformed(orderedDict + op(.mark) + op(.emptyList) + op(.tuple, .reduce))    // OrderedDict([...])
        expectMalformed(global("torch", "FloatStorage") + op(.emptyTuple, .reduce))   // calling a storage type
        expectMalformed(orderedDict)                                                        // a class as data
        expectMalformed(global("_codecs", "encode") + str("x") + str("rot13") + op(.tuple2, .reduce))
        expectMalformed(orderedDict + op(.none, .reduce))                                  // REDUCE without a tuple
        expectMalformed(op(.emptyList) + op(.none, .build))                                 // BUILD on a list
        expectMalformed(op(.newTrue) + op(.emptyTuple, .reduce))                            // calling True
        expectMalformed(op(.emptyDict) + op(.none, .append))                                // APPEND to a dict
        expectMalformed(op(.emptyTuple) + op(.none, .none, .setItem))                       // SETITEM on a tuple
        expectMalformed(op(.mark) + str("storage") + op(.tuple, .binPersId))           // a short persistent id
    }

    @Test func malformedStreamsGiveTypedErrors() {
        #expect(throws: TorchError.truncated(offset: 0)) { try Self.raw([]) }
        #expect(throws: TorchError.truncated(offset: 3)) { try Self.raw(Self.proto2 + op(.none)) }        // no STOP
        #expect(throws: TorchError.truncated(offset: 7)) { try Self.raw(Self.proto2 + op(.binUnicode) + le(100, 4)) }
        #expect(throws: TorchError.truncated(offset: 11)) { try Self.raw(Self.proto2 + op(.binBytes8) + le(.max, 8)) }
        #expect(throws: TorchError.truncated(offset: 3)) { try Self.raw(Self.proto2 + op(.binInt)) }
        #expect(throws: TorchError.truncated(offset: 14)) { try Self.raw(Self.proto2 + op(.global) + Array("collections".utf8)) }
        #expect(throws: TorchError.unknownOpcode(0xFF, offset: 2)) { try Self.raw(Self.proto2 + [0xFF]) }
        #expect(throws: TorchError.unknownOpcode(0x49, offset: 2)) { try Self.raw(Self.proto2 + Array("I01\n.".utf8)) }  // text INT
        #expect(throws: TorchError.unsupportedProtocol(6, offset: 0)) { try Self.raw(op(.proto) + [6] + op(.none, .stop)) }
        #expect(throws: TorchError.stackUnderflow(opcode: "stop", offset: 2)) { try Self.raw(Self.proto2 + op(.stop)) }
        #expect(throws: TorchError.stackUnderflow(opcode: "appends", offset: 3)) { try Self.unpickle(op(.emptyList, .appends)) }
        #expect(throws: TorchError.stackUnderflow(opcode: "tuple2", offset: 3)) { try Self.unpickle(op(.none) + op(.tuple2)) }
        // Items below a MARK are out of reach until it is closed.
        #expect(throws: TorchError.stackUnderflow(opcode: "append", offset: 4)) { try Self.unpickle(op(.emptyList, .mark, .append)) }
        #expect(throws: TorchError.stackUnderflow(opcode: "binPut", offset: 2)) { try Self.unpickle(op(.binPut) + [0]) }
        #expect(throws: TorchError.memoMiss(index: 7, offset: 2)) { try Self.unpickle(op(.binGet) + [7]) }
        #expect(throws: TorchError.malformedPickle(offset: 3, reason: "negative length")) {
            try Self.unpickle(op(.none) + op(.binString) + le(UInt64(UInt32(bitPattern: -1)), 4))
        }
        // A list that contains itself.
        let cycle = op(.emptyList) + op(.binPut) + [0] + op(.binGet) + [0] + op(.append)
        #expect(throws: TorchError.malformedPickle(offset: 9, reason: "a container contains itself")) { try Self.unpickle(cycle) }
    }

    /// Nesting far past `maxDepth` is refused, and the stream's containers are flat in the arena,
    /// so neither freezing nor freeing them recurses 200 000 deep.
    @Test func deepNestingIsRefusedWithoutRecursion() {
        let depth = 200_000
        let nested = [UInt8](repeating: Unpickler.Opcode.emptyList.rawValue, count: depth) + [UInt8](repeating: Unpickler.Opcode.append.rawValue, count: depth - 1)
        let error = #expect(throws: TorchError.self) { try Self.unpickle(nested) }
        guard case .tooLarge(_, let reason) = error else { Issue.record("expected .tooLarge, got \(String(describing: error))"); return }
        #expect(reason.contains("deeper than \(Unpickler.maxDepth)"))
        let tuples = op(.none) + [UInt8](repeating: Unpickler.Opcode.tuple1.rawValue, count: depth)
        #expect(throws: TorchError.self) { try Self.unpickle(tuples) }
        let fine = [UInt8](repeating: Unpickler.Opcode.emptyList.rawValue, count: 50) + [UInt8](repeating: Unpickler.Opcode.append.rawValue, count: 49)
        #expect(throws: Never.self) { try Self.unpickle(fine) }
    }

    /// A state dict as torch writes it, then every prefix and many single-byte changes of it: each
    /// loads or throws. (Through the zip the CRC catches most such changes first.)
    @Test func corruptedStreamsNeverCrash() throws {
        let storages: [String: (SafeTensors.DType, [UInt8])] = ["0": (.f32, floats((0..<6).map(Float.init))),
                                                                 "1": (.i64, le(3, 8))]
        let orderedDict = global("collections", "OrderedDict") + op(.binPut) + [0] + op(.emptyTuple, .reduce)
        let body = orderedDict + op(.binPut) + [1] + op(.mark)
            + str("w") + tensor("0", numel: 6, offset: 1, size: [2, 2], stride: [1, 2])
            + str("n") + tensor("1", type: "LongStorage", numel: 1, offset: 0, size: [], stride: [])
            + str("e") + op(.long1) + [2, 0x10, 0x27] + op(.setItems)
            + op(.emptyDict) + str("_metadata") + op(.binGet) + [0] + op(.emptyTuple, .reduce) + op(.setItem, .build)
        let stream = Self.proto2 + body + op(.stop)
        func load(_ stream: [UInt8]) throws(TorchError) -> PickleValue {
            try Unpickler.load(stream, elementBudget: 1 << 16) { request throws(TorchError) in
                guard let (dtype, bytes) = storages[request.key], request.count * dtype.byteSize == bytes.count else {
                    throw .missingRecord(request.key)
                }
                return TorchStorage(key: request.key, dtype: dtype, count: request.count, bytes: Data(bytes))
            }
        }
        #expect(repr(try load(stream)) == "{'w': tensor(F32 [2, 2] [1.0, 3.0, 2.0, 4.0]), 'n': tensor(I64 [] [3.0]), 'e': 10000}")
        for length in 0..<stream.count {
            #expect(throws: TorchError.self) { try load(Array(stream.prefix(length))) }
        }
        var generator = SystemRandomNumberGenerator()
        for position in stream.indices {
            for _ in 0..<4 {
                var corrupted = stream
                corrupted[position] ^= UInt8.random(in: 1...255, using: &generator)
                _ = try? load(corrupted)
            }
        }
    }

    /// One long key set thousands of times costs its length each time; the work budget ends it.
    @Test func repeatedLargeValuesHitTheWorkBudget() {
        let key = str(String(repeating: "k", count: 1 << 16)) + op(.binPut) + [0] + op(.pop)
        let repeats: [UInt8] = (0..<20_000).flatMap { _ in op(.binGet) + [0] + op(.none, .setItem) }
        let body = key + op(.emptyDict) + repeats
        let error = #expect(throws: TorchError.self) { try Self.unpickle(body) }
        guard case .tooLarge = error else { Issue.record("expected .tooLarge, got \(String(describing: error))"); return }
    }
}

// Operand encoders, as pickle writes them.
private func op(_ codes: Unpickler.Opcode...) -> [UInt8] { codes.map(\.rawValue) }
private func le(_ value: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
private func str(_ s: String) -> [UInt8] { op(.binUnicode) + le(UInt64(s.utf8.count), 4) + Array(s.utf8) }
private func int(_ n: Int32) -> [UInt8] { op(.binInt) + le(UInt64(UInt32(bitPattern: n)), 4) }
private func global(_ module: String, _ name: String) -> [UInt8] { op(.global) + Array("\(module)\n\(name)\n".utf8) }

/// `_rebuild_tensor_v2` of storage `key` as torch.save writes it.
private func tensor(_ key: String, type: String = "FloatStorage", numel: Int32, offset: Int32,
                   size: [Int32], stride: [Int32]) -> [UInt8] {
    global("torch._utils", "_rebuild_tensor_v2") + op(.mark)
        + op(.mark) + str("storage") + global("torch", type) + str(key) + str("cpu") + int(numel) + op(.tuple, .binPersId)
        + int(offset) + op(.mark) + size.flatMap(int) + op(.tuple) + op(.mark) + stride.flatMap(int) + op(.tuple)
        + op(.newFalse) + global("collections", "OrderedDict") + op(.emptyTuple, .reduce) + op(.tuple, .reduce)
}

private func floats(_ values: [Float]) -> [UInt8] { values.flatMap { le(UInt64($0.bitPattern), 4) } }

/// A Python-like rendering of a value tree, so that tests compare whole structures in one line.
private func repr(_ value: PickleValue) -> String {
    switch value {
    case .none: "None"
    case .bool(let b): b ? "True" : "False"
    case .int(let n): "\(n)"
    case .bigInt(let bytes): "bigint(" + bytes.prefix(8).map { String(format: "%02x", $0) }.joined()
        + (bytes.count > 8 ? " " + bytes.dropFirst(8).map { String(format: "%02x", $0) }.joined() : "") + ")"
    case .float(let x): "\(x)"
    case .string(let s): "'\(s)'"
    case .bytes(let b): "b\(b)"
    case .tuple(let items): items.count == 1 ? "(\(repr(items[0])),)" : "(" + items.map(repr).joined(separator: ", ") + ")"
    case .list(let items): "[" + items.map(repr).joined(separator: ", ") + "]"
    case .dict(let entries): "{" + entries.map { "\(repr($0.key)): \(repr($0.value))" }.joined(separator: ", ") + "}"
    case .tensor(let t, let dtype): "tensor(\(dtype.rawValue) \(t.shape) \(t.scalars))"
    }
}
