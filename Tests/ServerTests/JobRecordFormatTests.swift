import Foundation
import Testing
@testable import Server
@testable import Support
@testable import Training

/// `job.json` outlives the Motive that wrote it: the committed record of each schema version
/// still reads, and a record with fields missing or unknown is read, never skipped.
@Suite struct JobRecordFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let fixture = fixtures.appendingPathComponent("job-record-v1.json")

    /// The record in Tests/Fixtures/job-record-v1.json: a finished training job that resumed
    /// once. `MOTIVE_WRITE_FIXTURES=1` (this suite alone) writes the file from today's encoder.
    static func todaysRecord() throws -> JobRecord {
        let config = try ConfigLoader.parse("""
            model: {preset: mc3_18_tiny, classes: 2}
            data: {train_list: /srv/motive/data/synth/train.txt, val_list: /srv/motive/data/synth/val.txt, batch_size: 4}
            optimizer: {type: adamw, lr: 0.002, weight_decay: 0}
            schedule: {epochs: 3, policy: constant}
            output: {model_name: synth-mc3}
            """)
        var record = JobRecord(id: "7", sequence: 7, state: .succeeded, work: .train(config), modelName: "synth-mc3",
                               submittedAt: Date(timeIntervalSince1970: 1_790_000_000))
        record.startedAt = Date(timeIntervalSince1970: 1_790_000_005)
        record.finishedAt = Date(timeIntervalSince1970: 1_790_000_300)
        record.attempts = 2
        record.epoch = 3
        record.step = 12
        record.lastEpoch = EpochRecord(epoch: 3, trainLoss: 0.25, trainTop1: 0.875, learningRate: 0.002, seconds: 41.5,
                                       clipsPerSecond: 6.5, failed: 0, valTop1: 1, valTop5: 1, valMeanClassAccuracy: 1, best: true)
        record.checkpoint = "run/best.safetensors"
        record.dataRoot = ConfinedPath(URL(fileURLWithPath: "/"))
        return record
    }

    func decode(_ data: Data) throws -> JobRecord { try JobStore.decoder.decode(JobRecord.self, from: data) }

    /// The fixture as a JSON object, to take fields from and add some.
    func fixtureObject() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixture)) as? [String: Any])
    }

    @Test func theCommittedRecordReads() throws {
        if ProcessInfo.processInfo.environment["MOTIVE_WRITE_FIXTURES"] == "1" {
            try JobStore.encoder.encode(try Self.todaysRecord()).write(to: Self.fixture)
        }
        let record = try decode(Data(contentsOf: Self.fixture))
        #expect(record == (try Self.todaysRecord()))
        #expect(record.schemaVersion == 1 && record.kind == .train && record.config?.model.preset == "mc3_18_tiny")
    }

    /// Today's encoder writes the fixture byte for byte. When this fails, the format changed:
    /// raise `JobRecord.currentSchemaVersion` if a field changed meaning, commit the new format as
    /// job-record-v2.json and keep v1's test reading (a new optional field needs neither).
    @Test func todaysEncoderWritesTheFixture() throws {
        let written = String(decoding: try JobStore.encoder.encode(try Self.todaysRecord()), as: UTF8.self)
        #expect(written == (try String(contentsOf: Self.fixture, encoding: .utf8)))
        #expect(written.contains(#""schema_version" : 1"#))
    }

    /// A record of an older Motive (no schema version, fields it never wrote) with fields of a
    /// newer one (unknown keys, a `last_epoch` of another shape) reads, with defaults.
    @Test func missingAndUnknownFieldsAreTolerated() throws {
        var object = try fixtureObject()
        for key in ["schema_version", "attempts", "cancel_requested", "epoch", "step", "model_name", "data_root", "checkpoint"] {
            object.removeValue(forKey: key)
        }
        object["last_epoch"] = ["epoch": "three", "loss_curve": [1, 2]]
        object["priority"] = 3
        object["retention"] = ["keep_days": 30]
        var config = try #require(object["config"] as? [String: Any])
        config["future_section"] = ["enabled": true]
        object["config"] = config
        let record = try decode(JSONSerialization.data(withJSONObject: object))
        let today = try Self.todaysRecord()
        #expect(record.schemaVersion == 1)
        #expect(record.id == today.id && record.sequence == today.sequence && record.state == .succeeded)
        #expect(record.config == today.config && record.submittedAt == today.submittedAt && record.finishedAt == today.finishedAt)
        #expect(record.attempts == 0 && !record.cancelRequested && record.epoch == 0 && record.step == 0)
        #expect(record.modelName == "job-7" && record.lastEpoch == nil && record.checkpoint == nil && record.dataRoot == nil)
    }

    /// The store lists such a record with the others, and rewrites it in today's format.
    @Test func theStoreReadsOlderRecords() throws {
        let state = Fixture.scratch("records")
        defer { try? FileManager.default.removeItem(at: state) }
        let store = try JobStore(stateDirectory: state)
        var object = try fixtureObject()
        for key in ["schema_version", "attempts", "cancel_requested"] { object.removeValue(forKey: key) }
        object["schema_version"] = 9          // a newer Motive's: read as far as this one knows
        object["priority"] = "high"
        try FileManager.default.createDirectory(at: store.folder(of: "7"), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object).write(to: store.folder(of: "7").appendingPathComponent("job.json"))
        let (records, highest, unreadable) = store.loadAll()
        #expect(unreadable.isEmpty, "\(unreadable)")
        #expect(highest == 7 && records.map(\.id) == ["7"] && records.first?.schemaVersion == 9)
        try store.save(try #require(records.first))
        let rewritten = try decode(Data(contentsOf: store.folder(of: "7").appendingPathComponent("job.json")))
        #expect(rewritten.schemaVersion == JobRecord.currentSchemaVersion && rewritten.checkpoint == "run/best.safetensors")
    }

    /// What a job cannot run without stays required, and the reason is kept for the log.
    @Test func aRecordWithoutItsWorkIsUnreadable() throws {
        var object = try fixtureObject()
        object.removeValue(forKey: "config")
        #expect(throws: DecodingError.self) { try decode(JSONSerialization.data(withJSONObject: object)) }
    }
}
