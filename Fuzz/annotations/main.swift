// MMAction2 annotation lists (video and rawframe) and class-name files. The first byte chooses
// whether the list is checked against ten class names.
import Clips
import FuzzDriver

runFuzzer { input in
    guard let (selector, rest) = input.selector else { return }
    let text = rest.text
    let classes = selector & 1 == 0 ? [] : (0..<10).map { "class\($0)" }
    _ = try? AnnotationList.parseList(text, classes: classes)
    _ = try? AnnotationList.parseVideoList(text, classes: classes)
    _ = try? AnnotationList.parseRawframeList(text, classes: classes)
    _ = AnnotationList.parseClassNames(text)
}
