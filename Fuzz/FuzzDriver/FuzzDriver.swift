import CLibFuzzer
import Foundation

/// What one fuzz target does with one input. libFuzzer calls back through a C function pointer,
/// which cannot capture, so the body lives here; it is set once, before the driver starts.
nonisolated(unsafe) private var body: ((UnsafeRawBufferPointer) -> Void)?

/// libFuzzer's own `main` (linked but unused, see `shim.h`) refers to this symbol.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    body?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Runs libFuzzer with the process's arguments, feeding each input to `fuzz`. Errors a parser
/// throws are expected results; only traps, sanitizer reports, timeouts and memory blow-ups count.
public func runFuzzer(_ fuzz: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    body = fuzz
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in testOneInput(data, size) })
}

extension UnsafeRawBufferPointer {
    /// The input as Foundation data (a copy).
    public var data: Data { Data(self) }
    /// The input as text; invalid UTF-8 becomes U+FFFD, as a file read as text would.
    public var text: String { String(decoding: self, as: UTF8.self) }

    /// The first byte, to choose a variant, and the rest; nil for an empty input.
    public var selector: (UInt8, UnsafeRawBufferPointer)? {
        guard let first else { return nil }
        return (first, UnsafeRawBufferPointer(rebasing: self[1...]))
    }
}
