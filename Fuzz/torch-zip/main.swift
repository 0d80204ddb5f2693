// A `.pth` file as `torch.save` writes it: the zip preflight, ZIPFoundation's reading of what
// passes it, the pickle, and the state dict taken from it.
import FuzzDriver
import TensorIO

runFuzzer { input in
    _ = try? TorchCheckpoint(data: input.data).stateDict()
}
