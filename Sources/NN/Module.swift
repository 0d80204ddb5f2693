import Engine

/// The base of every network part: an ordered tree of named parameters, buffers and children.
///
/// Names follow PyTorch's state-dict keys, so `layer1.0.conv1.weight` here is the same tensor as in
/// a PyTorch checkpoint. A module lists its own parameters, then its own buffers, then each child
/// recursively, in registration order — the order PyTorch uses for `state_dict()`.
///
/// Subclasses keep typed stored properties (`weight`, `bias`, child layers) and register each once
/// in `init`, after `super.init()`. Loading a state dict copies values into those same tensors, so
/// the stored properties never go stale.
open class Module {
    /// Whether the module (and, after `train(_:)`, its whole subtree) is in training mode.
    public private(set) var isTraining = true

    private var ownParameters: [(name: String, tensor: Tensor)] = []
    private var ownBuffers: [(name: String, tensor: Tensor, persistent: Bool)] = []
    private var ownChildren: [(name: String, module: Module)] = []

    public init() {}

    // MARK: Registration

    /// Registers a trainable tensor under `name`; it is made to require gradients.
    @discardableResult
    public final func registerParameter(_ name: String, _ tensor: Tensor) -> Tensor {
        checkNewName(name)
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers state that is saved but not trained (running statistics, counters).
    /// A non-persistent buffer is left out of `stateDict()`, as in PyTorch.
    @discardableResult
    public final func registerBuffer(_ name: String, _ tensor: Tensor, persistent: Bool = true) -> Tensor {
        checkNewName(name)
        tensor.requiresGrad = false
        ownBuffers.append((name, tensor, persistent))
        return tensor
    }

    /// Registers a child whose keys are prefixed with `name.`.
    @discardableResult
    public final func registerModule<M: Module>(_ name: String, _ module: M) -> M {
        checkNewName(name)
        ensure(module !== self, "registerModule: a module cannot be its own child")
        ownChildren.append((name, module))
        return module
    }

    private func checkNewName(_ name: String) {
        ensure(!name.isEmpty && !name.contains("."), "\(type(of: self)): invalid name \"\(name)\" (empty or contains '.')")
        let taken = ownParameters.contains { $0.name == name } || ownBuffers.contains { $0.name == name }
            || ownChildren.contains { $0.name == name }
        ensure(!taken, "\(type(of: self)): \"\(name)\" is already registered")
    }

    // MARK: Traversal

    /// Direct children, in registration order.
    public final func namedChildren() -> [(String, Module)] { ownChildren.map { ($0.name, $0.module) } }

    /// This module (named "") and every descendant, depth first, parents before children.
    public final func namedModules() -> [(String, Module)] {
        var out: [(String, Module)] = [("", self)]
        for (name, child) in ownChildren {
            out += child.namedModules().map { (join(name, $0.0), $0.1) }
        }
        return out
    }

    /// Every parameter with its full key. A tensor shared by two modules is listed once, under its first key.
    public final func namedParameters() -> [(String, Tensor)] {
        var seen = Set<ObjectIdentifier>()
        var out: [(String, Tensor)] = []
        for (prefix, module) in namedModules() {
            for (name, t) in module.ownParameters where seen.insert(ObjectIdentifier(t)).inserted {
                out.append((join(prefix, name), t))
            }
        }
        return out
    }

    public final func parameters() -> [Tensor] { namedParameters().map { $0.1 } }

    /// Every buffer (persistent or not) with its full key.
    public final func namedBuffers() -> [(String, Tensor)] {
        namedModules().flatMap { prefix, module in module.ownBuffers.map { (join(prefix, $0.name), $0.tensor) } }
    }

    /// Parameters and persistent buffers, keyed and ordered as PyTorch's `state_dict()`.
    /// The tensors are the module's own (not copies): copy them before mutating.
    public final func stateDict() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        appendState(prefix: "", to: &out)
        return out
    }

    private func appendState(prefix: String, to out: inout [(String, Tensor)]) {
        for (name, t) in ownParameters { out.append((join(prefix, name), t)) }
        for (name, t, persistent) in ownBuffers where persistent { out.append((join(prefix, name), t)) }
        for (name, child) in ownChildren { child.appendState(prefix: join(prefix, name), to: &out) }
    }

    // MARK: Modes

    /// Sets training mode on this module and all descendants. Returns self for chaining.
    @discardableResult
    open func train(_ mode: Bool = true) -> Self {
        isTraining = mode
        for (_, child) in ownChildren { child.train(mode) }
        return self
    }

    /// Inference mode: batch norm uses running statistics, dropout is the identity.
    @discardableResult
    public final func eval() -> Self { train(false) }

