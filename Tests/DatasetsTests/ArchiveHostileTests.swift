import CGzip
import Foundation
import Testing
@testable import Datasets

/// Hostile archives: each is refused with its reason, and no destination folder is left behind.
@Suite struct ArchiveHostileTests {
    typealias F = ArchiveFixtures

    static let escapingNames = ["../../x", "/etc/x", "a/../../x", "a/..", "..", "a//b", "a\\b", "."]

    @Test(arguments: escapingNames) func refusesEscapingNamesInTar(_ name: String) {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = F.tarMember("ok.txt", [1]) + F.tarMember(name, Array("pwned".utf8)) + F.tarEnd
        F.expectRefused(F.write(tar, "slip.tar", in: dir), .unsafePath(name))
        F.expectRefused(F.write(F.gzip(tar), "slip.tar.gz", in: dir), .unsafePath(name))
        // The same name through a pax header.
        let pax = F.paxHeader([("path", name)]) + F.tarMember("innocent", [1]) + F.tarEnd
        F.expectRefused(F.write(pax, "pax.tar", in: dir), .unsafePath(name))
        #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("x").path))
    }

    @Test(arguments: escapingNames) func refusesEscapingNamesInZip(_ name: String) {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        F.expectRefused(F.write(F.zip([.stored("ok.txt", [1]), .deflated(name, Array("pwned".utf8))]), "slip.zip", in: dir), .unsafePath(name))
    }

