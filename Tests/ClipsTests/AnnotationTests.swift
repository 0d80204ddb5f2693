import Foundation
import Testing
@testable import Clips
import Support

/// A fresh temporary folder holding `files` (relative path → contents).
func scratchFolder(_ files: [String: String]) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clips-\(UUID().uuidString)")
    for (path, text) in files {
        let url = dir.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// The error `body` throws, if it is an `AnnotationError`.
func annotationError(_ body: () throws -> Void) -> AnnotationError? {
    do { try body() } catch let e as AnnotationError { return e } catch { return nil }
    return nil
}

@Suite struct AnnotationListTests {
    @Test func videoListWithSpacesAndBlankLines() throws {
        let list = try AnnotationList.parseVideoList("a/b.mp4 3\n\n  c d/e.avi 0  \r\n")
        #expect(list.items == [Annotation(path: "a/b.mp4", label: 3), Annotation(path: "c d/e.avi", label: 0)])
        #expect(list.text == "a/b.mp4 3\nc d/e.avi 0\n")
    }

    @Test func rawframeList() throws {
        let list = try AnnotationList.parseRawframeList("frames/v1 120 4\nframes/v2 33 0\n")
        #expect(list.items == [Annotation(path: "frames/v1", label: 4, frameCount: 120),
                               Annotation(path: "frames/v2", label: 0, frameCount: 33)])
        #expect(try AnnotationList.parseRawframeList(list.text) == list)
    }

    @Test func malformedLinesAreNamed() {
        #expect(annotationError { _ = try AnnotationList.parseVideoList("a.mp4 1\nb.mp4 x\n", file: "v.txt") }
                == .malformedLine(file: "v.txt", line: 2, reason: "expected 'path label', got 'b.mp4 x'"))
        #expect(annotationError { _ = try AnnotationList.parseVideoList("a.mp4 1\r\n\r\nb.mp4\r\n", file: "w.txt") }
                == .malformedLine(file: "w.txt", line: 3, reason: "expected 'path label', got 'b.mp4'"))
        if case .malformedLine(_, 3, _) = annotationError({ _ = try AnnotationList.parseRawframeList("a 1 1\n\nb 2\n") }) {} else {
            Issue.record("a two-field rawframe line on line 3 should be malformed")
        }
    }

    @Test func labelsBeyondTheClassesAreUnknown() {
        #expect(annotationError { _ = try AnnotationList.parseVideoList("a.mp4 2\n", file: "v.txt", classes: ["x", "y"]) }
                == .unknownClass("2", file: "v.txt", line: 1))
    }

    @Test func classNamesFile() {
        #expect(AnnotationList.parseClassNames("abseiling\r\nair drumming\n\n") == ["abseiling", "air drumming"])
    }

    @Test func pathsMayNotLeaveTheRoot() throws {
        for bad in ["../secret.mp4", "a/../../b.mp4", "/etc/passwd", "~/x.mp4", "a\\..\\b.mp4", "C:\\v.mp4"] {
            #expect(annotationError { _ = try AnnotationList.parseVideoList("\(bad) 0\n", file: "l.txt") }
                    == .pathEscapesRoot(bad, file: "l.txt", line: 1), "\(bad)")
        }
        let root = DataRoot(path: "/data/ucf")
        #expect(try root.resolve("a/b..c.mp4").path == "/data/ucf/a/b..c.mp4")
        #expect(annotationError { _ = try root.resolve("x/../../y") } != nil)
    }

    /// Confined, a root resolves symlinks: a file or a folder that leads outside is refused, and
    /// so is a frame folder with one linked frame outside; links that stay inside give real paths.
    @Test func confinedRootsDoNotFollowLinksOut() throws {
        let base = URL(fileURLWithPath: ConfinedPath.resolve(try scratchFolder([
            "root/frames/img_00001.jpg": "x", "root/frames/img_00002.jpg": "y", "root/bad-frames/img_00001.jpg": "x",
            "root/a.mp4": "v", "outside/secret.mp4": "s", "outside/img.jpg": "s",
        ]).path)!)
        defer { try? FileManager.default.removeItem(at: base) }
        let fm = FileManager.default
        let folder = base.appendingPathComponent("root")
        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("out").path, withDestinationPath: "../outside")
        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("b.mp4").path, withDestinationPath: "a.mp4")
        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("bad-frames/img_00002.jpg").path,
                                  withDestinationPath: base.appendingPathComponent("outside/img.jpg").path)
        let root = DataRoot(folder, confinedTo: try #require(ConfinedPath(folder)))
        #expect(try root.resolve("b.mp4").path == folder.path + "/a.mp4")
        #expect(try root.resolve("frames").path == folder.path + "/frames")
        #expect(annotationError { _ = try root.resolve("out/secret.mp4", file: "l.txt", line: 4) }
                == .pathEscapesRoot("out/secret.mp4", file: "l.txt", line: 4))
        #expect(annotationError { _ = try root.resolve("out/none.mp4") } != nil)
        #expect(annotationError { _ = try root.resolve("bad-frames") } == .pathEscapesRoot("bad-frames/img_00002.jpg", file: "<path>", line: 0))
        // Unconfined, the same root follows the link as before (a dataset symlinked in by its owner).
        #expect(try DataRoot(folder).resolve("out/secret.mp4").path == folder.path + "/out/secret.mp4")
    }

    @Test func missingFilesAreReported() throws {
        let dir = try scratchFolder(["a/1.mp4": ""])
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = AnnotationList(items: [Annotation(path: "a/1.mp4", label: 0), Annotation(path: "a/2.mp4", label: 0)])
        #expect(annotationError { try list.verifyFiles(under: DataRoot(dir)) }
                == .missingFile(dir.standardizedFileURL.appendingPathComponent("a/2.mp4").path))
        #expect(annotationError { _ = try AnnotationList.readVideoList(dir.appendingPathComponent("none.txt")) }
                == .missingFile(dir.appendingPathComponent("none.txt").path))
    }

    @Test func classFoldersAreDiscovered() throws {
        let dir = try scratchFolder(["walk/b.mp4": "", "walk/a.AVI": "", "run/x/c.webm": "", "run/notes.txt": "",
                                     "jump/.hidden.mp4": "", "readme.md": ""])
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = try DataRoot(dir).discoverClassFolders()
        #expect(list.classes == ["jump", "run", "walk"])
        #expect(list.items == [Annotation(path: "run/x/c.webm", label: 1), Annotation(path: "walk/a.AVI", label: 2),
                               Annotation(path: "walk/b.mp4", label: 2)])
    }
}

