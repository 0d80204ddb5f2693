import Engine
import Foundation

/// A restricted unpickler for what `torch.save` writes: Python's pickle stack machine with the
/// opcodes of protocols 2 to 5 that data (not code) needs, and a fixed allowlist of globals
/// (`TorchGlobal`). It never imports or calls anything: allowed globals are Swift cases, and any
/// other name stops the load with `.forbiddenGlobal`.
///
/// Every opcode consumes at least one byte and all work is linear in the input or charged to a
/// budget, so a hostile stream ends in a typed error, not a hang, a trap or a huge allocation.
/// Containers live in an arena (`nodes`) and refer to one another by index: a deeply nested or
/// self-referencing stream builds flat arrays, and only the final tree (`freeze`) is recursive,
/// up to `maxDepth`.
package struct Unpickler {
    /// Deeper containers are refused; checkpoints nest about five levels.
    static let maxDepth = 100

    /// Reads one persistent-id storage record; errors pass through unchanged.
    typealias StorageLoader = (StorageRequest) throws(TorchError) -> TorchStorage

    private let code: [UInt8]
    private var position = 0
    /// Where the current opcode starts, for error offsets.
    private(set) var opcodeStart = 0
    private var stack: [Item] = []
    /// Stack heights at each open MARK.
    private var marks: [Int] = []
    private var memo: [Int: Item] = [:]
    private(set) var nodes: [Node] = []
    private let loadStorage: StorageLoader
    /// Float32 elements the tensors may still hold; see `TorchCheckpoint`.
    private var elementBudget: Int
    /// Bytes hashed, encoded or frozen so far may not pass this, so repeated references to one
    /// long value cannot turn a small file into hours of work.
    private var workBudget: Int

    /// Runs `code` to its STOP and returns the value it built.
    static func load(_ code: [UInt8], elementBudget: Int,
                     storages: @escaping StorageLoader) throws(TorchError) -> PickleValue {
        var machine = Unpickler(code: code, loadStorage: storages, elementBudget: elementBudget,
                                workBudget: 16 * code.count + (1 << 20))
        let result = try machine.run()
        var frozen: [Int: PickleValue] = [:]
        var open = Set<Int>()
        return try machine.freeze(result, depth: 0, frozen: &frozen, open: &open)
    }

    private mutating func run() throws(TorchError) -> Item {
        while true {
            opcodeStart = position
            let byte = try readByte()
            guard let op = Opcode(rawValue: byte) else { throw .unknownOpcode(byte, offset: opcodeStart) }
            switch op {
            case .stop: return try pop(op)
            case .proto:
                let version = Int(try readByte())
                guard (2...5).contains(version) else { throw .unsupportedProtocol(version, offset: opcodeStart) }
            case .frame: _ = try read(8)  // framing only groups opcodes; the bytes follow inline
            case .mark: marks.append(stack.count)
            case .pop:
                if stack.count > (marks.last ?? 0) { stack.removeLast() } else { _ = try popToMark(op) }
            case .popMark: _ = try popToMark(op)
            case .dup: stack.append(try top(op))

            case .none: stack.append(.none)
            case .newTrue: stack.append(.bool(true))
            case .newFalse: stack.append(.bool(false))
            case .binInt: stack.append(.int(Int(Int32(truncatingIfNeeded: try readUInt(4)))))
            case .binInt1: stack.append(.int(Int(try readUInt(1))))
            case .binInt2: stack.append(.int(Int(try readUInt(2))))
            case .long1: stack.append(Self.integer(try read(Int(try readUInt(1)))))
            case .long4: stack.append(Self.integer(try read(try readLength(4, signed: true))))
            case .binFloat: stack.append(.float(Double(bitPattern: UInt64(bigEndianBytes: try read(8)))))

            case .binUnicode: stack.append(.string(try text(read(try readLength(4)))))
            case .shortBinUnicode: stack.append(.string(try text(read(Int(try readUInt(1))))))
            case .binUnicode8: stack.append(.string(try text(read(try readLength(8)))))
            // Python 2 str: torch.load decodes it as UTF-8, and so do we.
            case .shortBinString: stack.append(.string(try text(read(Int(try readUInt(1))))))
            case .binString: stack.append(.string(try text(read(try readLength(4, signed: true)))))
            case .shortBinBytes: stack.append(.bytes(Array(try read(Int(try readUInt(1))))))
            case .binBytes: stack.append(.bytes(Array(try read(try readLength(4)))))
            case .binBytes8: stack.append(.bytes(Array(try read(try readLength(8)))))

            case .emptyList: stack.append(makeNode(.list))
            case .emptyDict: stack.append(makeNode(.dict))
            case .emptyTuple: stack.append(makeNode(.tuple))
            case .tuple1, .tuple2, .tuple3:
                let n = Int(op.rawValue - Opcode.tuple1.rawValue) + 1
                guard stack.count - (marks.last ?? 0) >= n else { throw underflow(op) }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(makeNode(.tuple, items))
            case .tuple: stack.append(makeNode(.tuple, try popToMark(op)))
            case .list: stack.append(makeNode(.list, try popToMark(op)))
            case .dict:
                let node = makeNode(.dict)
                try setItems(try popToMark(op), in: node)
                stack.append(node)
            case .append:
                let value = try pop(op)
                try append([value], to: try top(op))
            case .appends:
                let values = try popToMark(op)
                try append(values, to: try top(op))
            case .setItem:
                let value = try pop(op)
                let key = try pop(op)
                try setItems([key, value], in: try top(op))
            case .setItems:
                let items = try popToMark(op)
                try setItems(items, in: try top(op))

            case .binPut: memo[Int(try readUInt(1))] = try top(op)
            case .longBinPut: memo[Int(try readUInt(4))] = try top(op)
            case .memoize: memo[memo.count] = try top(op)
            case .binGet: try get(Int(try readUInt(1)))
            case .longBinGet: try get(Int(try readUInt(4)))

            case .global:
                let module = try text(readLine())
                let name = try text(readLine())
                stack.append(.global(try TorchGlobal.resolve(module: module, name: name)))
            case .stackGlobal:
                let name = try pop(op)
                let module = try pop(op)
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw malformed("STACK_GLOBAL needs two strings")
                }
                stack.append(.global(try TorchGlobal.resolve(module: m, name: n)))
            case .reduce:
                let arguments = try pop(op)
                let callable = try pop(op)
                stack.append(try call(callable, try tupleItems(arguments, for: "REDUCE")))
            case .newObj:
                let arguments = try pop(op)
                let type = try pop(op)
                stack.append(try instantiate(type, try tupleItems(arguments, for: "NEWOBJ"), keywords: nil))
            case .newObjEx:
                let keywords = try pop(op)
                let arguments = try pop(op)
                let type = try pop(op)
                stack.append(try instantiate(type, try tupleItems(arguments, for: "NEWOBJ_EX"), keywords: keywords))
            case .build:
                let state = try pop(op)
                try build(try top(op), state: state)
            case .binPersId:
                stack.append(.storage(try persistentLoad(try pop(op))))
            }
        }
    }

    // MARK: Reading operands

    private mutating func readByte() throws(TorchError) -> UInt8 {
        guard position < code.count else { throw .truncated(offset: position) }
        defer { position += 1 }
        return code[position]
    }

    private mutating func read(_ count: Int) throws(TorchError) -> ArraySlice<UInt8> {
        guard count >= 0 else { throw malformed("negative length \(count)") }
        guard count <= code.count - position else { throw .truncated(offset: code.count) }
        defer { position += count }
        return code[position..<(position + count)]
    }

    /// An unsigned little-endian integer of `width` bytes (at most 8).
    private mutating func readUInt(_ width: Int) throws(TorchError) -> UInt64 {
        var value: UInt64 = 0
        for (i, byte) in try read(width).enumerated() { value |= UInt64(byte) << (8 * i) }
        return value
    }

    /// A length operand, checked against the bytes left so that no read runs past the end.
    private mutating func readLength(_ width: Int, signed: Bool = false) throws(TorchError) -> Int {
        let raw = try readUInt(width)
        if signed, width == 4, Int32(truncatingIfNeeded: raw) < 0 { throw malformed("negative length") }
        guard raw <= UInt64(code.count - position) else { throw .truncated(offset: code.count) }
        return Int(raw)
    }

    private mutating func readLine() throws(TorchError) -> ArraySlice<UInt8> {
        guard let end = code[position...].firstIndex(of: UInt8(ascii: "\n")) else { throw .truncated(offset: code.count) }
        defer { position = end + 1 }
        return code[position..<end]
    }

    private func text(_ bytes: ArraySlice<UInt8>) throws(TorchError) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else { throw malformed("a string is not valid UTF-8") }
        return string
    }

    /// LONG1/LONG4 operands: little-endian two's complement; `Int` when it fits.
    private static func integer(_ bytes: ArraySlice<UInt8>) -> Item {
        var bytes = Array(bytes)
        // Drop sign-extension bytes the value does not need.
        while bytes.count > 1,
              let last = bytes.last, last == 0x00 || last == 0xFF,
              (bytes[bytes.count - 2] & 0x80 != 0) == (last == 0xFF) {
            bytes.removeLast()
        }
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        guard let last = bytes.last else { return .int(0) }
        var value: UInt64 = last & 0x80 != 0 ? .max : 0
        for (i, byte) in bytes.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * i))
            value |= UInt64(byte) << (8 * i)
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    // MARK: The stack and the memo

    /// Items above the innermost MARK are the only ones an opcode may take, as in Python.
    private mutating func pop(_ op: Opcode) throws(TorchError) -> Item {
        guard stack.count > (marks.last ?? 0) else { throw underflow(op) }
        return stack.removeLast()
    }

    private func top(_ op: Opcode) throws(TorchError) -> Item {
        guard stack.count > (marks.last ?? 0), let item = stack.last else { throw underflow(op) }
        return item
    }

    private mutating func popToMark(_ op: Opcode) throws(TorchError) -> [Item] {
        guard let mark = marks.popLast() else { throw underflow(op) }
        defer { stack.removeLast(stack.count - mark) }
        return Array(stack[mark...])
    }

    private mutating func get(_ index: Int) throws(TorchError) {
        guard let item = memo[index] else { throw .memoMiss(index: index, offset: opcodeStart) }
        stack.append(item)
    }

    func underflow(_ op: Opcode) -> TorchError { .stackUnderflow(opcode: "\(op)", offset: opcodeStart) }

    func malformed(_ reason: String) -> TorchError { .malformedPickle(offset: opcodeStart, reason: reason) }

    mutating func charge(_ work: Int) throws(TorchError) {
        workBudget -= work
        guard workBudget >= 0 else { throw .tooLarge(offset: opcodeStart, reason: "the stream repeats large values too often") }
    }

    mutating func chargeElements(_ count: Int) throws(TorchError) {
        elementBudget -= count
        guard elementBudget >= 0 else {
            throw .tooLarge(offset: opcodeStart, reason: "the tensors hold far more elements than the file has bytes for")
        }
    }

    // MARK: Containers

    mutating func makeNode(_ kind: Node.Kind, _ values: [Item] = []) -> Item {
        nodes.append(Node(kind: kind, values: values))
        return .node(nodes.count - 1)
    }

    func kind(of item: Item) -> Node.Kind? {
        if case .node(let index) = item { nodes[index].kind } else { nil }
    }

    private mutating func append(_ values: [Item], to target: Item) throws(TorchError) {
        guard case .node(let index) = target, nodes[index].kind == .list else { throw malformed("APPEND to something not a list") }
        nodes[index].values += values
    }

    /// Python dict semantics: a repeated key keeps its first position and takes the last value.
    private mutating func setItems(_ items: [Item], in target: Item) throws(TorchError) {
        guard case .node(let index) = target, nodes[index].kind == .dict else { throw malformed("SETITEM on something not a dict") }
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items") }
        for pair in stride(from: 0, to: items.count, by: 2) {
            let (key, value) = (items[pair], items[pair + 1])
            let hashable = try dictKey(key)
            if let existing = nodes[index].positions[hashable] {
                nodes[index].values[existing] = value
            } else {
                nodes[index].positions[hashable] = nodes[index].keys.count
                nodes[index].keys.append(key)
                nodes[index].values.append(value)
            }
        }
    }

    /// Python's equality for the keys a checkpoint can hold (True == 1 == 1.0). Tuples and tensors
    /// compare by identity, which is stricter than Python for tuples; lists and dicts are unhashable.
    private mutating func dictKey(_ item: Item) throws(TorchError) -> DictKey {
        switch item {
        case .none: return .none
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let n): return .int(n)
        case .bigInt(let bytes): return .bigInt(bytes)
        case .float(let x):
            if x == x.rounded(), let n = Int(exactly: x) { return .int(n) }
            return .float(x.bitPattern)
        case .string(let s):
            try charge(s.utf8.count)
            return .string(s)
        case .bytes(let b):
            try charge(b.count)
            return .bytes(b)
        case .node(let index):
            guard nodes[index].kind == .tuple else { throw malformed("a list or dict used as a dict key") }
            return .node(index)
        case .tensor(let t, _): return .object(ObjectIdentifier(t))
        case .storage, .global: throw malformed("a storage or class used as a dict key")
        }
    }

    func tupleItems(_ item: Item, for opcode: String) throws(TorchError) -> [Item] {
        guard case .node(let index) = item, nodes[index].kind == .tuple else { throw malformed("\(opcode) arguments are not a tuple") }
        return nodes[index].values
    }

    // MARK: The value tree

    /// The tree under `item`. Shared containers are frozen once (`frozen`); a container met again
    /// while its own freeze is `open` contains itself, which no state dict does.
    private mutating func freeze(_ item: Item, depth: Int, frozen: inout [Int: PickleValue],
                                 open: inout Set<Int>) throws(TorchError) -> PickleValue {
        opcodeStart = position
        try charge(1)
        switch item {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let n): return .int(n)
        case .bigInt(let bytes): return .bigInt(bytes)
        case .float(let x): return .float(x)
        case .string(let s): return .string(s)
        case .bytes(let b): return .bytes(b)
        case .tensor(let t, let dtype): return .tensor(t, dtype: dtype)
        case .storage(let storage):
            // A bare storage (torch.save(tensor.storage())) reads as the 1-D tensor of all of it.
            try chargeElements(storage.count)
            return .tensor(storage.gather(offset: 0, shape: [storage.count], strides: [1], count: storage.count),
                           dtype: storage.dtype)
        case .global(let global): throw malformed("\(global.name) appears as data; only its results can")
        case .node(let index):
            if let done = frozen[index] { return done }
            guard depth < Self.maxDepth else {
                throw .tooLarge(offset: position, reason: "containers nest deeper than \(Self.maxDepth) levels")
            }
            guard open.insert(index).inserted else { throw malformed("a container contains itself") }
            let node = nodes[index]
            var values: [PickleValue] = []
            values.reserveCapacity(node.values.count)
            for value in node.values { values.append(try freeze(value, depth: depth + 1, frozen: &frozen, open: &open)) }
            let result: PickleValue
            switch node.kind {
            case .list: result = .list(values)
            case .tuple: result = .tuple(values)
            case .dict:
                var entries: [(key: PickleValue, value: PickleValue)] = []
                entries.reserveCapacity(values.count)
                for (key, value) in zip(node.keys, values) {
                    entries.append((try freeze(key, depth: depth + 1, frozen: &frozen, open: &open), value))
                }
                result = .dict(entries)
            }
            open.remove(index)
            frozen[index] = result
            return result
        }
    }
}

