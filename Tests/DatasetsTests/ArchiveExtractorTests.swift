import Foundation
import Testing
@testable import Datasets

/// Honest archives: tar, tar.gz and zip extract; `ArchivePacker` round-trips a folder.
@Suite struct ArchiveExtractorTests {
    typealias F = ArchiveFixtures

    /// ./ prefixes, a directory member, a pax path, a GNU long name and a ustar prefix.
    static func sampleTar() -> [UInt8] {
        let longName = "videos/" + String(repeating: "l", count: 150) + ".mp4"
        let gnuName = "gnu/" + String(repeating: "g", count: 120) + ".mp4"
        var t = F.tarHeader("./", type: UInt8(ascii: "5"))
        t += F.tarHeader("./videos/", type: UInt8(ascii: "5"))
        t += F.tarMember("./videos/a.mp4", Array("hello".utf8))
        t += F.paxHeader([("path", longName), ("mtime", "1700000000.5")]) + F.tarMember("placeholder", Array("pax".utf8))
        t += F.tarMember("././@LongLink", Array(gnuName.utf8) + [0], type: UInt8(ascii: "L"))
        t += F.tarMember("trunc", Array("gnu".utf8))
        t += F.tarHeader("pax-global", type: UInt8(ascii: "g"), size: 0)
        t += F.tarMember("train.txt", Array("videos/a.mp4 0\n".utf8))
        t += F.tarMember("empty.txt", [])
        return t + F.tarEnd
    }

    static func expectSample(_ out: URL, _ summary: ExtractionSummary) {
        let longName = "videos/" + String(repeating: "l", count: 150) + ".mp4"
        let gnuName = "gnu/" + String(repeating: "g", count: 120) + ".mp4"
        #expect(summary == ExtractionSummary(files: 5, directories: 2, bytes: 5 + 3 + 3 + 15))
        func read(_ name: String) -> String? { try? String(contentsOf: out.appendingPathComponent(name), encoding: .utf8) }
        #expect(read("videos/a.mp4") == "hello")
        #expect(read(longName) == "pax")
        #expect(read(gnuName) == "gnu")
        #expect(read("empty.txt") == "")
        #expect(read("placeholder") == nil)
        let attributes = try? FileManager.default.attributesOfItem(atPath: out.appendingPathComponent("train.txt").path)
        #expect((attributes?[.posixPermissions] as? Int) == 0o644)
    }

