import Engine

/// A value unpickled from a `torch.save` file: the Python data types a checkpoint holds, with
/// tensors already read. Nothing else can appear, because the unpickler refuses every other type.
///
/// Containers are plain values: shared references in the pickle (two keys naming one tensor) come
/// out as two equal values, and a tensor shared that way is the same `Tensor` object.
public enum PickleValue: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer outside `Int`, as pickled: little-endian two's complement, shortest form.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    /// A `dict` or `collections.OrderedDict`, in insertion order.
    case dict([(key: PickleValue, value: PickleValue)])
    /// A tensor (or `nn.Parameter`) as Float32; `dtype` is the element type in the file.
    case tensor(Tensor, dtype: SafeTensors.DType)

    /// The value of a dict entry with a string key, if this is a dict that has one.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let entries) = self else { return nil }
        for (k, v) in entries {
            if case .string(key) = k { return v }
        }
        return nil
    }

    public var tensor: Tensor? {
        if case .tensor(let t, _) = self { t } else { nil }
    }

    public var int: Int? {
        if case .int(let n) = self { n } else { nil }
    }

    public var string: String? {
        if case .string(let s) = self { s } else { nil }
    }
}
