import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// TimeSformer against Hugging Face transformers and timm on deterministic weights and input
/// (fixtures from Tests/Fixtures/make_timesformer_fixture.py).
@Suite struct TimeSformerTests {
    /// max |ours − reference| over the largest reference magnitude.
    static func relativeError(_ ours: [Float], _ reference: [Float]) -> Float {
        let scale = reference.map(abs).max() ?? 1
        return zip(ours, reference).map { abs($0 - $1) }.max()! / scale
    }

    /// A state dict holding the parity fill for every key and shape the fixture lists.
    static func filledState(_ fixture: ParityFixture) -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for key in fixture.keys {
            let shape = fixture.shapes[key]!
            state[key] = Tensor(ParityFill.values(key: key, shape: shape), shape: shape)
        }
        return state
    }

    /// One forward on the fixture's input: fvcore's FLOPs within 1%, the logits' shape, and the
    /// logits within 1e-3 of the largest reference logit.
    static func checkForward(_ model: VideoModel, _ fixture: ParityFixture, logitShape: [Int]) throws {
        var output: Tensor?
        let flops = Double(FLOPs.count { output = model(ParityFill.input(fixture.input_shape)) }.total)
        #expect(abs(flops - fixture.fvcore_flops) <= 0.01 * fixture.fvcore_flops, "\(flops) FLOPs, fvcore \(fixture.fvcore_flops)")
        let logits = try #require(output)
        #expect(logits.shape == logitShape)
        let error = Self.relativeError(logits.scalars, fixture.logits)
        #expect(error <= 1e-3, "relative error \(error)")
    }

    @Test func tinyMatchesHuggingFace() throws {
        let fixture = try #require(try ParityFixture.load("timesformer_tiny"))
        let model = try ModelZoo.preset(named: "timesformer_tiny").build().eval()
        fixture.checkLayout(of: model)
        ParityFill.fill(model)
        let reference = model.stateDict().map { $0.1.scalars }
        Self.quickFill(model)
        #expect(model.stateDict().map { $0.1.scalars } == reference, "quickFill differs from ParityFill.fill")
        try Self.checkForward(model, fixture, logitShape: [2, 10])
    }

    /// ViT-B/16 at 8×224: layout, parameters, FLOPs and logits (about 45 s unoptimised on two
    /// cores, most of it filling and initialising 121 M parameters).
    @Test func baseMatchesHuggingFace() throws {
        let fixture = try #require(try ParityFixture.load("timesformer_base"))
        let model = try ModelZoo.preset(named: "timesformer_base").build().eval()
        fixture.checkLayout(of: model)
        Self.quickFill(model)
        try Self.checkForward(model, fixture, logitShape: [1, 400])
    }

    /// `ParityFill.fill` with each tensor's rule chosen once rather than per element, and tensors
    /// filled in parallel: the same values, quick enough unoptimised for ViT-B's 121 M parameters.
    static func quickFill(_ model: Module) {
        let state = model.stateDict()
        DispatchQueue.concurrentPerform(iterations: state.count) { index in
            let (key, t) = state[index]
            let n = t.count
            let phase = Double(ParityFill.fnv1a(key) % 10007) / 10007 * 2 * Double.pi
            let offset: Double, factor: Double
            if t.rank == 1 && key.hasSuffix(".weight") { (offset, factor) = (1, 0.1) }
            else if t.rank <= 1 { (offset, factor) = (0, 0.1) }
            else { (offset, factor) = (0, (3 / Double(n / t.shape[0])).squareRoot()) }
            let p = t.data
            for i in 0..<n { p[i] = Float(offset + factor * sin(0.61 * Double(i) + phase)) }
        }
    }

    /// Embeddings stored for a 5×5 grid and 3 frames, loaded into the 8×8-grid, 8-frame tiny model,
    /// are resampled on load exactly as Hugging Face resamples them during its forward pass.
    @Test func loadResamplesEmbeddingsAsHuggingFaceDoes() throws {
        let fixture = try #require(try ParityFixture.load("timesformer_tiny_resampled"))
        #expect(fixture.shapes[TimeSformer.positionKey] == [1, 26, 96] && fixture.shapes[TimeSformer.timeKey] == [1, 3, 96])
        let model = try ModelZoo.preset(named: "timesformer_tiny").build().eval()
        try model.loadStateDict(Self.filledState(fixture))
        let logits = GradMode.noGrad { model(ParityFill.input(fixture.input_shape)) }
        let error = Self.relativeError(logits.scalars, fixture.logits)
        #expect(error <= 1e-3, "relative error \(error)")
    }

    @Test func nearestResamplingPicksAsPyTorch() {
        // torch.nn.functional.interpolate(mode="nearest"): index ⌊i · in/out⌋.
        #expect(nearestIndices(from: 3, to: 8) == [0, 0, 0, 1, 1, 1, 2, 2])
        #expect(nearestIndices(from: 14, to: 4) == [0, 3, 7, 10])
        #expect(nearestIndices(from: 5, to: 5) == [0, 1, 2, 3, 4])
        #expect(nearestGridIndices(from: (2, 3), to: (3, 2)) == [0, 1, 0, 1, 3, 4])
    }

    /// A model whose embeddings are stored for 32² and 4 frames, run on 64²×8 clips, equals the
    /// 64²×8 model loaded from its state dict: run-time and load-time resampling agree.
    @Test func runTimeAndLoadTimeResamplingAgree() throws {
        var small = TimeSformer.Config()
        small.classes = 5; small.frames = 4; small.size = 32; small.patch = 8; small.dim = 48; small.depth = 2
        small.heads = 3; small.mlpDim = 96
        var rng = Xoshiro(seed: 3)
        let stored = TimeSformer(small, using: &rng).eval()
        ParityFill.fill(stored)
        var large = small
        large.frames = 8; large.size = 64
        let loaded = TimeSformer(large, using: &rng).eval()
        try loaded.loadStateDict(stored.stateDict())
        #expect(loaded.embeddings.position.shape == [1, 65, 48] && loaded.embeddings.time.shape == [1, 8, 48])
        let x = ParityFill.input([2, 3, 8, 64, 64])
        let (a, b) = GradMode.noGrad { (stored(x), loaded(x)) }
        #expect(Self.relativeError(a.scalars, b.scalars) <= 1e-6)
        // A dict of the model's own shapes passes through untouched.
        let own = Dictionary(uniqueKeysWithValues: loaded.stateDict())
        let adapted = loaded.adaptStateDict(own)
        #expect(adapted.allSatisfy { own[$0.key] === $0.value })
    }

    /// Initialised from a timm ViT, the untrained TimeSformer is the image model on a clip of one
    /// image repeated: its logits equal timm's for that image, at 8 frames and at 1.
    @Test func vitInitialisationGivesTheImageModel() throws {
        let fixture = try #require(try ParityFixture.load("timesformer_vit_tiny"))
        let model = try #require(try ModelZoo.preset(named: "timesformer_tiny").build() as? TimeSformer).eval()
        let left = try model.loadImageViT(Self.filledState(fixture))
        #expect(left.isEmpty)
        #expect(model.embeddings.time.scalars.allSatisfy { $0 == 0 })
        for block in model.blocks {
            #expect(block.temporalDense.weight.scalars.allSatisfy { $0 == 0 } && block.temporalDense.bias!.scalars.allSatisfy { $0 == 0 })
            #expect(block.temporalAttention.qkv.weight.scalars == block.spatialAttention.qkv.weight.scalars)
        }
        let image = ParityFill.input(fixture.input_shape).unsqueezed(2)  // [1, 3, 1, 64, 64]
        let clip = image.expanded(to: [1, 3, 8, 64, 64])
        let (eight, one) = GradMode.noGrad { (model(clip), model(image)) }
        let error8 = Self.relativeError(eight.scalars, fixture.logits), error1 = Self.relativeError(one.scalars, fixture.logits)
        #expect(error8 <= 1e-4, "8 frames: relative error \(error8)")
        #expect(error1 <= 1e-4, "1 frame: relative error \(error1)")
    }

    @Test func vitInitialisationNamesMissingKeysAndKeepsAForeignClassifier() throws {
        let fixture = try #require(try ParityFixture.load("timesformer_vit_tiny"))
        var state = Self.filledState(fixture)
        let model = try #require(try ModelZoo.preset(named: "timesformer_tiny").build(classes: 7) as? TimeSformer)
        // A 10-class head does not fit 7 classes: left as initialised and reported.
        #expect(try model.loadImageViT(state) == ["classifier.weight", "classifier.bias"])
        state["blocks.2.mlp.fc1.weight"] = nil
        #expect(throws: StateDictError.missingKey("blocks.2.mlp.fc1.weight")) { try model.loadImageViT(state) }
    }

    @Test func tinyClipShapesAndOneTrainingStep() throws {
        let model = try ModelZoo.preset(named: "timesformer_tiny").build(classes: 3)
        // 5 frames and 40² are neither the stored 8 frames nor the 64² grid: both resampled.
        let x = ParityFill.input([2, 3, 5, 40, 40])
        #expect(GradMode.noGrad { model.features(x) }.shape == [2, 96])
        let loss = crossEntropy(model(x), targets: [0, 2])
        loss.backward()
        let missing = model.namedParameters().filter { $0.1.grad == nil }.map(\.0)
        #expect(missing.isEmpty, "no gradient for \(missing)")
        let finite = model.parameters().allSatisfy { $0.grad!.scalars.allSatisfy(\.isFinite) }
        #expect(finite)
    }
}
