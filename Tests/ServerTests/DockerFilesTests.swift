import Foundation
import HummingbirdTesting
@testable import Server
import Testing
import Yams

/// `docker/` checked without a Docker engine: what the Dockerfile copies is in the build context
/// and not dockerignored; the folders `motive serve` is given exist in the image, the state
/// folder owned by the user it runs as; the runtime image installs the Debian package of every
/// library the binary links; compose's build, volumes and nginx's upstreams agree with the image;
/// and the HEALTHCHECK command passes against a live daemon and fails against a closed port.
@Suite struct DockerFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let docker = root.appendingPathComponent("docker")

    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

    static var ignore: DockerIgnore {
        DockerIgnore(text: (try? text(root.appendingPathComponent(".dockerignore"))) ?? "")
    }

    /// Every stage's files, the last one being the image that runs.
    static func images() throws -> [ImageFiles] {
        let file = Dockerfile(text: try text(docker.appendingPathComponent("Dockerfile")))
        var byName: [String: ImageFiles] = [:]
        var images: [ImageFiles] = []
        for stage in file.stages {
            let image = ImageFiles(stage: stage, context: root, ignore: ignore, earlier: byName)
            if let name = stage.name { byName[name] = image }
            images.append(image)
        }
        return images
    }

    /// The value after `option` in an argument list.
    static func value(of option: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: option), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    /// Problems with the folders a `motive serve` command line names, in `image`.
    static func servePathProblems(_ arguments: [String], in image: ImageFiles) -> [String] {
        var problems: [String] = []
        for option in ["--models", "--state-dir", "--data-root"] {
            guard let path = value(of: option, in: arguments) else { problems.append("\(option) is not given"); continue }
            if !image.exists(path) { problems.append("\(option) \(path) is not made in the image") }
        }
        if let state = value(of: "--state-dir", in: arguments), image.made[state] != image.user {
            problems.append("--state-dir \(state) is not owned by \(image.user), who runs the daemon")
        }
        if arguments.contains("--publish-models"), let models = value(of: "--models", in: arguments), image.made[models] != image.user {
            problems.append("--publish-models writes into --models \(models), which \(image.user) does not own")
        }
        return problems
    }

    @Test func contextIgnoresLocalFolders() throws {
        let ignore = Self.ignore
        for path in [".build", ".build-asan/x", ".git", "runs", "data/synth", "state", "motive-state", "bench/2025-01-01T00-00/table.md"] {
            #expect(ignore.ignores(path), "\(path) is sent to the Docker daemon")
        }
        for path in ["Package.swift", "Plugins/BuildInfoPlugin/plugin.swift", "Sources/Server/MotiveServer.swift", "Models/default/model.safetensors"] {
            #expect(!ignore.ignores(path), "\(path) is left out")
        }
    }

    @Test func imagePathsExist() throws {
        let images = try Self.images()
        for image in images { #expect(image.problems.isEmpty, "\(image.problems)") }
        let image = try #require(images.last)
        let command = image.entrypoint + image.cmd
        let executable = try #require(command.first)
        #expect(image.which(executable) != nil, "\(executable) is not in the image")
        #expect(Array(command.prefix(2)).last == "serve")
        #expect(Self.servePathProblems(command, in: image).isEmpty, "\(Self.servePathProblems(command, in: image))")
        #expect(Self.value(of: "--port", in: command).flatMap(Int.init).map { image.exposed.contains($0) } == true)
        #expect(image.user != "root")
    }

    /// The runtime stage installs the package of every shared library the built binary needs
    /// (the Swift runtime is linked in statically), and the build stage every development package
    /// `make deps` installs for the build.
    @Test func imageHasTheLibrariesTheBinaryLinks() async throws {
        let dockerfile = try Self.text(Self.docker.appendingPathComponent("Dockerfile"))
        let stages = Dockerfile(text: dockerfile).stages
        func installed(_ stage: Dockerfile.Stage) -> Set<String> {
            Set(stage.instructions.filter { $0.keyword == "RUN" }.flatMap { $0.arguments.split(separator: " ").map(String.init) })
        }
        let (build, runtime) = (installed(try #require(stages.first)), installed(try #require(stages.last)))

        let makefile = try Self.text(Self.root.appendingPathComponent("Makefile"))
        // `DEB_PACKAGES := a b \` and its continuation lines.
        let lines = makefile.split(separator: "\n").drop { !$0.hasPrefix("DEB_PACKAGES :=") }
        let end = lines.firstIndex { !$0.hasSuffix("\\") } ?? lines.endIndex
        let packages = lines[lines.startIndex...min(end, lines.endIndex - 1)].flatMap { $0.split(separator: " ") }.map(String.init)
        #expect(packages.contains("pkg-config"), "no DEB_PACKAGES in the Makefile")
        for package in packages where package.hasSuffix("-dev") {
            #expect(build.contains(package), "the build stage does not install \(package)")
        }

        let motive = try #require(Fixture.motiveExecutable)
        let ldd = try await Self.output(["ldd", motive.path])
        // ldd lists what the direct dependencies pull in too; only the direct ones are ours to install.
        let needed = try await Self.output(["readelf", "-d", motive.path])
        let base: Set = ["libc6", "libgcc-s1", "libstdc++6"]
        var checked = 0
        for row in ldd.split(separator: "\n") {
            let words = row.split(whereSeparator: \.isWhitespace).map(String.init)
            guard words.count >= 3, words[1] == "=>", !words[0].hasPrefix("libswift"), !words[0].hasPrefix("libFoundation"),
                  !["libdispatch.so", "libBlocksRuntime.so", "lib_FoundationICU.so"].contains(words[0]) else { continue }
            guard needed.contains("[\(words[0])]"), let package = try await Self.debianPackage(owning: words[2]) else { continue }
            checked += 1
            #expect(base.contains(package) || runtime.contains(package), "\(words[0]) comes from \(package), which the runtime stage does not install")
        }
        #expect(checked >= 5, "found the packages of only \(checked) libraries")
    }

    @Test func composeMatchesTheImage() throws {
        let image = try #require(try Self.images().last)
        let compose = try #require(try Yams.load(yaml: Self.text(Self.docker.appendingPathComponent("compose.yaml"))) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let volumes = Set((compose["volumes"] as? [String: Any?])?.keys.map { $0 } ?? [])
        var built: Set<String> = []
        for (name, service) in services {
            if let build = service["build"] as? [String: String] {
                let context = Self.docker.appendingPathComponent(build["context"] ?? ".").standardizedFileURL
                #expect(context.path == Self.root.standardizedFileURL.path, "\(name) builds in \(context.path)")
                let dockerfile = context.appendingPathComponent(build["dockerfile"] ?? "Dockerfile")
                #expect(FileManager.default.fileExists(atPath: dockerfile.path), "\(name): no \(dockerfile.path)")
                if let tag = service["image"] as? String { built.insert(tag) }
            }
        }
        var motives = 0
        for (name, service) in services {
            let runsMotive = (service["image"] as? String).map(built.contains) == true
            for mount in service["volumes"] as? [String] ?? [] {
                let parts = mount.split(separator: ":").map(String.init)
                let (source, target) = (parts[0], parts.count > 1 ? parts[1] : parts[0])
                if source.hasPrefix(".") || source.hasPrefix("/") {
                    let url = Self.docker.appendingPathComponent(source)
                    #expect(FileManager.default.fileExists(atPath: url.path), "\(name) mounts \(source), which does not exist")
                } else {
                    #expect(volumes.contains(source), "\(name) mounts the undeclared volume \(source)")
                    // A new named volume starts as a copy of the image's folder, owner included.
                    if runsMotive { #expect(image.exists(target), "\(name) mounts \(source) on \(target), which the image does not make") }
                }
            }
            guard runsMotive else { continue }
            motives += 1
            let command = image.entrypoint + ((service["command"] as? [String]) ?? image.cmd)
            #expect(Self.servePathProblems(command, in: image).isEmpty, "\(name): \(Self.servePathProblems(command, in: image))")
        }
        #expect(motives >= 2, "compose runs \(motives) motive replicas")

        // nginx's upstreams are compose's motive services, on the port the image serves.
        let nginx = try Self.text(Self.docker.appendingPathComponent("nginx.conf"))
        let servers = nginx.split(separator: "\n").compactMap { line -> (String, Int)? in
            let words = line.split(separator: " ")
            guard words.first == "server", words.count >= 2 else { return nil }
            let address = words[1].trimmingCharacters(in: CharacterSet(charactersIn: ";")).split(separator: ":")
            return address.count == 2 ? (String(address[0]), Int(address[1]) ?? 0) : nil
        }
        #expect(servers.count >= 2)
        for (host, port) in servers {
            #expect((services[host]?["image"] as? String).map(built.contains) == true, "nginx proxies to \(host), not a motive service")
            #expect(image.exposed.contains(port), "nginx proxies to port \(port)")
        }
    }

    /// The HEALTHCHECK command, pointed at a live daemon's port, exits 0; at a closed port, not.
    @Test func healthcheckPassesOnlyAgainstALiveDaemon() async throws {
        let image = try #require(try Self.images().last)
        let check = try #require(image.healthcheck, "the image has no HEALTHCHECK")
        let port = try #require(image.exposed.first)
        let tool = try #require(check.first)
        #expect(image.which(tool) != nil || ["bash", "/bin/bash", "/bin/sh"].contains(tool), "\(tool) is not in the image")
        #expect(check.joined(separator: " ").contains("/healthz"))
        let pointed: @Sendable (Int) -> [String] = { live in check.map { $0.replacingOccurrences(of: "\(port)", with: "\(live)") } }
        let server = try Fixture.server(Fixture.options())
        let closed = try await server.makeApplication().test(.live) { client in
            let live = try #require(client.port)
            #expect(try await Self.status(pointed(live)) == 0)
            return live
        }
        #expect(try await Self.status(pointed(closed)) != 0)
    }

    // MARK: - Processes, waited for off the cooperative threads

    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["timeout", "20"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in
                let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                continuation.resume(returning: (process.terminationStatus, output))
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
    }

    static func status(_ arguments: [String]) async throws -> Int32 { try await run(arguments).status }

    static func output(_ arguments: [String]) async throws -> String { try await run(arguments).output }

    /// The Debian package a library file belongs to, trying the paths merged /usr and the
    /// alternatives system give it.
    static func debianPackage(owning path: String) async throws -> String? {
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for candidate in [path, "/usr" + path, real, "/usr" + real] {
            let (status, output) = try await run(["dpkg", "-S", candidate])
            if status == 0, let package = output.split(separator: ":").first { return String(package) }
        }
        return nil
    }
}
