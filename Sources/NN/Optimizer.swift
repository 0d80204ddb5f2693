import Engine

/// Updates named parameters from their gradients.
///
/// Optimizer state is keyed by parameter name (`layer1.0.conv1.weight.momentum_buffer`), so a
/// checkpoint of it survives a change in parameter order and reads like a model state dict.
public protocol Optimizer: AnyObject {
    /// The learning rate of the next `step()`; a schedule sets it between steps.
    var learningRate: Float { get set }
    var parameters: [(name: String, tensor: Tensor)] { get }

    /// Applies one update to every parameter that has a gradient; parameters without one are skipped.
    func step()
    /// The per-parameter state, named `<parameter>.<slot>`.
    func stateDict() -> [(String, Tensor)]
    /// Replaces the state with `dict`'s. A parameter whose slots are absent starts afresh.
    func loadStateDict(_ dict: [String: Tensor]) throws(StateDictError)
}

extension Optimizer {
    /// Drops every parameter's gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() {
        for p in parameters { p.tensor.grad = nil }
    }

    /// Loads an ordered state (as returned by `stateDict()`).
    public func loadStateDict(_ entries: [(String, Tensor)]) throws(StateDictError) {
        var dict: [String: Tensor] = [:]
        for (key, t) in entries {
            guard dict.updateValue(t, forKey: key) == nil else { throw .duplicateKey(key) }
        }
        try loadStateDict(dict)
    }
}

/// Which parameters get weight decay.
public enum DecayPolicy: String, Codable, Sendable {
    /// Every parameter.
    case all
    /// Only parameters of rank ≥ 2: norm scales and biases (rank ≤ 1) are not decayed.
    case excludeNormAndBias

    func decays(_ t: Tensor) -> Bool { self == .all || t.rank >= 2 }
}

/// Per-parameter slots (momentum, moments, step counts) and their loading, shared by the optimizers.
struct SlotTable {
    let parameterNames: [String]
    let slotNames: [String]
    /// slots[parameter][slot]; nil until the parameter's first update.
    var slots: [[Tensor]?]

    init(parameterNames: [String], slotNames: [String]) {
        ensure(Set(parameterNames).count == parameterNames.count, "Optimizer: duplicate parameter names")
        self.parameterNames = parameterNames
        self.slotNames = slotNames
        slots = Array(repeating: nil, count: parameterNames.count)
    }

    func stateDict() -> [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (name, tensors) in zip(parameterNames, slots) {
            guard let tensors else { continue }
            for (slot, t) in zip(slotNames, tensors) { out.append(("\(name).\(slot)", t)) }
        }
        return out
    }

    /// `shapes[i]` lists the shape of each slot of parameter i.
    mutating func load(_ dict: [String: Tensor], shapes: [[[Int]]]) throws(StateDictError) {
        var loaded: [[Tensor]?] = []
        var known = Set<String>()
        for (i, name) in parameterNames.enumerated() {
            let keys = slotNames.map { "\(name).\($0)" }
            known.formUnion(keys)
            let present = keys.filter { dict[$0] != nil }
            if present.isEmpty { loaded.append(nil); continue }
            // A parameter's slots come as a set: half a state is a corrupt checkpoint.
            if let missing = keys.first(where: { dict[$0] == nil }) { throw .missingKey(missing) }
            var tensors: [Tensor] = []
            for (key, shape) in zip(keys, shapes[i]) {
                let t = dict[key]!
                guard t.shape == shape else { throw .shapeMismatch(key: key, expected: shape, found: t.shape) }
                tensors.append(t.copy())
            }
            loaded.append(tensors)
        }
        if let extra = dict.keys.filter({ !known.contains($0) }).sorted().first { throw .unexpectedKey(extra) }
        slots = loaded
    }
}

/// Elements per parallel task in the update loops.
let updateGrain = 1 << 15
