import Engine
import Foundation
import Support

/// NumPy `.npy` files: a magic string, a version, a Python-dict header (`descr`, `fortran_order`,
/// `shape`), then the raw array. Reads little-endian float32, float64, int64 and int32 arrays in C
/// order (converted to Float32); writes float32.
public enum NPY {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case notNPY(String)
        case unsupported(String)
        case truncated(expected: Int, found: Int)
        case io(String)

        public var description: String {
            switch self {
            case .notNPY(let why): "not a .npy file: \(why)"
            case .unsupported(let what): "unsupported .npy array: \(what)"
            case .truncated(let expected, let found): ".npy data is \(found) bytes, the header promises \(expected)"
            case .io(let why): ".npy: \(why)"
            }
        }
    }

    public static func read(_ url: URL) throws(Error) -> Tensor {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .io("cannot read \(url.path): \(error.localizedDescription)") }
        return try read(data)
    }

    public static func read(_ data: Data) throws(Error) -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1...5]) == Array("NUMPY".utf8) else { throw .notNPY("bad magic") }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw .notNPY("short header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        default: throw .unsupported("format version \(major)")
        }
        guard headerLength <= 1 << 20, start + headerLength <= bytes.count,
              let header = String(bytes: bytes[start..<(start + headerLength)], encoding: .utf8) else { throw .notNPY("bad header") }
        let descr = try field("descr", in: header)
        guard try field("fortran_order", in: header) == "False" else { throw .unsupported("Fortran order") }
        let shapeText = try field("shape", in: header).trimmingCharacters(in: CharacterSet(charactersIn: "() "))
        let shape = try shapeText.split(separator: ",").map { part throws(Error) -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw .notNPY("bad shape \(shapeText)") }
            return n
        }
        let count = shape.reduce(1, *)
        let width: Int
        switch descr {
        case "'<f4'", "'|f4'": width = 4
        case "'<f8'", "'<i8'": width = 8
        case "'<i4'": width = 4
        default: throw .unsupported("dtype \(descr)")
        }
        let payload = start + headerLength
        guard bytes.count - payload >= count * width else { throw .truncated(expected: count * width, found: bytes.count - payload) }
        let out = Tensor(shape: shape, storage: Storage(uninitializedCount: count))
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + payload
            for i in 0..<count {
                switch descr {
                case "'<f8'": out.data[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self))
                case "'<i8'": out.data[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
                case "'<i4'": out.data[i] = Float(base.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                default: out.data[i] = base.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                }
            }
        }
        return out
    }

    /// Writes a float32 C-order array (version 1.0).
    public static func write(_ t: Tensor, to url: URL) throws(Error) {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        bytes += UnsafeRawBufferPointer(start: t.data, count: t.count * 4)
        do { try AtomicFile.write(Data(bytes), to: url) } catch { throw .io("\(error)") }
    }

    /// The text after `'key':` up to the next top-level comma (shape tuples keep their commas).
    private static func field(_ key: String, in header: String) throws(Error) -> String {
        guard let range = header.range(of: "'\(key)':") else { throw .notNPY("header has no '\(key)'") }
        var depth = 0, value = ""
        for ch in header[range.upperBound...] {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if (ch == "," && depth == 0) || ch == "}" { break }
            value.append(ch)
        }
        return value.trimmingCharacters(in: .whitespaces)
    }
}
