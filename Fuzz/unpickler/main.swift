// The restricted unpickler on a bare pickle stream, without a zip around it (storages read as zeros).
import FuzzDriver
import TensorIO

runFuzzer { input in
    _ = try? Unpickler.load([UInt8](input))
}
