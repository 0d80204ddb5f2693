import Engine

/// The only globals a checkpoint may name, each with the effect the unpickler gives it. Nothing
/// here is looked up in Python: a name is either one of these cases or refused.
enum TorchGlobal {
    /// `collections.OrderedDict`: state dicts and backward-hook placeholders.
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    case rebuildTensor
    /// `torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`, and `_with_state` (one more argument).
    case rebuildParameter(withState: Bool)
    /// `_codecs.encode(text, "latin1")`: how protocol 2 pickles `bytes`.
    case codecsEncode
    /// `bytes()` with no arguments: how protocol 2 pickles `b""`.
    case emptyBytes
    /// `torch.FloatStorage` and friends: only as the type in a persistent id.
    case storage(SafeTensors.DType, name: String)

    static let storageTypes: [String: SafeTensors.DType] = [
        "FloatStorage": .f32, "DoubleStorage": .f64, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// The allowed global `module.name`, or `.forbiddenGlobal` naming it as pickled.
    static func resolve(module: String, name: String) throws(TorchError) -> TorchGlobal {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter(withState: false)
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameter(withState: true)
        case ("_codecs", "encode"): return .codecsEncode
        case ("__builtin__", "bytes"), ("builtins", "bytes"): return .emptyBytes
        case ("torch", _):
            if let dtype = storageTypes[name] { return .storage(dtype, name: name) }
        default: break
        }
        throw .forbiddenGlobal("\(module).\(name)")
    }

    var name: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensor: "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter(false): "torch._utils._rebuild_parameter"
        case .rebuildParameter(true): "torch._utils._rebuild_parameter_with_state"
        case .codecsEncode: "_codecs.encode"
        case .emptyBytes: "bytes"
        case .storage(_, let name): "torch.\(name)"
        }
    }
}

extension Unpickler {
    /// REDUCE: `callable(*arguments)` for the allowed callables, checked argument by argument.
    mutating func call(_ callable: Item, _ arguments: [Item]) throws(TorchError) -> Item {
        guard case .global(let global) = callable else { throw malformed("REDUCE calls something that is not a class or function") }
        switch global {
        case .orderedDict:
            guard arguments.isEmpty else { throw malformed("OrderedDict is called with arguments") }
            return makeNode(.dict)
        case .emptyBytes:
            guard arguments.isEmpty else { throw malformed("bytes is called with arguments") }
            return .bytes([])
        case .codecsEncode:
            guard arguments.count == 2, case .string(let text) = arguments[0], case .string(let encoding) = arguments[1],
                  encoding == "latin1" || encoding == "latin-1" else {
                throw malformed("_codecs.encode needs a string and \"latin1\"")
            }
            try charge(text.utf8.count)
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                guard scalar.value <= 0xFF else { throw malformed("_codecs.encode of a character outside latin1") }
                bytes.append(UInt8(scalar.value))
            }
            return .bytes(bytes)
        case .rebuildTensor:
            return try rebuildTensor(arguments)
        case .rebuildParameter(let withState):
            // A parameter is its tensor: requires_grad and hooks do not survive into Motive, and
            // the state (Python attributes set on the parameter) is dropped with them.
            guard arguments.count == (withState ? 4 : 3), case .tensor = arguments[0], case .bool = arguments[1],
                  kind(of: arguments[2]) == .dict else {
                throw malformed("\(global.name) arguments are not (tensor, requires_grad, hooks\(withState ? ", state" : ""))")
            }
            return arguments[0]
        case .storage:
            throw malformed("\(global.name) is called; it may only name a persistent id's storage type")
        }
    }

    /// NEWOBJ(_EX): `cls.__new__(cls, *arguments)`, which only an empty OrderedDict may use.
    mutating func instantiate(_ type: Item, _ arguments: [Item], keywords: Item?) throws(TorchError) -> Item {
        var noKeywords = true
        if let keywords {
            if case .node(let index) = keywords, nodes[index].kind == .dict { noKeywords = nodes[index].keys.isEmpty } else { noKeywords = false }
        }
        guard case .global(.orderedDict) = type, arguments.isEmpty, noKeywords else {
            throw malformed("NEWOBJ of something other than an empty OrderedDict")
        }
        return makeNode(.dict)
    }

    /// BUILD: OrderedDict's reduce hands its instance attributes here. A state dict's one attribute
    /// is `_metadata` (module versions), which Motive has no use for, so it is checked and dropped.
    func build(_ target: Item, state: Item) throws(TorchError) {
        guard kind(of: target) == .dict else { throw malformed("BUILD sets state on something other than an OrderedDict") }
        switch state {
        case .none, .node: break
        default: throw malformed("BUILD with a state that is neither a dict nor a tuple")
        }
    }

    /// `_rebuild_tensor_v2`: a strided view of a storage, copied out as a contiguous Float32 tensor.
    private mutating func rebuildTensor(_ arguments: [Item]) throws(TorchError) -> Item {
        guard arguments.count == 6 || arguments.count == 7,
              case .storage(let storage) = arguments[0], case .int(let offset) = arguments[1],
              let shape = integers(arguments[2]), let strides = integers(arguments[3]),
              case .bool = arguments[4], kind(of: arguments[5]) == .dict else {
            throw malformed("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, requires_grad, hooks[, metadata])")
        }
        // One long size tuple fetched from the memo for call after call would otherwise be free.
        try charge(shape.count + strides.count)
        switch viewElementCount(storageCount: storage.count, offset: offset, shape: shape, strides: strides) {
        case .failure(.malformed(let reason)): throw malformed("storage \"\(storage.key)\": \(reason)")
        case .failure(.tooLarge(let reason)): throw .tooLarge(offset: opcodeStart, reason: reason)
        case .success(let count):
            try chargeElements(count)
            return .tensor(storage.gather(offset: offset, shape: shape, strides: strides, count: count), storage.dtype)
        }
    }

    /// The elements of a tuple of ints (a size or a stride), or nil.
    private func integers(_ item: Item) -> [Int]? {
        guard let items = try? tupleItems(item, for: "") else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .int(let n) = item else { return nil }
            result.append(n)
        }
        return result
    }
}
