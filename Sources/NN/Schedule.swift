import Engine
import Foundation

/// A learning rate as a function of training progress. Progress is a Double so a trainer can
/// pass a fractional epoch (`epoch + batch / batchesPerEpoch`) or a step count; a schedule's lengths
/// are in the same unit as the progress it is given.
public protocol LRSchedule: Sendable {
    func learningRate(at progress: Double) -> Float
}

/// The same rate throughout.
public struct ConstantLR: LRSchedule, Codable, Equatable {
    public var baseLR: Float
    public init(baseLR: Float) { self.baseLR = baseLR }
    public func learningRate(at progress: Double) -> Float { baseLR }
}

/// baseLR · γ^⌊progress / stepSize⌋ (torch StepLR).
public struct StepLR: LRSchedule, Codable, Equatable {
    public var baseLR: Float
    public var stepSize: Double
    public var gamma: Float

    public init(baseLR: Float, stepSize: Double, gamma: Float = 0.1) {
        ensure(stepSize > 0, "StepLR: stepSize must be positive, got \(stepSize)")
        self.baseLR = baseLR
        self.stepSize = stepSize
        self.gamma = gamma
    }

    public func learningRate(at progress: Double) -> Float {
        baseLR * Foundation.pow(gamma, Float((max(progress, 0) / stepSize).rounded(.down)))
    }
}

/// baseLR · γ^(number of milestones ≤ progress) (torch MultiStepLR).
public struct MultiStepLR: LRSchedule, Codable, Equatable {
    public var baseLR: Float
    public var milestones: [Double]
    public var gamma: Float

    public init(baseLR: Float, milestones: [Double], gamma: Float = 0.1) {
        self.baseLR = baseLR
        self.milestones = milestones
        self.gamma = gamma
    }

    public func learningRate(at progress: Double) -> Float {
        baseLR * Foundation.pow(gamma, Float(milestones.filter { $0 <= progress }.count))
    }
}

/// Half a cosine from baseLR down to minLR over `length`, then minLR:
/// minLR + (baseLR − minLR) · (1 + cos(π · progress / length)) / 2.
public struct CosineLR: LRSchedule, Codable, Equatable {
    public var baseLR: Float
    public var minLR: Float
    public var length: Double

    public init(baseLR: Float, minLR: Float = 0, length: Double) {
        ensure(length > 0, "CosineLR: length must be positive, got \(length)")
        self.baseLR = baseLR
        self.minLR = minLR
        self.length = length
    }

    public func learningRate(at progress: Double) -> Float {
        let t = min(max(progress, 0), length) / length
        return minLR + (baseLR - minLR) * Float((1 + cos(Double.pi * t)) / 2)
    }
}

/// A linear warm-up in front of any schedule: during the first `length` units the wrapped rate is
/// scaled by a factor rising linearly from `startFactor` to 1; afterwards it is the wrapped rate.
/// The wrapped schedule keeps its own clock (as PyTorch's LinearLR chained with another scheduler).
public struct LinearWarmup<Wrapped: LRSchedule>: LRSchedule {
    public var wrapped: Wrapped
    public var length: Double
    public var startFactor: Float

    public init(_ wrapped: Wrapped, length: Double, startFactor: Float = 0) {
        ensure(length >= 0, "LinearWarmup: length must not be negative, got \(length)")
        self.wrapped = wrapped
        self.length = length
        self.startFactor = startFactor
    }

    public func learningRate(at progress: Double) -> Float {
        let lr = wrapped.learningRate(at: progress)
        guard progress < length else { return lr }
        let fraction = Float(max(progress, 0) / length)
        return lr * (startFactor + (1 - startFactor) * fraction)
    }
}

extension LinearWarmup: Codable where Wrapped: Codable {}
extension LinearWarmup: Equatable where Wrapped: Equatable {}

extension LRSchedule {
    /// This schedule behind a linear warm-up of `length` units.
    public func withWarmup(length: Double, startFactor: Float = 0) -> LinearWarmup<Self> {
        LinearWarmup(self, length: length, startFactor: startFactor)
    }
}