extension Unpickler {
    init(code: [UInt8], loadStorage: @escaping StorageLoader, elementBudget: Int, workBudget: Int) {
        self.code = code
        self.loadStorage = loadStorage
        self.elementBudget = elementBudget
        self.workBudget = workBudget
    }

    /// Turns a persistent id into the storage record it names.
    mutating func persistentLoad(_ pid: Item) throws(TorchError) -> TorchStorage {
        let items = try tupleItems(pid, for: "BINPERSID")
        guard items.count == 5, case .string("storage") = items[0], case .global(.storage(let dtype, let typeName)) = items[1],
              case .string(let key) = items[2], case .string = items[3], case .int(let count) = items[4], count >= 0 else {
            throw malformed("a persistent id that is not (\"storage\", <torch storage type>, key, location, numel)")
        }
        return try loadStorage(StorageRequest(key: key, typeName: typeName, dtype: dtype, count: count))
    }
}

extension Unpickler {
    /// A value on the stack or in the memo. Containers are indices into `nodes`, so items never nest.
    enum Item {
        case none
        case bool(Bool)
        case int(Int)
        case bigInt([UInt8])
        case float(Double)
        case string(String)
        case bytes([UInt8])
        case node(Int)
        case global(TorchGlobal)
        case storage(TorchStorage)
        case tensor(Tensor, SafeTensors.DType)
    }

