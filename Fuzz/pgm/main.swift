// Binary PGM (P5) frames.
import Flow
import FuzzDriver

runFuzzer { input in
    guard let image = try? PGM.decode(input.data) else { return }
    _ = PGM.encode(image)
}
