// Middlebury `.flo` flow files.
import Flow
import FuzzDriver

runFuzzer { input in
    guard let flow = try? FloFile.decode(input.data) else { return }
    _ = FloFile.encode(flow)
}
