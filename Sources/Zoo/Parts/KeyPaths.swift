import NN

/// A module with no state of its own: it only groups children under a key prefix, the way a
/// PyTorch `nn.Sequential` or sub-module makes `conv1.0.weight`.
final class Group: Module {}

extension Module {
    /// Registers `child` under a dotted key path such as `conv1.0` or `branch2.conv_a`, creating
    /// empty groups for the missing prefixes, so one block implementation can wear the key layout
    /// of any reference library.
    func register(_ child: Module, at path: String) {
        let parts = path.split(separator: ".").map(String.init)
        var parent: Module = self
        for name in parts.dropLast() {
            if let existing = parent.namedChildren().first(where: { $0.0 == name })?.1 {
                parent = existing
            } else {
                parent = parent.registerModule(name, Group())
            }
        }
        parent.registerModule(parts.last!, child)
    }
}
