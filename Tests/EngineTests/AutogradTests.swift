import Foundation
import Testing
@testable import Engine

@Suite struct AutogradTests {
    @Test func gradientsAccumulateAcrossUsesAndCalls() {
        let x = Tensor([3], shape: [1], requiresGrad: true)
        // y = x·x + x → dy/dx = 2x + 1 = 7
        (x * x + x).sum().backward()
        expectClose(x.grad!.scalars, [7])
        (x * 2).sum().backward()
        expectClose(x.grad!.scalars, [9])
        x.zeroGrad()
        #expect(x.grad == nil)
    }

    @Test func diamondGraphSumsBothPaths() {
        let x = Tensor([2], shape: [1], requiresGrad: true)
        let a = x.exp(), b = a * a, c = a + b   // c = eˣ + e²ˣ
        c.sum().backward()
        expectClose(x.grad!.scalars, [Float(7.389056 + 2 * 54.59815)], rel: 1e-5)
    }

    @Test func noGradBuildsNoGraph() {
        let w = Tensor.ones([4, 4], requiresGrad: true)
        let y = GradMode.noGrad { matmul(w, w).relu().sum() }
        #expect(!y.requiresGrad)
        #expect(y.gradFunction == nil)
        let z = matmul(w, w).sum()
        #expect(z.gradFunction == "sum")
    }

    @Test func activationsAreFreedAfterBackward() {
        weak var hidden: Tensor?
        weak var loss: Tensor?
        let w = randomTensor([8, 8], seed: 111, requiresGrad: true)
        do {
            let h = matmul(w, w).relu()
            hidden = h
            let l = (h * h).sum()
            loss = l
            l.backward()
        }
        #expect(hidden == nil, "an activation outlived its graph")
        #expect(loss == nil)
        #expect(w.grad != nil)
    }

    /// When the sweep reaches the first op of a chain, the chain's later activations are already
    /// freed, not kept until the sweep ends.
    @Test func backwardFreesActivationsAsItGoes() {
        final class Watch: @unchecked Sendable {
            struct Weak { weak var tensor: Tensor? }
            var chain: [Weak] = []
            var aliveAtProbe = -1
        }
        let watch = Watch()
        let w = randomTensor([1000], seed: 113, requiresGrad: true)
        var loss: Tensor? = nil
        do {
            var h = Tensor.result(w.copy(), op: "probe", inputs: [w]) { _, g in
                watch.aliveAtProbe = watch.chain.filter { $0.tensor != nil }.count
                return [g]
            }
            for _ in 0..<6 {
                h = (h * 0.5).relu()
                watch.chain.append(.init(tensor: h))
            }
            loss = h.sum()
        }
        loss!.backward()
        loss = nil
        #expect(watch.aliveAtProbe == 0, "\(watch.aliveAtProbe) of 6 activations still alive when backward reached the probe")
    }

    @Test func resultsDroppedWithoutBackwardAreFreedToo() {
        weak var hidden: Tensor?
        let x = randomTensor([3, 5, 5], seed: 112, requiresGrad: true)
        do {
            let h = x.exp().sum(axis: 0)
            hidden = h
            _ = h.softmax(axis: 1).sum()
        }
        #expect(hidden == nil)
    }

    @Test func deepChainDoesNotOverflowTheStack() {
        let x = Tensor([1], shape: [1], requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y * 1.0 }
        y.sum().backward()
        expectClose(x.grad!.scalars, [1])
    }
}

@Suite struct GradientOwnershipTests {
    /// Gradients meeting at an inner tensor are summed in place only when no one else holds the
    /// first one: not when one rule hands the same tensor to both inputs, nor when it is a view
    /// of a gradient that another path still uses.
    @Test func innerGradientSumsDoNotAlias() {
        let x = Tensor([1, 2, 3, 4], shape: [4], requiresGrad: true)
        let a = x * 3
        (a + a).sum().backward()                           // add's rule hands one tensor to both inputs of a
        expectClose(x.grad!.scalars, [6, 6, 6, 6])

        let y = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3], requiresGrad: true)
        let b = y * 1
        let viewPath = b.reshaped([6]) * Tensor([1, 2, 3, 4, 5, 6], shape: [6])
        let seed = Tensor([1, 1, 1, 1, 1, 1], shape: [2, 3])
        // b gets a view of viewPath's gradient, then b.exp()'s gradient; the seed stays as it was.
        let total = viewPath.reshaped([2, 3]) + b.exp() + b
        total.backward(seed)
        let e = [1, 2, 3, 4, 5, 6].map { Float($0) }
        expectClose(y.grad!.scalars, e.map { $0 + Foundation.exp($0) + 1 }, rel: 1e-5)
        expectClose(seed.scalars, [1, 1, 1, 1, 1, 1])

        // Several fresh gradients meeting at one tensor: the in-place sums must equal the plain ones.
        let z = Tensor([0.5, -1, 2], shape: [3], requiresGrad: true)
        let c = z * 2
        (c.relu() + c.exp() + c * c + c).sum().backward()
        let expected = [Float(0.5), -1, 2].map { v -> Float in
            let cv = 2 * v
            return 2 * ((cv > 0 ? 1 : 0) + Foundation.exp(cv) + 2 * cv + 1)
        }
        expectClose(z.grad!.scalars, expected, rel: 1e-5)
    }

    @Test func leavesSharingOneUpstreamGradientDoNotAlias() {
        let a = Tensor.zeros([3], requiresGrad: true), b = Tensor.zeros([3], requiresGrad: true)
        (a + b).backward(Tensor([1, 2, 3], shape: [3]))
        a.grad!.fill(100)
        expectClose(b.grad!.scalars, [1, 2, 3])
    }

    @Test func viewGradientsAreCopied() {
        let a = Tensor.zeros([2, 3], requiresGrad: true)
        let seed = Tensor([1, 2, 3, 4, 5, 6], shape: [6])
        a.reshaped([6]).backward(seed)
        a.grad!.fill(0)
        expectClose(seed.scalars, [1, 2, 3, 4, 5, 6])
    }
}

