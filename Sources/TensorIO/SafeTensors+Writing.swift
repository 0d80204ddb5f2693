import Engine
import Foundation
import Support

extension SafeTensors {
    /// The whole file in memory.
    public func encoded() -> Data {
        let header = encodedHeader()
        var data = Data(capacity: header.count + entries.reduce(0) { $0 + $1.tensor.count * 4 })
        data.append(contentsOf: header)
        for entry in entries {
            data.append(UnsafeBufferPointer(start: entry.tensor.data, count: entry.tensor.count))
        }
        return data
    }

    /// Writes the file atomically: into a temporary file beside `url`, then renamed over it, so a
    /// reader (or a crash) sees the old file or the complete new one. Tensors stream straight
    /// from their storage, so a checkpoint is never held twice in memory.
    public func write(to url: URL) throws(SafeTensorsError) {
        do {
            try AtomicFile.write(to: url) { output in
                let header = encodedHeader()
                try header.withUnsafeBytes { bytes in try output.write(bytes) }
                for entry in entries {
                    try output.write(UnsafeRawBufferPointer(start: entry.tensor.data, count: entry.tensor.count * 4))
                }
            }
        } catch {
            throw .io(path: url.path, reason: error.reason)
        }
    }

    /// The 8-byte length and the JSON header, padded with spaces as the reference writer does
    /// so that the data starts on an 8-byte boundary.
    func encodedHeader() -> [UInt8] {
        var json = Array("{".utf8)
        if !metadata.isEmpty {
            json += Array("\"__metadata__\":{".utf8)
            for (i, (key, value)) in metadata.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { json.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &json)
                json.append(UInt8(ascii: ":"))
                appendJSONString(value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
        }
        var offset = 0
        for (i, entry) in entries.enumerated() {
            if i > 0 || !metadata.isEmpty { json.append(UInt8(ascii: ",")) }
            appendJSONString(entry.name, to: &json)
            let end = offset + entry.tensor.count * 4
            let shape = entry.tensor.shape.map(String.init).joined(separator: ",")
            json += Array(":{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }
}
