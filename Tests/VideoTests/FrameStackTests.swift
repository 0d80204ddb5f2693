import Testing
@testable import Video

@Suite struct FrameStackTests {
    @Test func pickAndJoinFrames() {
        let stack = FrameStack(count: 3, height: 1, width: 2, pixels: (0..<18).map(UInt8.init))
        #expect(stack.frame(1).pixels == [6, 7, 8, 9, 10, 11])
        #expect(stack.frames([2, 0, 2]).pixels == [12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17])
        #expect(FrameStack.concat([stack.frame(0), stack.frame(2)]) == stack.frames([0, 2]))
    }
}
