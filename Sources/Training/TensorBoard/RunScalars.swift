/// The TensorBoard scalars of a run, in one place. Two x-axes, kept apart by the tag's prefix:
/// `train/` and `val/` are per epoch (the step is the epoch, counted from 1, as in `metrics.csv`),
/// `batch/` is per batch (the step is the run's batch count, `step` in `log.jsonl`).
extension EpochRecord {
    var tensorBoardScalars: [(tag: String, value: Double)] {
        var scalars = [("train/loss", trainLoss), ("train/top1", trainTop1), ("train/lr", learningRate),
                       ("train/clips_per_s", clipsPerSecond), ("train/epoch_seconds", seconds)]
        if let valTop1 { scalars.append(("val/top1", valTop1)) }
        if let valTop5 { scalars.append(("val/top5", valTop5)) }
        if let valMeanClassAccuracy { scalars.append(("val/mean_class_accuracy", valMeanClassAccuracy)) }
        return scalars.map { (tag: $0.0, value: $0.1) }
    }
}

extension StepProgress {
    var tensorBoardScalars: [(tag: String, value: Double)] {
        (batchLoss.map { [(tag: "batch/loss", value: $0)] } ?? []) + [(tag: "batch/lr", value: learningRate)]
    }
}
