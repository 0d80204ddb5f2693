// The safetensors reader: the header JSON, the entry checks, and every tensor's data.
import FuzzDriver
import TensorIO

runFuzzer { input in
    _ = try? SafeTensors(data: input.data)
}
