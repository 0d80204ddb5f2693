import Foundation
import Testing
@testable import Support

@Suite struct AtomicFileTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("support-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }

    @Test func writesAndReplacesWholeFiles() throws {
        let url = folder.appendingPathComponent("a.txt")
        try AtomicFile.write(Data("first".utf8), to: url)
        try AtomicFile.write(Data("second".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "second")
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.txt"])
    }

    @Test func aFailedStreamLeavesTheOldFile() throws {
        struct Stop: Error {}
        let url = folder.appendingPathComponent("b.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: url)
        #expect(throws: AtomicFileError.self) {
            try AtomicFile.write(to: url) { output in
                try output.write(Data([9, 9]))
                throw Stop()
            }
        }
        #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["b.bin"])
    }

    @Test func streamsPieces() throws {
        let url = folder.appendingPathComponent("c.bin")
        try AtomicFile.write(to: url) { output in
            for i in 0..<4 { try output.write(Data(repeating: UInt8(i), count: 3)) }
        }
        #expect(try Data(contentsOf: url) == Data([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]))
    }

    @Test func anUnwritableFolderIsATypedError() {
        let url = folder.appendingPathComponent("missing/d.txt")
        #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data("x".utf8), to: url) }
    }

    /// A process killed mid-write leaves its temporary file; the next writer of the folder
    /// removes those of dead processes, and keeps a live process's and every other file.
    @Test func leftoversOfDeadWritersAreRemoved() throws {
        let dead = Int32.max                                // above any pid_max: no such process
        let names = [".epoch_0003.safetensors.\(dead).12345.tmp", ".last.safetensors.\(dead).link",
                     ".metrics.csv.\(getppid()).77.tmp", ".hidden", "notes.tmp", "last.safetensors"]
        for name in names { try Data([1]).write(to: folder.appendingPathComponent(name)) }
        let removed = AtomicFile.removeLeftovers(in: folder)
        #expect(Set(removed) == [names[0], names[1]])
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)) == Set(names.dropFirst(2)))
    }

    @Test func linksReplaceAtomically() throws {
        let target = folder.appendingPathComponent("t.bin"), alias = folder.appendingPathComponent("alias.bin")
        try AtomicFile.write(Data([7]), to: target)
        try AtomicFile.write(Data([1]), to: alias)
        try AtomicFile.link(target, as: alias)
        #expect(try Data(contentsOf: alias) == Data([7]))
    }
}

@Suite struct ParallelTests {
    @Test(arguments: [(0, 3), (1, 3), (7, 3), (10, 4), (5, 9)])
    func chunksCoverEveryIndexOnce(count: Int, chunks: Int) {
        let seen = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
        defer { seen.deallocate() }
        seen.initialize(repeating: 0)
        let box = UnsafeSendable(seen)
        var calls = 0
        Parallel.forChunks(count, chunks: chunks) { _, range in
            for i in range { box.value[i] += 1 }
        }
        for i in 0..<count { calls += seen[i] }
        #expect(calls == count)
        #expect((0..<count).allSatisfy { seen[$0] == 1 })
    }

    @Test func seriallyUsesOneWorker() {
        #expect(Parallel.serially { Parallel.workers } == 1)
    }
}

@Suite struct LineTests {
    @Test func bufferCutsAtNewlines() {
        var buffer = LineBuffer()
        buffer.append(Data("ab\ncd".utf8))
        #expect(buffer.nextLine() == Data("ab".utf8))
        #expect(buffer.nextLine() == nil)
        buffer.append(Data("e\n\nf".utf8))
        #expect(buffer.nextLine() == Data("cde".utf8))
        #expect(buffer.nextLine() == Data())
        #expect(buffer.rest() == Data("f".utf8))
        #expect(buffer.rest() == nil)
    }

