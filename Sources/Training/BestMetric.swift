import Inference

/// The validation metric that picks the `best` checkpoint.
public enum BestMetric: String, Codable, Sendable, CaseIterable {
    case top1, top5
    case meanClassAccuracy = "mean_class_accuracy"

    public func value(_ m: ClassificationMetrics) -> Double {
        switch self {
        case .top1: m.top1
        case .top5: m.top5
        case .meanClassAccuracy: m.meanClassAccuracy
        }
    }
}