    /// A list, tuple or dict under construction. A dict's keys and values are parallel arrays.
    struct Node {
        enum Kind { case list, tuple, dict }
        let kind: Kind
        var values: [Item]
        var keys: [Item] = []
        var positions: [DictKey: Int] = [:]
    }

    enum DictKey: Hashable {
        case none
        case int(Int)
        case bigInt([UInt8])
        case float(UInt64)
        case string(String)
        case bytes([UInt8])
        case node(Int)
        case object(ObjectIdentifier)
    }

    /// The opcodes the unpickler runs, named as in Python's pickletools (camel-cased).
    enum Opcode: UInt8 {
        case proto = 0x80, frame = 0x95, stop = 0x2E
        case mark = 0x28, pop = 0x30, popMark = 0x31, dup = 0x32
        case none = 0x4E, newTrue = 0x88, newFalse = 0x89
        case binInt = 0x4A, binInt1 = 0x4B, binInt2 = 0x4D, long1 = 0x8A, long4 = 0x8B
        case binFloat = 0x47
        case binUnicode = 0x58, shortBinUnicode = 0x8C, binUnicode8 = 0x8D
        case shortBinString = 0x55, binString = 0x54
        case binBytes = 0x42, shortBinBytes = 0x43, binBytes8 = 0x8E
        case emptyList = 0x5D, emptyDict = 0x7D, emptyTuple = 0x29
        case tuple1 = 0x85, tuple2 = 0x86, tuple3 = 0x87, tuple = 0x74
        case list = 0x6C, dict = 0x64
        case append = 0x61, appends = 0x65, setItem = 0x73, setItems = 0x75
        case binPut = 0x71, longBinPut = 0x72, memoize = 0x94
        case binGet = 0x68, longBinGet = 0x6A
        case global = 0x63, stackGlobal = 0x93
        case reduce = 0x52, build = 0x62, newObj = 0x81, newObjEx = 0x92
        case binPersId = 0x51
    }
}

