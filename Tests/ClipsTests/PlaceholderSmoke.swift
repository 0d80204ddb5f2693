import Testing
@testable import Clips
import Video

@Suite struct ClipsModuleTests {
    @Test func linksVideo() {
        #expect(FrameStack(count: 0, height: 4, width: 4, pixels: []).count == 0)
    }
}