    /// Drops the gradients of every parameter (PyTorch's `zero_grad(set_to_none=True)`).
    public final func zeroGrad() {
        for p in parameters() { p.grad = nil }
    }

    // MARK: Loading

    /// Copies `dict`'s values into this module's tensors.
    ///
    /// Everything is checked before anything is copied, so a failed load leaves the module as it was.
    /// With `strict`, every key must match exactly; without it, missing and unexpected keys are
    /// ignored. A shape mismatch is an error either way. Missing keys are reported in state-dict
    /// order, unexpected keys in sorted order.
    public final func loadStateDict(_ dict: [String: Tensor], strict: Bool = true) throws(StateDictError) {
        try loadAdapted(adaptStateDict(dict), strict: strict)
    }

    /// `loadStateDict` of a dict that `adaptStateDict` has already seen.
    final func loadAdapted(_ dict: [String: Tensor], strict: Bool) throws(StateDictError) {
        let own = stateDict()
        let optional = optionalStateKeys()
        var matched: [(key: String, target: Tensor, source: Tensor)] = []
        for (key, target) in own {
            guard let source = dict[key] else {
                if strict && !optional.contains(key) { throw .missingKey(key) }
                continue
            }
            guard source.shape == target.shape else {
                throw .shapeMismatch(key: key, expected: target.shape, found: source.shape)
            }
            matched.append((key, target, source))
        }
        if strict {
            let known = Set(own.map { $0.0 })
            if let extra = dict.keys.filter({ !known.contains($0) }).sorted().first { throw .unexpectedKey(extra) }
        }
        // A NaN or an infinity would only surface later, as every prediction failing.
        for (key, _, source) in matched {
            let values = UnsafeBufferPointer(start: source.data, count: source.count)
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFinite(key: key, index: index, value: values[index])
            }
        }
        for (_, target, source) in matched where target !== source { target.assign(source) }
    }

    /// Rewrites a state dict for this module before `loadStateDict` checks it: a model whose weights
    /// may come from another configuration converts them here (TimeSformer resamples its position
    /// embeddings to its own grid and frame count). Only the module that loads runs its hook; the
    /// default returns the dict unchanged.
    open func adaptStateDict(_ dict: [String: Tensor]) -> [String: Tensor] { dict }

    /// Local state keys that older checkpoints may lack (PyTorch's BatchNorm before
    /// `num_batches_tracked`); a strict load keeps the current value when one is missing.
    open var legacyOptionalKeys: [String] { [] }

    private func optionalStateKeys() -> Set<String> {
        var keys = Set<String>()
        for (prefix, module) in namedModules() {
            for name in module.legacyOptionalKeys { keys.insert(join(prefix, name)) }
        }
        return keys
    }

    /// Loads an ordered state dict (as returned by `stateDict()` or read from a checkpoint).
    public final func loadStateDict(_ entries: [(String, Tensor)], strict: Bool = true) throws(StateDictError) {
        var dict: [String: Tensor] = [:]
        for (key, t) in entries {
            guard dict.updateValue(t, forKey: key) == nil else { throw .duplicateKey(key) }
        }
        try loadStateDict(dict, strict: strict)
    }
}

private func join(_ prefix: String, _ name: String) -> String {
    prefix.isEmpty ? name : name.isEmpty ? prefix : "\(prefix).\(name)"
}

/// Why a state dict could not be loaded; each case names the offending key.
public enum StateDictError: Error, Equatable, CustomStringConvertible {
    /// The module has this key and the dict does not.
    case missingKey(String)
    /// The dict has this key and the module does not.
    case unexpectedKey(String)
    /// Both have the key with different shapes: `expected` is the module's, `found` the dict's.
    case shapeMismatch(key: String, expected: [Int], found: [Int])
    /// An ordered state dict lists this key twice.
    case duplicateKey(String)
    /// The tensor under `key` holds a NaN or an infinity at flat `index`.
    case nonFinite(key: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case .missingKey(let key): "missing key \"\(key)\" in state dict"
        case .unexpectedKey(let key): "unexpected key \"\(key)\" in state dict"
        case .shapeMismatch(let key, let expected, let found):
            "shape mismatch for \"\(key)\": the module has \(expected), the state dict has \(found)"
        case .duplicateKey(let key): "key \"\(key)\" appears twice in state dict"
        case .nonFinite(let key, let index, let value): "\"\(key)\" holds \(value) at element \(index): the weights are not usable"
        }
    }
}

/// A module with one tensor in and one tensor out, callable as `layer(x)`.
/// Subclasses override `forward(_:)`.
open class Layer: Module {
    open func forward(_ x: Tensor) -> Tensor {
        fatalError("\(type(of: self)) must override forward(_:)")
    }

    public final func callAsFunction(_ x: Tensor) -> Tensor { forward(x) }
}