    @Test func refusesNamesWithNUL() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var entry = F.ZipEntry.stored("x", [1])
        entry.name = Array("a\u{0}b".utf8)
        F.expectRefused(F.write(F.zip([entry]), "nul.zip", in: dir), .unsafePath("a\u{0}b"))
    }

    @Test func refusesLinks() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let symlink = F.tarMember("ok.txt", [1]) + F.tarHeader("etc", type: UInt8(ascii: "2"), link: "/etc") + F.tarEnd
        F.expectRefused(F.write(symlink, "symlink.tar", in: dir), .link("etc"))
        let hardlink = F.tarMember("ok.txt", [1]) + F.tarHeader("passwd", type: UInt8(ascii: "1"), link: "/etc/passwd") + F.tarEnd
        F.expectRefused(F.write(F.gzip(hardlink), "hardlink.tar.gz", in: dir), .link("passwd"))
        F.expectRefused(F.write(F.zip([.stored("ok.txt", [1]), .stored("etc", Array("/etc".utf8), mode: 0o120777)]), "symlink.zip", in: dir), .link("etc"))
    }

    @Test func refusesDevicesFIFOsAndOtherTypes() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for type in "346SVMN?" {
            let tar = F.tarMember("ok.txt", [1]) + F.tarHeader("node", type: type.asciiValue!) + F.tarEnd
            F.expectRefused(F.write(tar, "special.tar", in: dir), .specialFile("node"))
        }
        // A GNU sparse file disguised as a regular one by pax.
        let sparse = F.paxHeader([("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0")]) + F.tarMember("sparse", [1]) + F.tarEnd
        F.expectRefused(F.write(sparse, "sparse.tar", in: dir), .specialFile("sparse"))
        for mode: UInt32 in [0o010644, 0o020644, 0o060644, 0o140644] {   // FIFO, character and block device, socket
            F.expectRefused(F.write(F.zip([.stored("node", [], mode: mode)]), "special.zip", in: dir), .specialFile("node"))
        }
    }

    @Test func refusesNamesThatAreNotUTF8() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name: [UInt8] = [UInt8(ascii: "a"), 0xff, 0xfe, UInt8(ascii: "b")]
        let tar = F.tarHeader(name) + F.tarEnd
        F.expectRefused(F.write(tar, "latin.tar", in: dir), .notUTF8)
        var entry = F.ZipEntry.stored("x", [1])
        entry.name = name
        F.expectRefused(F.write(F.zip([entry]), "latin.zip", in: dir), .notUTF8)
    }

    @Test func refusesDuplicatesAndFileDirectoryClashes() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        F.expectMalformed(F.write(F.tarMember("a", [1]) + F.tarMember("a", [2]) + F.tarEnd, "dup.tar", in: dir))
        F.expectMalformed(F.write(F.tarMember("a", [1]) + F.tarMember("a/b", [2]) + F.tarEnd, "clash.tar", in: dir))
        F.expectMalformed(F.write(F.zip([.stored("a/b", [1]), .stored("a", [2])]), "clash.zip", in: dir))
    }

    /// 100 MB of zeros deflated to about 100 kB, against a 10 MB limit.
    @Test func refusesZipBomb() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let deflate = F.Deflate(windowBits: -15, level: 9)
        for _ in 0..<100 { deflate.add(zeros) }
        let stream = deflate.finish()
        #expect(stream.count < 200_000)
        let entry = F.ZipEntry(name: Array("zeros.bin".utf8), data: stream, deflated: true, crc: deflate.crc, size: UInt32(deflate.count))
        let limits = ArchiveLimits(maxFiles: 100, maxBytes: 10 << 20)
        let archive = F.write(F.zip([entry]), "bomb.zip", in: dir)
        let start = ContinuousClock.now
        F.expectRefused(archive, .tooLarge(limitBytes: 10 << 20), limits: limits)
        // Overlapping members: ten directory records pointing at one 5 MB member.
        let five = F.ZipEntry.deflated("five.bin", [UInt8](repeating: 0, count: 5 << 20))
        var zip = F.zip([five])
        zip = Self.repeatingCentralRecord(zip, times: 10)
        F.expectRefused(F.write(zip, "overlap.zip", in: dir), .tooLarge(limitBytes: 10 << 20), limits: limits)
        print("zip bombs refused in \(ContinuousClock.now - start)")
    }

    /// Headers that understate what the data inflates to, or claim more than the limit.
    @Test func refusesZipWhoseHeadersLie() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var small = F.ZipEntry.deflated("liar.bin", [UInt8](repeating: 7, count: 1 << 20))
        small.size = 1000
        F.expectMalformed(F.write(F.zip([small]), "understated.zip", in: dir))
        var huge = F.ZipEntry.deflated("huge.bin", [1, 2, 3])
        huge.size = 0xffff_fff0
        F.expectRefused(F.write(F.zip([huge]), "overstated.zip", in: dir), .tooLarge(limitBytes: 10 << 20),
                        limits: ArchiveLimits(maxFiles: 10, maxBytes: 10 << 20))
        var badCRC = F.ZipEntry.deflated("crc.bin", Array("data".utf8))
        badCRC.crc ^= 1
        F.expectMalformed(F.write(F.zip([badCRC]), "crc.zip", in: dir))
        // A tar header claiming more than the limit is refused before its data is read.
        let tar = F.tarHeader("big.bin", size: 1 << 32) + F.tarEnd
        F.expectRefused(F.write(tar, "big.tar", in: dir), .tooLarge(limitBytes: 10 << 20), limits: ArchiveLimits(maxFiles: 10, maxBytes: 10 << 20))
    }

    /// A deflate stream that runs off the end of the file (a non-final stored block claiming
    /// 65535 bytes) must end in an error, not a spin: ZIPFoundation 0.9.20 hangs on this one.
    @Test func refusesDeflateStreamRunningOffTheEnd() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let entry = F.ZipEntry(name: Array("a.bin".utf8), data: [0x00, 0xff, 0xff, 0x00, 0x00], deflated: true, crc: 0, size: 65535)
        F.expectMalformed(F.write(F.zip([entry]), "endless.zip", in: dir))
    }

    /// 10⁶ empty members, gzip-compressed, against a limit of 1000: refused after the 1001st.
    @Test func refusesMillionMemberTarGz() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = ContinuousClock.now
        let archive = F.write(F.manyMemberTarGz(count: 1_000_000), "million.tar.gz", in: dir)
        let refused = ContinuousClock.now
        F.expectRefused(archive, .tooManyFiles(limit: 1000), limits: ArchiveLimits(maxFiles: 1000, maxBytes: 1 << 30))
        let size = (try? FileManager.default.attributesOfItem(atPath: archive.path)[.size] as? Int) ?? 0
        print("10^6-member tar.gz: \(size) bytes, made in \(refused - made), refused in \(ContinuousClock.now - refused)")
        #expect(ContinuousClock.now - refused < .seconds(5))
    }

    /// The generator behind the 10⁶-member archive makes a valid tar.gz.
    @Test func manyMemberGeneratorMakesAValidArchive() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = F.write(F.manyMemberTarGz(count: 3000), "many.tar.gz", in: dir)
        let out = dir.appendingPathComponent("out")
        #expect(try ArchiveExtractor.extract(archive, into: out, limits: F.roomy) == ExtractionSummary(files: 3000))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("f0002999").path))
    }

    @Test func refusesZipWithTooManyMembersBeforeWritingAny() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let entries = (0..<2000).map { F.ZipEntry.stored("f\($0)", []) }
        F.expectRefused(F.write(F.zip(entries), "many.zip", in: dir), .tooManyFiles(limit: 1000), limits: ArchiveLimits(maxFiles: 1000, maxBytes: 1 << 30))
        // Parent folders count too.
        let nested = F.tarMember("a/b/c/d.txt", [1]) + F.tarEnd
        F.expectRefused(F.write(nested, "nested.tar", in: dir), .tooManyFiles(limit: 3), limits: ArchiveLimits(maxFiles: 3, maxBytes: 100))
    }

    @Test func refusesTruncatedArchives() {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let tar = F.tarMember("a.bin", data) + F.tarMember("b.txt", [1, 2, 3]) + F.tarEnd
        for cut in [100, 512 + 1000, 512 + 5120, tar.count - 1024, tar.count - 512] {
            F.expectMalformed(F.write(Array(tar[..<cut]), "cut\(cut).tar", in: dir), format: .tar)
        }
        let gz = F.gzip(tar)
        for cut in [gz.count / 2, gz.count - 4, gz.count - 1] {
            F.expectMalformed(F.write(Array(gz[..<cut]), "cut\(cut).tar.gz", in: dir))
        }
        var flipped = gz
        flipped[gz.count / 2] ^= 0xff
        F.expectMalformed(F.write(flipped, "flipped.tar.gz", in: dir))
        var badSum = tar
        badSum[10] ^= 1
        F.expectMalformed(F.write(badSum, "badsum.tar", in: dir), format: .tar)
        let zip = F.zip([.deflated("a.bin", data), .stored("b.txt", [1, 2, 3])])
        for cut in [zip.count / 2, zip.count - 10, 30] {
            F.expectMalformed(F.write(Array(zip[..<cut]), "cut\(cut).zip", in: dir), format: .zip)
        }
        // The central directory survives but a member's data was cut out of the middle.
        var hollow = zip
        hollow.removeSubrange(60..<200)
        F.expectMalformed(F.write(hollow, "hollow.zip", in: dir), format: .zip)
    }

    @Test func cancellingRemovesWhatWasWritten() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = (0..<50).flatMap { F.tarMember("f\($0)", [UInt8](repeating: 1, count: 1000)) } + F.tarEnd
        let archive = F.write(tar, "data.tar", in: dir)
        let out = dir.appendingPathComponent("out")
        var calls = 0
        #expect(throws: ArchiveError.cancelled) {
            try ArchiveExtractor.extract(archive, into: out, limits: F.roomy) { calls += 1; return calls > 20 }
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func leavesAnExistingFolderAlone() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = F.write(F.tarMember("a", [1]) + F.tarEnd, "data.tar", in: dir)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: out.appendingPathComponent("mine.txt"))
        #expect(throws: ArchiveError.io("\(out.path) already exists")) {
            try ArchiveExtractor.extract(archive, into: out, limits: F.roomy)
        }
        #expect(try String(contentsOf: out.appendingPathComponent("mine.txt"), encoding: .utf8) == "keep")
    }

    @Test func packerSkipsNamesTheExtractorWouldRefuse() throws {
        let dir = F.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try Data([1]).write(to: source.appendingPathComponent("ok.txt"))
        let latin: [CChar] = Array((source.path + "/caf").utf8CString.dropLast()) + [CChar(bitPattern: 0xe9), 0]   // Latin-1 "café"
        close(open(latin, O_CREAT | O_WRONLY, 0o644))
        try Data([2]).write(to: source.appendingPathComponent("back\\slash"))
        let archive = dir.appendingPathComponent("data.tar.gz")
        let summary = try ArchivePacker.pack(source, to: archive)
        #expect(summary.files == 1)
        #expect(summary.skipped == ["back\\slash (a name the extractor refuses)", "caf\u{FFFD} (a name the extractor refuses)"])
        let out = dir.appendingPathComponent("out")
        #expect(try ArchiveExtractor.extract(archive, into: out, limits: F.roomy).files == 1)
    }

    /// `zip` with its one central directory record repeated `times` times (overlapping members).
    static func repeatingCentralRecord(_ zip: [UInt8], times: Int) -> [UInt8] {
        let end = zip.count - 22
        let offset = Int(ZipReader.u32(zip, end + 16)), size = Int(ZipReader.u32(zip, end + 12))
        var out = Array(zip[..<offset])
        for i in 0..<times {
            var record = Array(zip[offset..<(offset + size)])
            record[46] = UInt8(ascii: "a") + UInt8(i)   // a distinct first letter per name
            out += record
        }
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xffff) + le16(v >> 16) }
        return out + le32(0x0605_4b50) + le16(0) + le16(0) + le16(times) + le16(times) + le32(size * times) + le32(offset) + le16(0)
    }
}
