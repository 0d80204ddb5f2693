// The dataset importers' parsers. The first byte chooses one: Kinetics CSV (flat or in class
// folders), Something-Something v2 (entries JSON, a NUL byte, labels JSON), or UCF101 (classInd,
// a NUL byte, a split list).
import Clips
import Foundation
import FuzzDriver

runFuzzer { input in
    guard let (selector, rest) = input.selector else { return }
    let halves = rest.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
    let first = halves[0], second = halves.count > 1 ? halves[1] : rest[rest.endIndex...]
    switch selector % 4 {
    case 0, 1:
        _ = try? Kinetics.parse(rest.text, classFolders: selector % 4 == 1)
    case 2:
        _ = try? SomethingSomethingV2.parse(entries: Data(first), labels: Data(second))
    default:
        let classes = try? UCF101.parseClassIndex(String(decoding: first, as: UTF8.self), file: "classInd.txt")
        _ = try? UCF101.parseList(String(decoding: second, as: UTF8.self), file: "trainlist01.txt", classes: classes ?? ["A", "B"])
    }
}