    @Test func extractsTar() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = F.write(Self.sampleTar(), "data.tar", in: dir)
        let out = dir.appendingPathComponent("out")
        Self.expectSample(out, try ArchiveExtractor.extract(archive, into: out, limits: F.roomy))
    }

    @Test func extractsTarGzIncludingConcatenatedMembers() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = Self.sampleTar()
        let archive = F.write(F.gzip(Array(tar[..<2048])) + F.gzip(Array(tar[2048...])), "data.tar.gz", in: dir)
        #expect(ArchiveFormat.sniff(archive) == .tarGz)
        let out = dir.appendingPathComponent("out")
        Self.expectSample(out, try ArchiveExtractor.extract(archive, into: out, limits: F.roomy))
    }

    @Test func extractsZip() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 5) }
        let archive = F.write(F.zip([
            .stored("clips/", [], mode: 0o040755),
            .stored("clips/a.txt", Array("stored".utf8)),
            .deflated("clips/b.bin", big),
            .deflated("nested/deeper/c.txt", Array("deflated".utf8)),
        ]), "data.zip", in: dir)
        let out = dir.appendingPathComponent("out")
        let summary = try ArchiveExtractor.extract(archive, into: out, limits: F.roomy)
        #expect(summary == ExtractionSummary(files: 3, directories: 3, bytes: Int64(6 + big.count + 8)))
        #expect(try Data(contentsOf: out.appendingPathComponent("clips/b.bin")) == Data(big))
        #expect(try String(contentsOf: out.appendingPathComponent("nested/deeper/c.txt"), encoding: .utf8) == "deflated")
    }

    @Test func packThenExtractGivesTheSameFolder() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source")
        let fm = FileManager.default
        let deepFolder = (0..<6).map { "folder-\($0)-" + String(repeating: "d", count: 20) }.joined(separator: "/")
        var files: [String: [UInt8]] = [
            "train.txt": Array("a/x.mp4 0\n".utf8),
            "a/x.mp4": (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) },
            "a/empty": [],
            "ünïcødé/名前.txt": Array("utf-8".utf8),
            deepFolder + "/ustar-prefix.txt": Array("prefix".utf8),
            "pax/" + String(repeating: "p", count: 180) + ".txt": Array("pax".utf8),
        ]
        files["a/ 'quoted' name.txt"] = Array("spaces".utf8)
        for (name, bytes) in files {
            let url = source.appendingPathComponent(name)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        try fm.createDirectory(at: source.appendingPathComponent("empty-folder"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: source.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        #expect(mkfifo(source.appendingPathComponent("fifo").path, 0o644) == 0)
        // The archive inside the folder it packs is not packed into itself.
        let archive = source.appendingPathComponent("data.tar.gz")
        let packed = try ArchivePacker.pack(source, to: archive)
        #expect(packed.files == files.count)
        #expect(packed.bytes == Int64(files.values.reduce(0) { $0 + $1.count }))
        #expect(packed.skipped == ["etc (symbolic link)", "fifo (special file)"])
        #expect(ArchiveFormat.sniff(archive) == .tarGz)

        let out = dir.appendingPathComponent("out")
        let summary = try ArchiveExtractor.extract(archive, into: out, limits: F.roomy)
        #expect(summary.files == files.count)
        #expect(summary.bytes == packed.bytes)
        for (name, bytes) in files {
            #expect(try Data(contentsOf: out.appendingPathComponent(name)) == Data(bytes), "\(name)")
        }
        var isDirectory: ObjCBool = false
        #expect(fm.fileExists(atPath: out.appendingPathComponent("empty-folder").path, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(!fm.fileExists(atPath: out.appendingPathComponent("etc").path))
        #expect(!fm.fileExists(atPath: out.appendingPathComponent("data.tar.gz").path))
        let leftovers = try fm.contentsOfDirectory(atPath: source.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test func sniffsEachFormatAndNothingElse() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = Self.sampleTar()
        #expect(ArchiveFormat.sniff(F.write(tar, "a", in: dir)) == .tar)
        #expect(ArchiveFormat.sniff(F.write(F.gzip(tar), "b", in: dir)) == .tarGz)
        #expect(ArchiveFormat.sniff(F.write(F.zip([.stored("x", [1])]), "c", in: dir)) == .zip)
        #expect(ArchiveFormat.sniff(F.write(F.zip([]), "d", in: dir)) == .zip)
        var generator = SystemRandomNumberGenerator()
        for i in 0..<20 {
            let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            guard noise[0] != 0x1f, noise[0] != 0x50 else { continue }
            #expect(ArchiveFormat.sniff(F.write(noise, "noise\(i)", in: dir)) == nil)
        }
        #expect(ArchiveFormat.sniff(F.write([], "empty", in: dir)) == nil)
        #expect(ArchiveFormat.sniff(dir.appendingPathComponent("missing")) == nil)
        F.expectRefused(F.write(Array("just text, not an archive".utf8), "text", in: dir), .unknownFormat)
    }

    @Test func errorsHaveStableCodes() {
        let cases: [(ArchiveError, String)] = [
            (.unknownFormat, "unknown_format"), (.malformed("x"), "malformed_archive"), (.unsafePath("x"), "unsafe_path"),
            (.notUTF8, "not_utf8"), (.link("x"), "link_in_archive"), (.specialFile("x"), "special_file"),
            (.tooManyFiles(limit: 1), "too_many_files"), (.tooLarge(limitBytes: 1), "too_large"),
            (.cancelled, "cancelled"), (.io("x"), "io_error"),
        ]
        for (error, code) in cases { #expect(error.code == code) }
        #expect(ArchiveError.unsafePath("../\u{1}x").description.contains("\\u{1}"))
    }
}
