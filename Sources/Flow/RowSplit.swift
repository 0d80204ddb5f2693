import Support

/// Splits the rows of an image into contiguous chunks and runs them on Dispatch workers.
/// Each chunk is one closure call that loops over its rows, never one call per pixel. Every
/// kernel computes a pixel the same way whatever the split, so results do not depend on `threads`.
struct RowSplit {
    let rows: Int
    let chunks: Int

    /// Below this many pixels a level runs on the calling thread: a dispatch costs more than it saves.
    static let serialBelow = 96 * 96
    static let minRowsPerChunk = 4

    /// With all cores, three chunks per core let a worker that was descheduled catch up;
    /// with fewer threads, one chunk per thread keeps to that many cores.
    static func maxChunks(threads: Int) -> Int {
        threads >= Parallel.cores ? 3 * Parallel.cores : threads
    }

    init(rows: Int, width: Int, threads: Int) {
        self.rows = rows
        if threads <= 1 || rows * width < Self.serialBelow {
            chunks = 1
        } else {
            chunks = max(1, min(Self.maxChunks(threads: threads), rows / Self.minRowsPerChunk))
        }
    }

    /// Calls `body(chunk, rows)` once per chunk, concurrently; chunks write disjoint rows.
    func run(_ body: (Int, Range<Int>) -> Void) {
        Parallel.forChunks(rows, chunks: chunks, body)
    }
}
