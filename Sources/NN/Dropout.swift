import Engine

/// Zeroes each element with probability `p` in training and scales the rest by 1/(1 − p);
/// the identity in evaluation. Shape is unchanged.
///
/// With a seed the layer draws from its own generator, so a run is reproducible on its own;
/// without one it draws from `GlobalRandom`.
public final class Dropout: Layer {
    public let p: Float
    private var rng: Xoshiro?

    public init(p: Float = 0.5, seed: UInt64? = nil) {
        ensure(p >= 0 && p < 1, "Dropout: p must be in [0, 1), got \(p)")
        self.p = p
        rng = seed.map { Xoshiro(seed: $0) }
        super.init()
    }

    public override func forward(_ x: Tensor) -> Tensor {
        guard isTraining, p > 0 else { return x }
        if rng == nil { return x.dropout(p: p, training: true) }
        return x.dropout(p: p, training: true, using: &rng!)
    }
}