private extension UInt64 {
    init(bigEndianBytes bytes: ArraySlice<UInt8>) {
        self = bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Unpickler {
    /// Runs a bare pickle whose storages all read as zeros, within the element budget a file of
    /// the pickle's size would get and at most that many bytes of storage in all (as if the file
    /// held them): the unpickler on its own, for the fuzz target and tests.
    package static func load(_ code: [UInt8]) throws(TorchError) -> PickleValue {
        let budget = TorchCheckpoint.elementBudget(fileSize: code.count)
        var loaded: [String: Data] = [:]
        var total = 0
        return try load(code, elementBudget: budget) { request throws(TorchError) -> TorchStorage in
            let (size, overflow) = request.count.multipliedReportingOverflow(by: request.dtype.byteSize)
            let bytes: Data
            if let cached = loaded[request.key] {
                bytes = cached
            } else {
                guard !overflow, size <= budget - total else {
                    throw .storageSize(key: request.key, storage: request.typeName, expected: overflow ? .max : size,
                                       found: max(budget - total, 0))
                }
                bytes = Data(count: size)
                loaded[request.key] = bytes
                total += size
            }
            guard bytes.count == size, !overflow else {
                throw .storageSize(key: request.key, storage: request.typeName, expected: overflow ? .max : size,
                                   found: bytes.count)
            }
            return TorchStorage(key: request.key, dtype: request.dtype, count: request.count, bytes: bytes)
        }
    }
}