@Suite(.serialized) struct BufferPoolTests {
    @Test func largeBuffersAreReused() {
        let count = 1 << 25 + 7   // a size class (128–144 MiB) no other test allocates
        // Suites running alongside may have filled the pool to its limit; the buffer is then freed,
        // not kept. So the test makes room first: malloc often hands a freed address straight back,
        // which would pass without any reuse (the address sanitizer, which delays reuse, does not).
        let limit = BufferPool.limitBytes
        BufferPool.limitBytes = Int.max / 2
        defer { BufferPool.limitBytes = limit }
        var first: Storage? = Storage(repeating: 1, count: count)
        let address = first!.pointer
        first = nil
        #expect(BufferPool.pooledBytes >= count * 4)
        let second = Storage(repeating: 0, count: count)
        #expect(second.pointer == address)
        #expect((0..<count).allSatisfy { second.pointer[$0] == 0 })
    }

    @Test func sizesShareClassesEightToAPowerOfTwo() {
        #expect(BufferPool.sizeClass(1 << 20) == 1 << 20)
        #expect(BufferPool.sizeClass(1 << 20 + 1) == 1 << 20 + 1 << 17)
        #expect(BufferPool.sizeClass(1 << 20 + 1 << 17) == 1 << 20 + 1 << 17)
        #expect(BufferPool.sizeClass(3 << 20 + 5) == 3 << 20 + 1 << 18)
        for n in [65536, 100_003, 1 << 22 - 1, 12_845_056] {
            let c = BufferPool.sizeClass(n)
            #expect(c >= n && c - n <= n / 8)
        }
    }

    @Test func aSmallerRequestTakesAPooledBufferOfUpToFourTimesItsSize() {
        let big = 1 << 26 + 1 << 23   // the 288 MiB class, unused elsewhere
        let limit = BufferPool.limitBytes
        defer { BufferPool.limitBytes = limit }
        BufferPool.limitBytes = Int.max / 2
        // Suites running alongside leave buffers in the pool, and a request takes the smallest
        // one that fits; so the pool starts empty.
        BufferPool.drain()
        var first: Storage? = Storage(uninitializedCount: big)
        let address = first!.pointer
        first = nil
        // A fifth of the size is too small to take it.
        var fifth: Storage? = Storage(uninitializedCount: big / 5)
        #expect(fifth!.pointer != address)
        // A third takes it, and gives it back as the large buffer it is: a full-size request finds it.
        var third: Storage? = Storage(uninitializedCount: big / 3)
        #expect(third!.pointer == address)
        third = nil
        let again = Storage(uninitializedCount: big)
        #expect(again.pointer == address)
        fifth = nil
        _ = (fifth, third)
    }

    @Test func reusesAreCountedAndALimitOfZeroKeepsNothing() {
        let count = 1 << 25 + 1 << 22 + 9   // the 144–160 MiB class, also unused elsewhere
        let limit = BufferPool.limitBytes
        defer { BufferPool.limitBytes = limit }
        BufferPool.limitBytes = Int.max / 2
        var first: Storage? = Storage(uninitializedCount: count)
        let address = first!.pointer
        first = nil
        let before = BufferPool.hitsAndMisses
        var second: Storage? = Storage(uninitializedCount: count)
        #expect(second!.pointer == address)
        #expect(BufferPool.hitsAndMisses.hits > before.hits)
        BufferPool.limitBytes = 0                     // releases what the pool holds, and keeps nothing more
        #expect(BufferPool.pooledBytes == 0)
        second = nil
        #expect(BufferPool.pooledBytes == 0)
        _ = (first, second)
    }
}
