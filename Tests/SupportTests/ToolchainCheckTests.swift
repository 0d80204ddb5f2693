import Foundation
import Testing

/// `make deps` checks the Swift toolchain before anything else: a missing or older `swift` stops
/// it with the way to install one, before any package is installed (scripts/check-swift.sh).
@Suite struct ToolchainCheckTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `make ARGUMENTS` in the repository, SWIFT set to a script that prints `versionLine`.
    func make(_ target: String, swiftPrinting versionLine: String?) throws -> (status: Int32, output: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("toolchain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let swift = folder.appendingPathComponent("swift")
        if let versionLine {
            try "#!/bin/sh\necho '\(versionLine)'\necho 'Target: x86_64-unknown-linux-gnu'\n".write(to: swift, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: swift.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["make", "--no-print-directory", "-C", Self.repository.path, target, "SWIFT=\(swift.path)"]
        let output = folder.appendingPathComponent("output")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, try String(contentsOf: output, encoding: .utf8))
    }

    @Test(arguments: ["Swift version 6.1.2 (swift-6.1.2-RELEASE)", "Apple Swift version 5.10 (swiftlang-5.10.0.13)", "no version here"])
    func anOldOrUnknownSwiftStopsDeps(line: String) throws {
        let (status, output) = try make("deps", swiftPrinting: line)
        #expect(status != 0)
        #expect(output.contains("Motive needs Swift 6.2 or newer"), "\(output)")
        #expect(output.contains("swiftly init") && output.contains("https://www.swift.org/install/linux/"))
        // Stopped first: no package was looked at.
        #expect(!output.contains("installing:") && !output.contains("Debian packages"), "\(output)")
    }

    @Test func aMissingSwiftStopsDeps() throws {
        let (status, output) = try make("deps", swiftPrinting: nil)
        #expect(status != 0)
        #expect(output.contains("no Swift toolchain") && output.contains("swiftly init"), "\(output)")
    }

    @Test(arguments: ["Swift version 6.2 (swift-6.2-RELEASE)", "Swift version 6.3.1 (swift-6.3.1-RELEASE)",
                      "Apple Swift version 6.10-dev (LLVM 1234)"])
    func newEnoughPasses(line: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("toolchain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let swift = folder.appendingPathComponent("swift")
        try "#!/bin/sh\necho '\(line)'\n".write(to: swift, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: swift.path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.repository.appendingPathComponent("scripts/check-swift.sh").path, swift.path, "6.2"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
