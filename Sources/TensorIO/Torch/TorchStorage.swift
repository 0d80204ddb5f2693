import Engine
import Foundation

/// What a pickle's persistent id asks for: `("storage", torch.FloatStorage, key, location, numel)`.
/// The location ("cpu", "cuda:0") is dropped: everything loads to the CPU.
struct StorageRequest {
    let key: String
    /// `FloatStorage`, `HalfStorage`, … as pickled.
    let typeName: String
    let dtype: SafeTensors.DType
    let count: Int
}

/// One typed storage record: `count` little-endian elements of `dtype`, exactly filling `bytes`.
struct TorchStorage {
    let key: String
    let dtype: SafeTensors.DType
    let count: Int
    let bytes: Data

    /// The elements a strided view selects, as a contiguous Float32 tensor. The view must have
    /// passed `viewElementCount` against this storage.
    func gather(offset: Int, shape: [Int], strides: [Int], count: Int) -> Tensor {
        let out = Storage(uninitializedCount: count)
        let size = dtype.byteSize
        bytes.withUnsafeBytes { raw in
            guard count > 0, let base = raw.baseAddress else { return }
            if isRowMajor(shape: shape, strides: strides) {
                dtype.convert(base + offset * size, count: count, into: out.pointer)
                return
            }
            // An odometer over every axis but the last; each step copies one run along the last axis.
            // A rank-0 view is always row-major, so rank ≥ 1 here; count > 0 makes every size ≥ 1.
            let rank = shape.count
            let (inner, innerStride) = (shape[rank - 1], strides[rank - 1])
            var index = [Int](repeating: 0, count: rank - 1)
            var source = offset
            var written = 0
            while written < count {
                if innerStride == 1 {
                    dtype.convert(base + source * size, count: inner, into: out.pointer + written)
                } else {
                    for j in 0..<inner {
                        dtype.convert(base + (source + j * innerStride) * size, count: 1, into: out.pointer + written + j)
                    }
                }
                written += inner
                var axis = rank - 2
                while axis >= 0 {
                    index[axis] += 1
                    source += strides[axis]
                    if index[axis] < shape[axis] { break }
                    source -= strides[axis] * shape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return Tensor(shape: shape, storage: out)
    }
}

/// Whether elements `offset, offset + 1, …` in order are the view; axes of size 1 may have any stride.
private func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
    var expected = 1
    for axis in shape.indices.reversed() where shape[axis] != 1 {
        if strides[axis] != expected { return false }
        expected *= shape[axis]
    }
    return true
}

/// The element count of the view `offset`, `shape`, `strides` into `storageCount` elements, or the
/// reason it is not a valid view. Every index the view reaches must lie inside the storage, so
/// reading it can never leave the record; sums and products are checked for overflow.
func viewElementCount(storageCount: Int, offset: Int, shape: [Int], strides: [Int]) -> Result<Int, ViewError> {
    guard shape.count == strides.count else {
        return .failure(.malformed("size has \(shape.count) dimensions, stride has \(strides.count)"))
    }
    guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
        return .failure(.malformed("negative offset, size or stride (offset \(offset), size \(shape), stride \(strides))"))
    }
    var count = 1
    for dim in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else { return .failure(.tooLarge("a tensor of size \(shape) has too many elements")) }
        count = product
    }
    if count == 0 { return .success(0) }
    var last = offset
    for (dim, stride) in zip(shape, strides) {
        let (step, overflow) = (dim - 1).multipliedReportingOverflow(by: stride)
        let (sum, overflow2) = last.addingReportingOverflow(step)
        guard !overflow, !overflow2 else { return .failure(.tooLarge("stride \(strides) of size \(shape) overflows")) }
        last = sum
    }
    guard last < storageCount else {
        return .failure(.malformed("a view (offset \(offset), size \(shape), stride \(strides)) reaches element \(last) "
                                   + "of a storage of \(storageCount)"))
    }
    return .success(count)
}

enum ViewError: Error {
    case malformed(String)
    case tooLarge(String)
}