@Suite struct ImporterTests {
    @Test func ucf101() throws {
        let dir = try scratchFolder([
            "classInd.txt": "1 ApplyEyeMakeup\r\n2 Archery\r\n3 YoYo\r\n",
            "trainlist01.txt": "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nYoYo/v_YoYo_g09_c02.avi 3\r\n",
            "testlist01.txt": "Archery/v_Archery_g01_c01.avi\r\nYoYo/v_YoYo_g01_c01.avi\r\n",
            "trainlist02.txt": "Archery/v_Archery_g02_c01.avi 1\n", "testlist02.txt": "",
            "trainlist03.txt": "Bowling/v_Bowling_g02_c01.avi 2\n", "testlist03.txt": "",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let (train, test) = try UCF101.split(1, in: dir)
        #expect(train.classes == ["ApplyEyeMakeup", "Archery", "YoYo"])
        #expect(train.items.map(\.label) == [0, 2] && test.items.map(\.label) == [1, 2])
        #expect(test.items[0].path == "Archery/v_Archery_g01_c01.avi")
        if case .malformedLine(_, 1, _) = annotationError({ _ = try UCF101.split(2, in: dir) }) {} else {
            Issue.record("a label that disagrees with the folder is an error")
        }
        #expect(annotationError { _ = try UCF101.split(3, in: dir) }
                == .unknownClass("Bowling", file: dir.appendingPathComponent("trainlist03.txt").path, line: 1))
    }

    /// A class listed twice in classInd.txt is malformed instead of trapping when the list is
    /// indexed by name (found by fuzz-importers: Tests/Fuzz/importers/regression-ucf101-duplicate-class).
    @Test func ucf101DuplicateClassIsMalformed() throws {
        let dir = try scratchFolder(["classInd.txt": "1 Ey\n4 Ey\n3 AIp\n2 A\n", "trainlist01.txt": "Ey/v.avi 1\n",
                                     "testlist01.txt": ""])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(annotationError { _ = try UCF101.split(1, in: dir) }
                == .malformedLine(file: dir.appendingPathComponent("classInd.txt").path, line: 2, reason: "class Ey is listed twice"))
    }

    @Test func hmdb51() throws {
        let dir = try scratchFolder([
            "brush_hair_test_split1.txt": "April_brush_hair_u_0.avi 1 \nBrushing_hair_1.avi 2 \nhair_2.avi 0 \n",
            "cartwheel_test_split1.txt": "Cartwheel_0.avi 2 \n",
            "cartwheel_test_split2.txt": "Cartwheel_0.avi 3 \n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let (train, test) = try HMDB51.split(1, in: dir)
        #expect(train.classes == ["brush_hair", "cartwheel"])
        #expect(train.items == [Annotation(path: "brush_hair/April_brush_hair_u_0.avi", label: 0)])
        #expect(test.items == [Annotation(path: "brush_hair/Brushing_hair_1.avi", label: 0),
                               Annotation(path: "cartwheel/Cartwheel_0.avi", label: 1)])
        if case .malformedLine(_, 1, _) = annotationError({ _ = try HMDB51.split(2, in: dir) }) {} else {
            Issue.record("use id 3 is malformed")
        }
        #expect(annotationError { _ = try HMDB51.split(3, in: dir) } != nil)
    }

    @Test func kinetics() throws {
        let csv = """
        label,youtube_id,time_start,time_end,split
        "riding a bike",abc-_1,14,24,train
        abseiling,--07WQ2iBlw,1,11,train
        "pushing cart, fast",x9,300,310,train
        """
        let list = try Kinetics.parse(csv, file: "k.csv")
        #expect(list.classes == ["abseiling", "pushing cart, fast", "riding a bike"])
        #expect(list.items == [Annotation(path: "abc-_1_000014_000024.mp4", label: 2),
                               Annotation(path: "--07WQ2iBlw_000001_000011.mp4", label: 0),
                               Annotation(path: "x9_000300_000310.mp4", label: 1)])
        let folders = try Kinetics.parse(csv, classes: list.classes, classFolders: true)
        #expect(folders.items[0].path == "riding a bike/abc-_1_000014_000024.mp4")
        #expect(annotationError { _ = try Kinetics.parse(csv, file: "k.csv", classes: ["abseiling"]) }
                == .unknownClass("riding a bike", file: "k.csv", line: 2))
        if case .malformedLine(_, 3, _) = annotationError({ _ = try Kinetics.parse("label,youtube_id,time_start,time_end\na,b,1,2\na,b,x,2\n") }) {} else {
            Issue.record("a non-numeric time is malformed")
        }
        if case .malformedLine(_, 1, _) = annotationError({ _ = try Kinetics.parse("youtube_id,time_start,time_end\n") }) {} else {
            Issue.record("a header without label is malformed")
        }
    }

    /// A time that is not a number of seconds from 0 to 10⁹ makes its row malformed instead of
    /// trapping in the conversion to Int (found by fuzz-importers:
    /// Tests/Fuzz/importers/regression-kinetics-huge-time).
    @Test func kineticsTimesOutOfRangeAreMalformed() throws {
        for time in ["26666666666666666666666666666666666666667", "1e300", "1000000001", "-1", "nan", "inf", "-inf"] {
            for (start, end) in [(time, "10"), ("0", time)] {
                let csv = "label,youtube_id,time_start,time_end\nabseiling,6bJUbfpnQ,\(start),\(end)\n"
                if case .malformedLine(_, 2, _) = annotationError({ _ = try Kinetics.parse(csv) }) {} else {
                    Issue.record("time \(time) should make line 2 malformed")
                }
            }
        }
        #expect(try Kinetics.parse("label,youtube_id,time_start,time_end\na,b,0,1000000000\n").items
                == [Annotation(path: "b_000000_1000000000.mp4", label: 0)])
    }

    @Test func somethingSomethingV2() throws {
        let labels = #"{"Holding something next to something": "1", "Putting something on a surface": "0"}"#
        let entries = #"""
        [{"id": "78687", "label": "holding potato next to vicks", "template": "Holding [something] next to [something]",
          "placeholders": ["potato", "vicks"]},
         {"id": "42326", "template": "Putting [something] on a surface"}]
        """#
        let dir = try scratchFolder(["labels.json": labels, "something-something-v2-train.json": entries])
        defer { try? FileManager.default.removeItem(at: dir) }
        let list = try SomethingSomethingV2.annotations(entries: dir.appendingPathComponent("something-something-v2-train.json"),
                                                        labels: dir.appendingPathComponent("labels.json"))
        #expect(list.classes == ["Putting something on a surface", "Holding something next to something"])
        #expect(list.items == [Annotation(path: "78687.webm", label: 1), Annotation(path: "42326.webm", label: 0)])
        let unknown = #"[{"id": "1", "template": "Dropping [something]"}]"#
        #expect(annotationError { _ = try SomethingSomethingV2.parse(entries: Data(unknown.utf8), file: "v.json", labels: Data(labels.utf8)) }
                == .unknownClass("Dropping something", file: "v.json", line: 1))
        let escape = #"[{"id": "../1", "template": "Putting [something] on a surface"}]"#
        #expect(annotationError { _ = try SomethingSomethingV2.parse(entries: Data(escape.utf8), file: "v.json", labels: Data(labels.utf8)) }
                == .pathEscapesRoot("../1.webm", file: "v.json", line: 1))
    }
}