    @Test func tailReadsOnlyCompleteNewLines() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tail-\(UUID().uuidString).jsonl")
        try Data("one\ntw".utf8).write(to: url)
        var tail = FileTail(file: url)
        #expect(tail.readLines() == [Data("one".utf8)])
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("o\nthree\n".utf8))
        try handle.close()
        #expect(tail.readLines() == [Data("two".utf8), Data("three".utf8)])
        #expect(tail.readLines() == [])
    }

    @Test func readerReturnsTheLastLineWithoutNewline() throws {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("x\ny".utf8))
        try pipe.fileHandleForWriting.close()
        var reader = LineReader(pipe.fileHandleForReading)
        #expect(reader.next() == Data("x".utf8))
        #expect(reader.next() == Data("y".utf8))
        #expect(reader.next() == nil)
    }
}

@Suite struct JSONValueTests {
    @Test func roundTripsAndReadsMembers() throws {
        let text = #"{"a":[1,2.5,"s",true,null],"b":{"c":18446744073}}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["b"]?["c"] == .integer(18_446_744_073))
        #expect(value["a"] == .array([.integer(1), .number(2.5), .string("s"), .bool(true), .null]))
        let again = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        #expect(again == value)
    }

    @Test func stopFlagIsSetOnce() {
        let flag = StopFlag()
        #expect(!flag.isSet)
        flag.set()
        #expect(flag.isSet)
    }
}

@Suite struct ConfinedPathTests {
    let base: URL
    let root: URL
    let outside: URL

    init() throws {
        base = URL(fileURLWithPath: ConfinedPath.resolve(FileManager.default.temporaryDirectory.path)!)
            .appendingPathComponent("confined-\(UUID().uuidString)")
        root = base.appendingPathComponent("root")
        outside = base.appendingPathComponent("outside")
        for folder in [root.appendingPathComponent("inner"), outside] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try Data("secret".utf8).write(to: outside.appendingPathComponent("secret.txt"))
        try Data("ok".utf8).write(to: root.appendingPathComponent("inner/ok.txt"))
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("out").path, withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("out-relative").path, withDestinationPath: "../outside/secret.txt")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("dangling-out").path, withDestinationPath: outside.appendingPathComponent("none").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("in").path, withDestinationPath: "inner")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("loop-a").path, withDestinationPath: "loop-b")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("loop-b").path, withDestinationPath: "loop-a")
    }

    /// Links that lead outside are outside whether or not their targets exist; links that stay
    /// inside resolve to their real paths; loops are refused.
    @Test func symlinksAreFollowedWithoutOpening() throws {
        defer { try? FileManager.default.removeItem(at: base) }
        let confined = try #require(ConfinedPath(root))
        #expect(confined.root == root.path)
        func check(_ path: String) -> String? { confined.check(root.appendingPathComponent(path))?.path }
        #expect(check("inner/ok.txt") == root.path + "/inner/ok.txt")
        #expect(check("in/ok.txt") == root.path + "/inner/ok.txt")
        #expect(check("in/../inner/missing.txt") == root.path + "/inner/missing.txt")
        #expect(check("missing/deeper/x.mp4") == root.path + "/missing/deeper/x.mp4")
        #expect(check("out/secret.txt") == nil)
        #expect(check("out/none.txt") == nil)
        #expect(check("out-relative") == nil)
        #expect(check("dangling-out") == nil)
        #expect(check("inner/../../outside/secret.txt") == nil)
        #expect(check("loop-a/x") == nil)
        // Climbing out through `..` and back in is inside.
        #expect(check("../root/inner/ok.txt") == root.path + "/inner/ok.txt")
        #expect(ConfinedPath(root.appendingPathComponent("missing")) == nil)
        #expect(ConfinedPath(root.appendingPathComponent("inner/ok.txt")) == nil)
        // A root reached through a link is stored as its real path.
        #expect(ConfinedPath(root.appendingPathComponent("in"))?.root == root.path + "/inner")
        // A sibling whose name starts with the root's is not inside it.
        #expect(!confined.contains(root.path + "-evil/x"))
    }
}
