import Foundation
import Testing
@testable import Training

@Suite(.serialized) struct TensorBoardTests {
    func scratch() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-tb-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func eventFiles(_ run: URL) throws -> [URL] {
        let tb = run.appendingPathComponent("tb")
        return try FileManager.default.contentsOfDirectory(atPath: tb.path).sorted()
            .filter { $0.hasPrefix("events.out.tfevents.") }.map { tb.appendingPathComponent($0) }
    }

    /// RFC 3720's CRC-32C vectors, the usual check string, and the mask of an empty record's CRC.
    @Test func crc32cVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }) == 0x113F_DB5C)
        #expect(CRC32C.masked([UInt8]()) == 0xA282_EAD8)                 // a CRC of 0, rotated, plus the constant
        // rotate right 15 of 0xE3069283, then the constant
        #expect(CRC32C.masked(Array("123456789".utf8)) == ((0xE306_9283 as UInt32) >> 15 | (0xE306_9283 as UInt32) << 17) &+ 0xA282_EAD8)
    }

    /// Records of 0, 1 and 300 bytes frame to length, CRC, data, CRC and read back whole.
    @Test func framingRoundTrip() throws {
        let records = [Data(), Data([42]), Data((0..<300).map { UInt8($0 % 251) })]
        let file = records.map(TFRecord.frame).reduce(Data(), +)
        #expect(file.count == records.map { $0.count + 16 }.reduce(0, +))
        let second = TFRecord.frame(records[1])
        #expect(Array(second.prefix(8)) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(second[8..<12]) == withUnsafeBytes(of: CRC32C.masked([1, 0, 0, 0, 0, 0, 0, 0]).littleEndian, Array.init))
        #expect(Array(second.suffix(4)) == withUnsafeBytes(of: CRC32C.masked([42]).littleEndian, Array.init))
        #expect(try TFRecord.records(in: file) == records)
    }

    /// A flipped bit in a length or in data, or a file cut short, is an error naming the record.
    @Test func corruptionIsDetected() {
        let file = TFRecord.frame(Data("first".utf8)) + TFRecord.frame(Data("second".utf8))
        let second = 5 + 16
        var data = file
        data[second + 12] ^= 0x01
        #expect(throws: TFRecordError.dataChecksum(offset: second)) { try TFRecord.records(in: data) }
        data = file
        data[second] ^= 0x01
        #expect(throws: TFRecordError.lengthChecksum(offset: second)) { try TFRecord.records(in: data) }
        data = file
        data[second + 9] ^= 0x80
        #expect(throws: TFRecordError.lengthChecksum(offset: second)) { try TFRecord.records(in: data) }
        #expect(throws: TFRecordError.truncated(offset: second)) { try TFRecord.records(in: file.dropLast(1)) }
        #expect(throws: TFRecordError.truncated(offset: second)) { try TFRecord.records(in: file.prefix(second + 5)) }
    }

    /// The writer's file: a version event first, then one event per call; a second writer in
    /// the same second gets its own file.
    @Test func writerRoundTrip() throws {
        let dir = scratch().appendingPathComponent("tb")
        let now = Date()
        let writer = try TensorBoardWriter(directory: dir, now: now)
        try writer.scalars([("a/x", 1.5), ("a/y", -2)], step: 1)
        try writer.scalars([("a/x", 0.25)], step: 2)
        let other = try TensorBoardWriter(directory: dir, now: now)
        #expect(other.url != writer.url)
        #expect(writer.url.lastPathComponent.hasPrefix("events.out.tfevents.\(Int(now.timeIntervalSince1970))."))
        let events = try TensorBoardEvents(contentsOf: writer.url)
        #expect(events.fileVersion == "brain.Event:2")
        #expect(events.tags == ["a/x", "a/y"])
        #expect(events.series("a/x").map(\.step) == [1, 2] && events.series("a/x").map(\.value) == [1.5, 0.25])
        #expect(events.series("a/y").map(\.value) == [-2])
        let records = try TFRecord.records(in: Data(contentsOf: writer.url))
        #expect(records.count == 3)
        #expect(try TensorBoardEvents(contentsOf: other.url).scalars.isEmpty)
    }

    /// A real run: one event file in `<run>/tb` with the epoch scalars at steps 1...epochs, equal
    /// to `metrics.csv`, and the batch scalars at steps 1...batches.
    @Test func runWritesTheEventFile() throws {
        let dir = scratch()
        var config = try TinyDataset.config("\neval: {interval: 1}")
        config.data.valList = TinyDataset.root.appendingPathComponent("train.txt").path
        config.schedule.epochs = 2
        config.schedule.policy = .cosine
        let run = try TrainingRun(config: config, directory: dir)
        try run.run()

        let files = try eventFiles(dir)
        try #require(files.count == 1)
        let host = ProcessInfo.processInfo.hostName
        #expect(files[0].lastPathComponent.contains(".\(host).\(getpid())"))
        let events = try TensorBoardEvents(contentsOf: files[0])
        #expect(events.fileVersion == "brain.Event:2")
        let epochTags = ["train/loss", "train/top1", "train/lr", "train/clips_per_s", "train/epoch_seconds",
                         "val/top1", "val/top5", "val/mean_class_accuracy"]
        #expect(Set(events.tags) == Set(epochTags + ["batch/loss", "batch/lr"]))
        for tag in epochTags { #expect(events.series(tag).map(\.step) == [1, 2], "\(tag)") }
        let batches = run.trainer.batchesPerEpoch
        #expect(batches == 2)
        for tag in ["batch/loss", "batch/lr"] { #expect(events.series(tag).map(\.step) == Array(1...2 * batches), "\(tag)") }
        #expect(events.scalars.allSatisfy { $0.value.isFinite })
        #expect(events.series("batch/lr").map(\.value) != events.series("batch/lr").map { _ in events.series("batch/lr")[0].value },
                "a cosine schedule moves the learning rate from batch to batch")

        // The CSV's cells have 6 significant digits.
        let csv = try String(contentsOf: dir.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        let header = csv[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let rows = csv.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 2)
        for (tag, column) in [("train/loss", "train_loss"), ("train/lr", "lr"), ("train/top1", "train_top1"), ("val/top1", "val_top1"),
                              ("val/top5", "val_top5"), ("val/mean_class_accuracy", "val_mean_class_accuracy"),
                              ("train/clips_per_s", "clips_per_s")] {
            let index = try #require(header.firstIndex(of: column))
            for (row, point) in zip(rows, events.series(tag)) {
                let cell = try #require(Double(row[index]))
                #expect(abs(Double(point.value) - cell) <= 1e-5 * max(abs(cell), 1e-6), "\(tag) at epoch \(point.step): \(point.value) vs \(cell)")
            }
        }
        // Each epoch's train/loss is its batches' losses averaged (two batches of four clips each).
        let batchLoss = events.series("batch/loss").map { Double($0.value) }
        for (epoch, point) in events.series("train/loss").enumerated() {
            let mean = (batchLoss[2 * epoch] + batchLoss[2 * epoch + 1]) / 2
            #expect(abs(Double(point.value) - mean) <= 1e-5 * mean)
        }
    }

    /// A run stopped after its first batch and resumed writes a second file that continues the
    /// steps: together they hold each batch and each epoch once.
    @Test func resumedRunContinuesInASecondFile() throws {
        var config = try TinyDataset.config()
        config.schedule.epochs = 2
        let dir = scratch()
        let first = try TrainingRun(config: config, directory: dir)
        first.stopFlag.set()
        try first.run()
        try TrainingRun(config: config, resume: dir).run()

        let files = try eventFiles(dir)
        try #require(files.count == 2)
        let parts = try files.map { try TensorBoardEvents(contentsOf: $0) }
        let sorted = parts.sorted { ($0.series("batch/loss").first?.step ?? 0) < ($1.series("batch/loss").first?.step ?? 0) }
        #expect(sorted[0].series("batch/loss").map(\.step) == [1] && sorted[0].series("train/loss").isEmpty)
        #expect(sorted[1].series("batch/loss").map(\.step) == [2, 3, 4])
        #expect(sorted[1].series("train/loss").map(\.step) == [1, 2])
        #expect(parts.allSatisfy { $0.series("val/top1").isEmpty }, "no validation list, no val/ scalars")
    }

    /// When the event folder cannot be made, the run says so once and trains to the end.
    @Test func unwritableEventsDoNotStopTraining() throws {
        let dir = scratch()
        try Data("not a folder".utf8).write(to: dir.appendingPathComponent("tb"))
        var config = try TinyDataset.config()
        config.schedule.epochs = 1
        var notes: [String] = [], finished = false
        try TrainingRun(config: config, directory: dir).run { event in
            if case .note(let note) = event, note.hasPrefix("TensorBoard") { notes.append(note) }
            if case .finished = event { finished = true }
        }
        #expect(notes.count == 1 && finished)
        #expect(notes.first?.hasPrefix("TensorBoard: cannot write \(dir.appendingPathComponent("tb").path): ") == true, "\(notes)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("metrics.csv").path))
    }
}
