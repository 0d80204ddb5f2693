import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Server
import Testing

/// `/v1/jobs`: submitting, training, serving the result, following, cancelling, and refusals.
@Suite(.serialized) struct JobTests {
    /// A job trains, registers its model under `output.model_name`, and that model answers.
    @Test func submitTrainAndServe() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let created = try await client.submitJob(Fixture.jobYAML(epochs: 1, extra: "\noutput: {model_name: tiny-motion}\n"))
            #expect(created.status == .created)
            let id = try #require(created.json["id"].string)
            #expect(created.json["state"].string == "queued" && created.json["model_name"].string == "tiny-motion")
            #expect(created.headers[.location] == "/v1/jobs/\(id)")

            let job = try await client.waitForJob(id, in: ["succeeded", "failed"])
            #expect(job["state"].string == "succeeded", "\(job["error"].string ?? "")")
            #expect(job["epoch"].int == 1 && job["epochs"].int == 1 && (job["step"].int ?? 0) >= 1)
            #expect(job["last_epoch"]["val_top1"].double != nil && job["finished_at"].string != nil)

            let list = try await client.execute(uri: "/v1/jobs", method: .get).json["jobs"]
            #expect(list.array.map { $0["id"].string } == [id])

            let log = try await client.execute(uri: "/v1/jobs/\(id)/log", method: .get)
            #expect(log.status == .ok && log.headers[.contentType] == "application/x-ndjson")
            let events = log.text.split(separator: "\n").compactMap { JSON(try? JSONSerialization.jsonObject(with: Data($0.utf8)))["event"].string }
            #expect(events.first == "start" && events.last == "finished" && events.contains("epoch"))

