import Clips
import Foundation
import Testing
@testable import Datasets

/// A fresh folder under TMPDIR, and files in it.
struct Scratch {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("motive-datasets-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    /// Writes `text` (or nothing) at `relative`, making its folders.
    func file(_ relative: String, _ text: String = "") {
        let file = path(relative)
        try! FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try! Data(text.utf8).write(to: file)
    }

    func folder(_ relative: String) { try! FileManager.default.createDirectory(at: path(relative), withIntermediateDirectories: true) }

    func read(_ relative: String) -> String { (try? String(contentsOf: path(relative), encoding: .utf8)) ?? "<missing>" }
}

@Suite struct LayoutTests {
    func expectError(_ expected: DatasetLayoutError, _ folder: URL, _ format: DatasetFormat, split: Int = 1,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let lists = try DatasetLayout.prepare(folder, format: format, split: split)
            Issue.record("expected \(expected), got \(lists)", sourceLocation: sourceLocation)
        } catch {
            #expect(error == expected, sourceLocation: sourceLocation)
        }
    }

    @Test func listsAreFoundAtTheTopOrInsideOneWrappingFolder() throws {
        let s = Scratch(); defer { s.remove() }
        s.file("mydata/train.txt", "v/a.mp4 0\nv/b.mp4 1\n")
        s.file("mydata/val.txt", "v/c.mp4 1\n")
        s.file("mydata/classes.txt", "walk\nrun\n")
        s.file(".DS_Store")
        let lists = try DatasetLayout.prepare(s.url, format: .lists)
        let top = s.url.standardizedFileURL.appendingPathComponent("mydata")
        #expect(lists == DatasetLists(train: top.appendingPathComponent("train.txt"), val: top.appendingPathComponent("val.txt"),
                                      classes: top.appendingPathComponent("classes.txt"), root: top))

        let flat = Scratch(); defer { flat.remove() }
        flat.file("train.txt", "a.mp4 0\n")
        let only = try DatasetLayout.prepare(flat.url, format: .lists)
        #expect(only.val == nil && only.classes == nil && only.root == flat.url.standardizedFileURL)
    }

    @Test func listProblemsAreTypedErrors() {
        let s = Scratch(); defer { s.remove() }
        expectError(.missingTrainList, s.url, .lists)
        s.file("train.txt", "a.mp4 0\nb.mp4 2\n")
        s.file("classes.txt", "x\ny\n")
        expectError(.unknownClass("2", file: "train.txt", line: 2), s.url, .lists)
        s.file("train.txt", "")
        expectError(.emptyList("train.txt"), s.url, .lists)
        s.file("train.txt", "a.mp4\n")
        expectError(.malformedList(file: "train.txt", line: 1, reason: "expected 'path label', got 'a.mp4'"), s.url, .lists)
    }

    @Test func entriesLeadingOutsideTheFolderAreRefused() throws {
        let s = Scratch(); defer { s.remove() }
        for (entry, line) in [("../x.mp4", 2), ("/etc/passwd", 2)] {
            s.file("train.txt", "ok.mp4 0\n\(entry) 0\n")
            expectError(.entryOutsideFolder(entry, file: "train.txt", line: line), s.url, .lists)
            #expect(DatasetLayoutError.entryOutsideFolder(entry, file: "train.txt", line: line).code == "entry_outside_folder")
        }
        s.folder("v")
        try FileManager.default.createSymbolicLink(atPath: s.path("v/link.mp4").path, withDestinationPath: "/etc/passwd")
        s.file("train.txt", "v/link.mp4 0\n")
        expectError(.entryOutsideFolder("v/link.mp4", file: "train.txt", line: 1), s.url, .lists)
        // A frame folder holding one link that leads out.
        s.folder("frames/clip")
        try FileManager.default.createSymbolicLink(atPath: s.path("frames/clip/img_00001.jpg").path, withDestinationPath: "/etc/passwd")
        s.file("train.txt", "frames/clip 1 0\n")
        expectError(.entryOutsideFolder("frames/clip/img_00001.jpg", file: "train.txt", line: 1), s.url, .lists)
    }

    @Test func classFoldersGetADeterministicFifthForValidation() throws {
        let s = Scratch(); defer { s.remove() }
        for name in ["b", "a"] { for i in 0..<5 { s.file("mydata/\(name)/\(name)_\(i).mp4") } }
        s.file("mydata/c/deep/c_0.avi")
        s.folder("mydata/notes")                 // no videos: not a class
        s.file("mydata/notes/readme.txt", "x")
        s.folder("__MACOSX/mydata")              // macOS's zip folder does not count as a second entry
        let lists = try DatasetLayout.prepare(s.url, format: .folders)
        let top = s.url.standardizedFileURL
        #expect(lists.root == top && lists.train == top.appendingPathComponent("train.txt"))
        #expect(s.read("classes.txt") == "a\nb\nc\n")
        let classes = try AnnotationList.readClassNames(lists.classes!)
        let train = try AnnotationList.readList(lists.train, classes: classes)
        let val = try AnnotationList.readList(lists.val!, classes: classes)
        #expect(train.items.map(\.path) == (0..<4).map { "mydata/a/a_\($0).mp4" } + (0..<4).map { "mydata/b/b_\($0).mp4" } + ["mydata/c/deep/c_0.avi"])
        #expect(val.items == [Annotation(path: "mydata/a/a_4.mp4", label: 0), Annotation(path: "mydata/b/b_4.mp4", label: 1)])
        #expect(train.items.last?.label == 2)
        // The same folder gives the same lists.
        let again = s.read("train.txt")
        _ = try DatasetLayout.prepare(s.url, format: .folders)
        #expect(s.read("train.txt") == again)
    }

    @Test func trainAndValFoldersAreTheSplits() throws {
        let s = Scratch(); defer { s.remove() }
        s.file("train/walk/w1.mp4"); s.file("train/walk/w2.mp4"); s.file("train/run/r1.mp4")
        s.file("val/run/r2.mp4"); s.file("val/jump/j1.mp4")
        let lists = try DatasetLayout.prepare(s.url, format: .folders)
        #expect(s.read("classes.txt") == "jump\nrun\nwalk\n")
        #expect(s.read("train.txt") == "train/run/r1.mp4 1\ntrain/walk/w1.mp4 2\ntrain/walk/w2.mp4 2\n")
        #expect(s.read("val.txt") == "val/jump/j1.mp4 0\nval/run/r2.mp4 1\n")
        #expect(try AnnotationList.readList(lists.val!, classes: AnnotationList.readClassNames(lists.classes!)).count == 2)
    }

    @Test func folderProblemsAreTypedErrors() {
        let s = Scratch(); defer { s.remove() }
        s.file("readme.txt", "no classes here")
        expectError(.noClassFolders, s.url, .folders)
        s.file("a/notes.txt", "x")
        expectError(.noVideos, s.url, .folders)
    }

    /// UCF101's layout: split files in ucfTrainTestlist/, videos in UCF-101/<Class>/, both in a wrapper.
    func fakeUCF101(_ s: Scratch) {
        s.file("ucf/ucfTrainTestlist/classInd.txt", "1 Archery\n2 Bowling\n")
        s.file("ucf/ucfTrainTestlist/trainlist01.txt", "Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n")
        s.file("ucf/ucfTrainTestlist/testlist01.txt", "Archery/v_Archery_g02_c01.avi\nBowling/v_Bowling_g02_c01.avi\n")
        for v in ["Archery/v_Archery_g01_c01.avi", "Bowling/v_Bowling_g01_c01.avi", "Archery/v_Archery_g02_c01.avi", "Bowling/v_Bowling_g02_c01.avi"] {
            s.file("ucf/UCF-101/\(v)")
        }
    }

    @Test func ucf101SplitFilesBecomeLists() throws {
        let s = Scratch(); defer { s.remove() }
        fakeUCF101(s)
        let lists = try DatasetLayout.prepare(s.url, format: .ucf101)
        #expect(lists.root == s.url.standardizedFileURL)
        #expect(s.read("classes.txt") == "Archery\nBowling\n")
        #expect(s.read("train.txt") == "ucf/UCF-101/Archery/v_Archery_g01_c01.avi 0\nucf/UCF-101/Bowling/v_Bowling_g01_c01.avi 1\n")
        #expect(s.read("val.txt") == "ucf/UCF-101/Archery/v_Archery_g02_c01.avi 0\nucf/UCF-101/Bowling/v_Bowling_g02_c01.avi 1\n")
        expectError(.invalidSplit(format: .ucf101, split: 4), s.url, .ucf101, split: 4)
        expectError(.splitFilesMissing(format: .ucf101, expected: "classInd.txt, trainlist02.txt and testlist02.txt in one folder (as in ucfTrainTestlist/)"),
                    s.url, .ucf101, split: 2)
        try FileManager.default.removeItem(at: s.path("ucf/UCF-101"))
        expectError(.videosNotFound(format: .ucf101, entry: "Archery/v_Archery_g01_c01.avi"), s.url, .ucf101)
    }

    @Test func otherOfficialFormatsFindTheirFiles() throws {
        let s = Scratch(); defer { s.remove() }
        s.file("splits/walk_test_split1.txt", "w1.avi 1\nw2.avi 2\n")
        s.file("splits/run_test_split1.txt", "r1.avi 1\nr2.avi 0\n")
        s.file("videos/run/r1.avi")
        _ = try DatasetLayout.prepare(s.url, format: .hmdb51)
        #expect(s.read("train.txt") == "videos/run/r1.avi 0\nvideos/walk/w1.avi 1\n" && s.read("val.txt") == "videos/walk/w2.avi 1\n")

        let k = Scratch(); defer { k.remove() }
        let header = "label,youtube_id,time_start,time_end,split\n"
        k.file("k400/annotations/train.csv", header + "walking,abc,1,11,train\nrunning,def,0,10,train\n")
        k.file("k400/annotations/validate.csv", header + "running,ghi,5,15,val\n")
        k.file("k400/videos/walking/abc_000001_000011.mp4")
        _ = try DatasetLayout.prepare(k.url, format: .kinetics)
        #expect(k.read("train.txt") == "k400/videos/walking/abc_000001_000011.mp4 1\nk400/videos/running/def_000000_000010.mp4 0\n")

        let v = Scratch(); defer { v.remove() }
        v.file("labels/labels.json", #"{"Pushing something": "0", "Pulling something": "1"}"#)
        v.file("labels/train.json", #"[{"id": "7", "template": "Pulling [something]"}]"#)
        v.file("labels/validation.json", #"[{"id": "9", "template": "Pushing [something]"}]"#)
        v.file("20bn-something-something-v2/7.webm")
        _ = try DatasetLayout.prepare(v.url, format: .ssv2)
        #expect(v.read("train.txt") == "20bn-something-something-v2/7.webm 1\n" && v.read("classes.txt") == "Pushing something\nPulling something\n")
        expectError(.splitFilesMissing(format: .hmdb51, expected: "<class>_test_split1.txt files (as in testTrainMulti_7030_splits/)"), v.url, .hmdb51)
    }
}
