/// Reverse-mode automatic differentiation.
///
/// Every op result that depends on a tensor requiring gradients gets a `Node`: the op's name,
/// its inputs and a backward rule. The rule *receives* the result and the upstream gradient
/// instead of capturing the result, so a node never keeps its own output alive (no cycle,
/// no leak). `backward()` sorts the graph topologically and sweeps it in reverse once,
/// accumulating gradients, then releases the nodes so the activations can be freed.

/// Maps (result, gradient of result) to one gradient per input; nil where an input gets none.
public typealias BackwardRule = (_ output: Tensor, _ grad: Tensor) -> [Tensor?]

final class Node {
    let op: String
    let inputs: [Tensor]
    let rule: BackwardRule

    init(op: String, inputs: [Tensor], rule: @escaping BackwardRule) {
        self.op = op
        self.inputs = inputs
        self.rule = rule
    }
}

public enum GradMode {
    @TaskLocal static var enabled = true

    public static var isEnabled: Bool { enabled }

    /// Runs `body` without recording a graph: for inference and for optimizer updates.
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R {
        try $enabled.withValue(false) { try body() }
    }
}

extension Tensor {
    /// Creates an op result and, when any input needs gradients, records how to differentiate it.
    static func result(_ shape: [Int], _ storage: Storage, op: String, inputs: [Tensor],
                       backward rule: @escaping BackwardRule) -> Tensor {
        let out = Tensor(shape: shape, storage: storage)
        if let trace = Trace.current { trace.noteUntraced(op, out) }
        if GradMode.enabled, inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.node = Node(op: op, inputs: inputs, rule: rule)
        }
        return out
    }

    static func result(_ t: Tensor, op: String, inputs: [Tensor], backward rule: @escaping BackwardRule) -> Tensor {
        result(t.shape, t.storage, op: op, inputs: inputs, backward: rule)
    }

    /// The op that produced this tensor, or nil for a leaf.
    public var gradFunction: String? { node?.op }

    /// Back-propagates from this tensor. A non-scalar result needs an explicit seed gradient.
    public func backward(_ seed: Tensor? = nil) {
        ensure(requiresGrad, "backward: tensor of shape \(shape) does not require gradients")
        ensure(!graphReleased, "backward: the graph behind this tensor was already released by an earlier backward()")
        let start = seed ?? {
            ensure(count == 1, "backward: a seed gradient is needed for a non-scalar tensor of shape \(shape)")
            return Tensor.ones(shape)
        }()
        ensure(start.shape == shape, "backward: seed shape \(start.shape) differs from tensor shape \(shape)")

        // Each tensor leaves `order` once its rule has run, so an activation is freed as soon as
        // nothing upstream needs it, not when the whole sweep ends.
        var order: [Tensor?] = topologicalOrder()
        var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
        GradMode.noGrad {
            for i in order.indices.reversed() {
                guard let t = order[i] else { continue }
                order[i] = nil
                guard var g = pending.removeValue(forKey: ObjectIdentifier(t)) else { continue }
                guard let node = t.node else {
                    t.accumulateLeafGrad(&g)
                    continue
                }
                let grads = OpKind(backwardOf: node.op).map { kind in
                    Profiler.span(kind, name: node.op + " backward") { node.rule(t, g) }
                } ?? node.rule(t, g)
                ensure(grads.count == node.inputs.count, "backward: \(node.op) returned \(grads.count) gradients for \(node.inputs.count) inputs")
                for (input, gi) in zip(node.inputs, grads) {
                    guard input.requiresGrad, let gi else { continue }
                    ensure(gi.shape == input.shape,
                                 "backward: \(node.op) gave a gradient of shape \(gi.shape) for an input of shape \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if var sum = pending.removeValue(forKey: key) {
                        pending[key] = Profiler.span(.elementwise, name: "gradient sum") { Tensor.accumulate(&sum, gi) }
                    } else {
                        pending[key] = gi
                    }
                }
                t.node = nil
                t.graphReleased = true
            }
        }
    }

    /// sum + g, written into `sum`'s own storage when nothing else can see it. Rules may hand one
    /// gradient tensor to several inputs, or return views of the gradient they received, so a sum
    /// that is shared, or whose storage is, gets a new tensor instead.
    static func accumulate(_ sum: inout Tensor, _ g: Tensor) -> Tensor {
        guard isKnownUniquelyReferenced(&sum), isKnownUniquelyReferenced(&sum.storage), sum.node == nil else { return sum + g }
        add(into: sum.data, g.data, count: sum.count)
        return sum
    }

    /// Adds `g` into this leaf's gradient. `g` is taken over without a copy when the sweep holds
    /// the only reference to it and to its storage (no view, no second input sharing it).
    private func accumulateLeafGrad(_ g: inout Tensor) {
        if let existing = grad {
            Profiler.span(.elementwise, name: "gradient sum") { add(into: existing.data, g.data, count: count) }
        } else if isKnownUniquelyReferenced(&g) && isKnownUniquelyReferenced(&g.storage) && g.node == nil {
            g.requiresGrad = false
            grad = g
        } else {
            grad = g.copy()
        }
    }

    /// Inputs before outputs, by an iterative depth-first search (deep graphs must not overflow the stack).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (t, next) = stack.last {
            let inputs = t.node?.inputs ?? []
            if next < inputs.count {
                stack[stack.count - 1].1 = next + 1
                let child = inputs[next]
                if child.requiresGrad, visited.insert(ObjectIdentifier(child)).inserted {
                    stack.append((child, 0))
                }
            } else {
                order.append(t)
                stack.removeLast()
            }
        }
        return order
    }
}