            let stream = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get)
            #expect(stream.headers[.contentType] == "text/event-stream")
            for name in ["state", "start", "epoch", "finished", "end"] { #expect(stream.text.contains("event: \(name)\n"), "event \(name)") }
            let resumed = try await client.execute(uri: "/v1/jobs/\(id)/events", method: .get, headers: [HeaderName("Last-Event-ID")!: "2"])
            #expect(!resumed.text.contains("id: 1\n") && !resumed.text.contains("id: 2\n") && resumed.text.contains("id: 3\n"))

            let model = try await client.execute(uri: "/v1/models/tiny-motion", method: .get).json
            #expect(model["source"].string == "job" && model["job"].string == id)
            let predicted = try await client.execute(uri: "/v1/predict?model=tiny-motion", method: .post,
                                                     headers: .contentType("video/mp4"), body: Fixture.bytes(Fixture.video()))
            #expect(predicted.status == .ok && predicted.json["model"].string == "tiny-motion")
        }
    }

    /// Bad configs are 400 with the trainer's message; paths that leave the data root are 400
    /// naming the path.
    @Test func refusedConfigs() async throws {
        let outside = Fixture.scratch("outside")
        let link = Fixture.dataRoot.appendingPathComponent("escape-\(UUID().uuidString.prefix(6)).txt")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: outside.appendingPathComponent("train.txt").path)
        try "videos/a.mp4 0\n".write(to: outside.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: link) }
        let base = Fixture.jobYAML()
        let cases: [(String, String, String, String)] = [
            ("unknown key", base + "\noptimizr: {lr: 0.1}\n", "invalid_config", "unknown key optimizr (did you mean optimizer?)"),
            ("not YAML", "model: [unclosed", "invalid_config", "is not valid YAML"),
            ("bad value", base.replacingOccurrences(of: "epochs: 1,", with: "epochs: 0,"), "invalid_config", "schedule.epochs"),
            ("missing key", "data: {train_list: train.txt}\n", "invalid_config", "model"),
            ("_base_", "_base_: tiny/_base_.yaml\n" + base, "invalid_config", "motive config"),
            ("absolute outside", base.replacingOccurrences(of: "train_list: train.txt", with: "train_list: /etc/passwd"),
             "path_outside_root", "data.train_list: /etc/passwd"),
            ("climbing out", base.replacingOccurrences(of: "val_list: val.txt", with: "val_list: ../../../../etc/passwd"),
             "path_outside_root", "data.val_list: ../../../../etc/passwd"),
            ("symlink out", base.replacingOccurrences(of: "train_list: train.txt", with: "train_list: \(link.lastPathComponent)"),
             "path_outside_root", link.lastPathComponent),
            ("missing list", base.replacingOccurrences(of: "train_list: train.txt", with: "train_list: nowhere.txt"),
             "bad_path", "data.train_list: nowhere.txt does not exist"),
            ("weights outside", base.replacingOccurrences(of: "model: {preset: mc3_18_tiny}", with: "model: {preset: mc3_18_tiny, pretrained: /etc/passwd}"),
             "path_outside_root", "model.pretrained: /etc/passwd"),
            ("output outside", base + "\noutput: {dir: /tmp/elsewhere}\n", "path_outside_root", "output.dir: /tmp/elsewhere"),
            ("empty", "", "invalid_config", "job config"),
            ("several training clips", base.replacingOccurrences(of: "  batch_size: 4\n", with: "  batch_size: 4\n  sampler: {clip_len: 8, num_clips: 2}\n"),
             "invalid_config", "data.sampler"),
            ("crop past the frame", base.replacingOccurrences(of: "{centre_crop: {size: 64}}", with: "{centre_crop: {size: 128}}"),
             "invalid_config", "data.train_pipeline"),
        ]
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            for (name, yaml, code, fragment) in cases {
                let response = try await client.submitJob(yaml)
                #expect(response.status == .badRequest && response.errorCode == code, "\(name): \(response.status) \(response.errorCode ?? "")")
                let message = response.json["error"]["message"].string ?? ""
                #expect(message.contains(fragment), "\(name): \(message)")
            }
            let huge = try await client.submitJob(String(repeating: "#", count: 2 << 20))
            #expect(huge.status == .contentTooLarge)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).json["jobs"].count == 0)
        }
    }

    /// Files read through a list are confined too: a classes.txt or a list entry that leads out of
    /// the data root through a symlink is refused naming it, with the same answer whether or not
    /// the target exists, and nothing of the target shows.
    @Test func symlinksOutOfTheDataRootAreRefused() async throws {
        let fm = FileManager.default
        let outside = Fixture.scratch("outside")
        try "leaked-class-a\nleaked-class-b\n".write(to: outside.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        try fm.copyItem(at: Fixture.video(), to: outside.appendingPathComponent("secret.mp4"))
        let folder = Fixture.dataRoot.appendingPathComponent("links-\(UUID().uuidString.prefix(6))")
        defer { try? fm.removeItem(at: folder) }
        func make(_ name: String, list: String, classes: String?, links: [String: String] = [:]) throws -> String {
            let sub = folder.appendingPathComponent(name)
            try fm.createDirectory(at: sub, withIntermediateDirectories: true)
            try list.write(to: sub.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
            if let classes { try fm.createSymbolicLink(atPath: sub.appendingPathComponent("classes.txt").path, withDestinationPath: classes) }
            for (link, target) in links { try fm.createSymbolicLink(atPath: sub.appendingPathComponent(link).path, withDestinationPath: target) }
            return Fixture.jobYAML().replacingOccurrences(of: "train_list: train.txt", with: "train_list: \(folder.lastPathComponent)/\(name)/train.txt")
                .replacingOccurrences(of: "  val_list: val.txt\n", with: "")
        }
        let entry = "videos/translate_left/translate_left_0000.mp4"
        let video = Fixture.video().path
        let cases: [(String, String)] = [
            (try make("classes", list: "\(entry) 0\n", classes: outside.appendingPathComponent("classes.txt").path), "classes.txt is outside the data root"),
            (try make("dangling", list: "\(entry) 0\n", classes: outside.appendingPathComponent("none.txt").path), "classes.txt is outside the data root"),
            (try make("entry", list: "link_out/secret.mp4 0\n", classes: nil, links: ["link_out": outside.path]),
             "train.txt entry 1: link_out/secret.mp4 is outside the data root"),
            (try make("missing-entry", list: "link_out/none.mp4 0\n", classes: nil, links: ["link_out": outside.path]),
             "train.txt entry 1: link_out/none.mp4 is outside the data root"),
        ]
        // A link that stays inside the root is followed.
        let inside = try make("inside", list: "in.mp4 0\n", classes: nil, links: ["in.mp4": video])
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            for (yaml, fragment) in cases {
                let response = try await client.submitJob(yaml)
                let message = response.json["error"]["message"].string ?? ""
                #expect(response.status == .badRequest && response.errorCode == "invalid_data", "\(response.status) \(message)")
                #expect(message.hasSuffix(fragment), "\(message)")
                #expect(!message.contains("leaked") && !message.contains(outside.path), "\(message)")
            }
            let created = try await client.submitJob(inside)
            #expect(created.status == .created, "\(created.json)")
            let id = try #require(created.json["id"].string)
            let job = try await client.waitForJob(id, in: ["failed", "succeeded"])
            #expect(job["state"].string == "succeeded", "\(job)")
        }
    }

    /// Configs that pass validation but stop the engine (several views per training clip; a test
    /// crop larger than the frame, met only when the trained model labels a video) fail their
    /// job, in its own process, and the server carries on.
    @Test func jobsThatFailAtRunTimeFailAlone() async throws {
        // Only decoding shows that these frames are smaller than the crop: every video fails.
        let crop = Fixture.jobYAML().replacingOccurrences(
            of: "{resize_short_side: {side: 64}}, {centre_crop: {size: 64}}", with: "{centre_crop: {size: 4096}}")
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let id = try #require(try await client.submitJob(crop).json["id"].string)
            let job = try await client.waitForJob(id, in: ["failed", "succeeded"])
            #expect(job["state"].string == "failed")
            let error = job["error"].string ?? ""
            #expect(error.contains("no training video could be loaded") && error.contains("centre_crop"), "\(error)")
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(server.models.all.count == 2, "no model from a failed job")
        }
    }

    /// A training process that dies of a signal (here SIGKILL, as the kernel's out-of-memory killer
    /// sends) is reported by the signal's name and the last meaningful line it printed, not a scrap
    /// of its crash dump. (The stand-in cannot use SIGABRT: a shell does not unblock it, and the
    /// server's threads block it.)
    @Test func deathBySignalIsNamed() async throws {
        let script = """
            echo 'training: failed to allocate 800000000000 bytes' >&2
            echo 'Thread 0 crashed:' >&2
            echo '0 0x00005555 in swift_slowAlloc at /x/y.swift:3' >&2
            kill -KILL $$
            """
        let server = try Fixture.server(Fixture.options {
            $0.jobLauncher = JobLauncher(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script, "sh"])
        })
        try await server.makeApplication().test(.router) { client in
            let id = try #require(try await client.submitJob(Fixture.jobYAML()).json["id"].string)
            let job = try await client.waitForJob(id, in: ["failed", "succeeded"])
            #expect(job["state"].string == "failed")
            #expect(job["error"].string == "training process killed by SIGKILL: training: failed to allocate 800000000000 bytes",
                    "\(job["error"].string ?? "")")
        }
    }

    /// A training process that exits cleanly without finishing, and without being asked to stop,
    /// fails the job instead of queueing it to run again forever.
    @Test func cleanExitWithoutFinishingFails() async throws {
        let server = try Fixture.server(Fixture.options {
            $0.jobLauncher = JobLauncher(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", "echo 'no data, nothing to do' >&2", "sh"])
        })
        try await server.makeApplication().test(.router) { client in
            let id = try #require(try await client.submitJob(Fixture.jobYAML()).json["id"].string)
            let job = try await client.waitForJob(id, in: ["failed", "succeeded"], timeout: 30)
            #expect(job["state"].string == "failed")
            #expect(job["error"].string == "training process exited without finishing: no data, nothing to do")
            #expect(job["attempts"].int == 1, "\(job)")
        }
    }

    /// With a token, submitting, reading and cancelling jobs need it.
    @Test func tokenGuardsSubmitAndCancel() async throws {
        let server = try Fixture.server(Fixture.options { $0.token = "s3cret" })
        try await server.makeApplication().test(.router) { client in
            let yaml = Fixture.jobYAML(epochs: 50)
            #expect(try await client.submitJob(yaml).status == .unauthorized)
            #expect(try await client.submitJob(yaml, token: "s3cre").status == .unauthorized)
            #expect(try await client.submitJob(yaml, token: "s3cret-and-more").status == .unauthorized)
            let plain = try await client.execute(uri: "/v1/jobs", method: .post, headers: [.authorization: "Basic czNjcmV0"], body: ByteBuffer(string: yaml))
            #expect(plain.status == .unauthorized && plain.errorCode == "unauthorized")
            let created = try await client.submitJob(yaml, token: "s3cret")
            #expect(created.status == .created)
            let id = try #require(created.json["id"].string)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer s3cret"]).status == .ok)
            #expect(try await client.execute(uri: "/v1/jobs/\(id)", method: .delete).status == .unauthorized)
            let cancelled = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete, headers: [.authorization: "Bearer s3cret"])
            #expect(cancelled.status == .ok || cancelled.status == .accepted)
            try await client.waitForJob(id, in: ["cancelled"], token: "s3cret")
        }
    }

    /// One job at a time, FIFO: a queued job cancels at once; a running one stops after its
    /// current step, then is cancelled; a finished one cannot be cancelled.
    /// A job may not take a served model's name (the shipped `default` included) or another live job's.
    @Test func modelNamesAreNotTakenOver() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let served = try await client.submitJob(Fixture.jobYAML(epochs: 50, extra: "\noutput: {model_name: default}\n"))
            #expect(served.status == .conflict)
            #expect(served.json["error"]["message"].string?.contains("'default' is already served") == true, "\(served.json.value ?? "")")
            let name = "claimed-\(UUID().uuidString.prefix(6))"
            let first = try await client.submitJob(Fixture.jobYAML(epochs: 50, extra: "\noutput: {model_name: \(name)}\n"))
            #expect(first.status == .created)
            let second = try await client.submitJob(Fixture.jobYAML(epochs: 1, extra: "\noutput: {model_name: \(name)}\n"))
            #expect(second.status == .conflict)
            let id = try #require(first.json["id"].string)
            #expect(second.json["error"]["message"].string?.contains("belongs to job \(id)") == true, "\(second.json.value ?? "")")
            _ = try await client.execute(uri: "/v1/jobs/\(id)", method: .delete)
            try await client.waitForJob(id, in: ["cancelled", "succeeded", "failed"], timeout: 60)
            // A cancelled job's name is free again.
            let again = try await client.submitJob(Fixture.jobYAML(epochs: 50, extra: "\noutput: {model_name: \(name)}\n"))
            #expect(again.status == .created)
            if let next = again.json["id"].string {
                _ = try await client.execute(uri: "/v1/jobs/\(next)", method: .delete)
                try await client.waitForJob(next, in: ["cancelled", "succeeded", "failed"], timeout: 60)
            }
        }
    }

    @Test func cancelQueuedAndRunning() async throws {
        let server = try Fixture.server(Fixture.options())
        try await server.makeApplication().test(.router) { client in
            let first = try #require(try await client.submitJob(Fixture.jobYAML(epochs: 50)).json["id"].string)
            let second = try #require(try await client.submitJob(Fixture.jobYAML(epochs: 1)).json["id"].string)
            try await client.waitForJob(first, in: ["running"])
            #expect(try await client.execute(uri: "/v1/jobs/\(second)", method: .get).json["state"].string == "queued")

            let queued = try await client.execute(uri: "/v1/jobs/\(second)", method: .delete)
            #expect(queued.status == .ok && queued.json["state"].string == "cancelled")
            let running = try await client.execute(uri: "/v1/jobs/\(first)", method: .delete)
            #expect(running.status == .accepted && running.json["cancel_requested"].value as? Bool == true)
            let stopped = try await client.waitForJob(first, in: ["cancelled", "succeeded", "failed"], timeout: 30)
            #expect(stopped["state"].string == "cancelled")
            #expect((stopped["epoch"].int ?? 99) < 50)

            let again = try await client.execute(uri: "/v1/jobs/\(first)", method: .delete)
            #expect(again.status == .conflict && again.errorCode == "conflict")
            for (method, path) in [(HTTPRequest.Method.get, "/v1/jobs/404"), (.delete, "/v1/jobs/404"), (.get, "/v1/jobs/404/log"),
                                   (.get, "/v1/jobs/404/events")] {
                let missing = try await client.execute(uri: path, method: method)
                #expect(missing.status == .notFound && missing.errorCode == "job_not_found", "\(method) \(path)")
            }
            #expect(!(server.models.all.map(\.summary.name).contains("job-\(second)")))
        }
    }
}
