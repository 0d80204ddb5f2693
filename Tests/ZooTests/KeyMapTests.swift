import Engine
import Foundation
import NN
import Testing
@testable import Zoo

/// A public layout's state-dict keys and shapes (Tests/Fixtures/make_keymap_fixtures.py), and for
/// some the logits of that architecture under the parity fill.
struct KeyMapFixture: Decodable {
    let layout: String
    let preset: String
    let origin: String
    let keys: [String]
    let shapes: [[Int]]
    let input_shape: [Int]?
    let input: String?
    let logits: [Float]?

    static func load(_ name: String) throws -> KeyMapFixture {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/keymaps"),
                               "no key-map fixture \(name)")
        return try JSONDecoder().decode(KeyMapFixture.self, from: Data(contentsOf: url))
    }

    var map: KeyMap { get throws { try KeyMaps.map(from: KeyMaps.layout(named: layout), to: preset) } }

    /// The source keys' shapes after renaming, with the rows that renamed them.
    func mapped(by map: KeyMap) -> (shapes: [String: [Int]], unknown: [String]) {
        var renamed: [String: [Int]] = [:], unknown: [String] = []
        for (key, shape) in zip(keys, shapes) {
            guard let (target, rule) = map.match(key) else { unknown.append(key); continue }
            #expect(renamed[target] == nil, "\(key) and another key both map to \(target)")
            renamed[target] = rule.transform?.shape(shape) ?? shape
        }
        return (renamed, unknown.sorted())
    }

    /// The source state dict under the parity fill, keyed by the source's own names.
    func filledState() -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: zip(keys, shapes).map { key, shape in
            (key, Tensor(ParityFill.values(key: key, shape: shape), shape: shape))
        })
    }
}

/// A preset's state-dict keys and shapes: those of its parity fixture (ZooParityTests checks the
/// preset against it) when there is one, else those of the built preset.
enum PresetLayout {
    struct Listing: Decodable {
        let keys: [String]
        let shapes: [String: [Int]]
    }

    static func of(_ preset: String) throws -> [String: [Int]] {
        if let url = Bundle.module.url(forResource: preset, withExtension: "json", subdirectory: "Fixtures") {
            return try JSONDecoder().decode(Listing.self, from: Data(contentsOf: url)).shapes
        }
        return Dictionary(uniqueKeysWithValues: try ModelZoo.preset(named: preset).build().stateDict().map { ($0.0, $0.1.shape) })
    }
}

@Suite struct KeyMapTests {
    /// Fixtures whose every key has a place in the preset, with the same shape.
    static let exact = [
        "mmaction2_tsn_r18", "mmaction2_tsn_r50", "mmaction2_tsm_r50", "mmaction2_i3d_r50", "mmaction2_slow_r50",
        "mmaction2_c2d_r50", "mmaction2_c3d", "mmaction2_slowfast_r50", "mmaction2_slowfast_r50_4x16",
        "mmaction2_i3d_r50_tiny", "mmaction2_slow_r50_tiny", "mmaction2_slowfast_r50_tiny", "mmaction2_timesformer_tiny",
        "tsm_tsm_r50", "tsm_tsn_r50", "tsm_tsn_r18",
        "pyslowfast_slow_r50", "pyslowfast_c2d_r50", "pyslowfast_i3d_r50", "pyslowfast_slowfast_r50", "pyslowfast_slowfast_r50_4x16",
    ]

    @Test(arguments: exact)
    func publicLayoutMapsOntoThePreset(_ name: String) throws {
        let fixture = try KeyMapFixture.load(name)
        let (shapes, unknown) = fixture.mapped(by: try fixture.map)
        #expect(unknown.isEmpty, "\(name): no row for \(unknown)")
        let ours = try PresetLayout.of(fixture.preset)
        #expect(Set(shapes.keys).subtracting(ours.keys).sorted() == [], "\(name): keys \(fixture.preset) lacks")
        #expect(Set(ours.keys).subtracting(shapes.keys).sorted() == [], "\(name): keys of \(fixture.preset) left empty")
        for (key, shape) in shapes where ours[key] != nil && ours[key] != shape {
            Issue.record("\(name): \(key) is \(shape), \(fixture.preset) has \(ours[key]!)")
        }
    }

    /// The MMAction2 TimeSformer lands on Hugging Face's keys and shapes, which are the preset's.
    @Test func mmaction2TimeSformerMapsOntoHuggingFace() throws {
        let mm = try KeyMapFixture.load("mmaction2_timesformer_base"), hf = try KeyMapFixture.load("hf_timesformer_base")
        let (shapes, unknown) = mm.mapped(by: try mm.map)
        #expect(unknown.isEmpty)
        #expect(shapes == Dictionary(uniqueKeysWithValues: zip(hf.keys, hf.shapes)))
        let (identity, none) = hf.mapped(by: try hf.map)
        #expect(none.isEmpty && identity == shapes)
        if ModelZoo.presets.contains(where: { $0.name == "timesformer_base" }) {
            #expect(try PresetLayout.of("timesformer_base") == shapes)
        }
    }

    /// torchvision's and pytorchvideo's keys are ours: their dumps (the parity fixtures) map to themselves.
    @Test(arguments: [("torchvision", "r3d_18"), ("torchvision", "mc3_18"), ("torchvision", "r2plus1d_18"),
                      ("torchvision", "r2plus1d_34"), ("torchvision", "tsn_r18"), ("torchvision", "tsn_r50"),
                      ("torchvision", "tsm_r50"), ("pytorchvideo", "slow_r50"), ("pytorchvideo", "c2d_r50"),
                      ("pytorchvideo", "i3d_r50"), ("pytorchvideo", "slowfast_r50"), ("motive", "c3d")])
    func referenceLayoutsAreIdentity(_ layout: String, _ preset: String) throws {
        let map = try KeyMaps.map(from: KeyMaps.layout(named: layout), to: preset)
        let ours = try PresetLayout.of(preset)
        for key in ours.keys { #expect(map.match(key)?.target == key) }
    }

    /// mmaction2's R(2+1)D is another network: the shortcut convs have no place, and the stem and
    /// the convs whose middle width mmaction2 sizes per conv differ in shape.
    @Test func mmaction2R2Plus1DIsRefusedWithReasons() throws {
        let fixture = try KeyMapFixture.load("mmaction2_r2plus1d_34")
        let (shapes, unknown) = fixture.mapped(by: try fixture.map)
        let shortcutParts = ["conv_s.weight", "bn_s.weight", "bn_s.bias", "bn_s.running_mean", "bn_s.running_var",
                             "bn_s.num_batches_tracked", "conv_t.weight"]
        #expect(unknown == (2...4).flatMap { s in shortcutParts.map { "backbone.layer\(s).0.downsample.conv.\($0)" } }.sorted())
        let ours = try PresetLayout.of("r2plus1d_34")
        #expect(Set(ours.keys).subtracting(shapes.keys).sorted() == (2...4).map { "layer\($0).0.downsample.0.weight" })
        #expect(Set(shapes.keys).subtracting(ours.keys).isEmpty)
        let misshaped = shapes.filter { ours[$0.key] != nil && ours[$0.key] != $0.value }.keys.sorted()
        #expect(misshaped.contains("stem.0.weight") && misshaped.contains("layer2.0.conv2.0.0.weight"))
        for key in misshaped {
            #expect(key.hasPrefix("stem.") || ["layer2.0.conv2.0.", "layer3.0.conv2.0.", "layer4.0.conv2.0."].contains { key.hasPrefix($0) },
                    "unexpected mismatch \(key)")
        }
        #expect(try fixture.map.note?.contains("83 middle channels") == true)
    }

    /// mmaction2's default SlowFast laterals have no norm: exactly the fusion norms are missing.
    @Test func mmaction2SlowFastWithoutLateralNormLacksTheFusionNorms() throws {
        let fixture = try KeyMapFixture.load("mmaction2_slowfast_r50_nonorm")
        let (shapes, unknown) = fixture.mapped(by: try fixture.map)
        #expect(unknown.isEmpty)
        let ours = try PresetLayout.of("slowfast_r50")
        let missing = Set(ours.keys).subtracting(shapes.keys).sorted()
        #expect(missing == (0...3).flatMap { b in
            ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { "blocks.\(b).multipathway_fusion.norm.\($0)" }
        }.sorted())
    }

    /// Keys no row knows are listed by name, never dropped or guessed at; a TSN checkpoint's
    /// unshifted convs do not pass for TSM's.
    @Test func unknownKeysAreReported() throws {
        let tsn = try KeyMapFixture.load("mmaction2_tsn_r50")
        let extra = KeyMapFixture(layout: "mmaction2", preset: "tsn_r50", origin: "test",
                                  keys: tsn.keys + ["backbone.nonlocal.g.weight", "cls_head.fc_extra.weight"],
                                  shapes: tsn.shapes + [[4], [4]], input_shape: nil, input: nil, logits: nil)
        #expect(extra.mapped(by: try extra.map).unknown == ["backbone.nonlocal.g.weight", "cls_head.fc_extra.weight"])

        let asTSM = try KeyMaps.map(from: .mmaction2, to: "tsm_r50")
        #expect(tsn.mapped(by: asTSM).unknown == tsn.keys.filter { $0.hasSuffix(".conv1.conv.weight") && $0.contains("layer") })
        let repoTSN = try KeyMapFixture.load("tsm_tsn_r50")
        let repoAsTSM = try KeyMaps.map(from: .tsm, to: "tsm_r50")
        #expect(repoTSN.mapped(by: repoAsTSM).unknown.count == 16)

        #expect(throws: KeyMapError.self) { try KeyMaps.map(from: .pyslowfast, to: "c3d") }
        #expect(throws: KeyMapError.unknownLayout("caffe2")) { try KeyMaps.layout(named: "caffe2") }
        let message = KeyMapError.unmapped(layout: .mmaction2, preset: "tsn_r50", keys: ["backbone.x.weight"], note: nil).description
        #expect(message.contains("backbone.x.weight"))
    }

    /// Rows rename segments, parts of segments and the rest of a key, in order.
    @Test func rulesMatchSegments() {
        let rule = KeyRule("s*.pathway*_res*.branch2.a.**", "blocks.*.multipathway_blocks.*.res_blocks.*.branch2.conv_a.**")
        #expect(rule.rewrite("s2.pathway1_res10.branch2.a.weight") == "blocks.2.multipathway_blocks.1.res_blocks.10.branch2.conv_a.weight")
        #expect(rule.rewrite("s2.pathway1_res10.branch2.a_bn.weight") == nil)
        #expect(rule.rewrite("s2.pathway1_res10.branch2.a") == nil)
        #expect(KeyRule("backbone.cls_token", "embeddings.cls_token").rewrite("backbone.cls_token") == "embeddings.cls_token")
        #expect(KeyRule("backbone.cls_token", "x").rewrite("backbone.cls_token.extra") == nil)
        #expect(KeyRule("layer*.x", "y").rewrite("layer.x") == nil)
        let map = KeyMap(.motive, presets: ["*"], rules: [KeyRule("**", "**")])
        #expect(map.match("module.fc.weight")?.target == "fc.weight")
    }

    /// The keys mean the same: the public architecture's logits under the parity fill come out of
    /// the preset loaded with its renamed state dict.
    @Test(arguments: ["mmaction2_tsn_r18", "mmaction2_tsm_r50", "mmaction2_i3d_r50_tiny", "mmaction2_slow_r50_tiny",
                      "mmaction2_slowfast_r50_tiny", "mmaction2_timesformer_tiny"])
    func renamedWeightsGiveTheReferenceLogits(_ name: String) throws {
        let fixture = try KeyMapFixture.load(name)
        let expected = try #require(fixture.logits), shape = try #require(fixture.input_shape)
        let mapped = try fixture.map.apply(fixture.filledState())
        #expect(mapped.unknown.isEmpty && mapped.collisions.isEmpty)
        let classes = try #require(mapped.tensors.first { ["fc.weight", "proj.weight", "classifier.weight"].contains(where: $0.key.hasSuffix) }?.value.shape[0])
        let model = try ModelZoo.preset(named: fixture.preset).build(classes: classes).eval()
        try model.load(mapped.tensors)
        let x = fixture.input == "sin_time_constant"
            ? ParityFill.input([shape[0], shape[1], 1, shape[3], shape[4]]).repeated([1, 1, shape[2], 1, 1])
            : ParityFill.input(shape)
        let logits = GradMode.noGrad { model(x) }.scalars
        #expect(logits.count == expected.count)
        let scale = expected.map(abs).max() ?? 1
        for (i, (a, e)) in zip(logits, expected).enumerated() where abs(a - e) > 1e-3 * max(abs(e), scale * 1e-2) {
            Issue.record("\(name): logit \(i) is \(a), reference \(e)")
            break
        }
    }

    /// A load report names every missing, unexpected and mis-shaped key; a strict load refuses and
    /// changes nothing, a lenient one loads what fits.
    @Test func loadReportNamesEveryKey() throws {
        let model = try ModelZoo.preset(named: "c3d_tiny").build(classes: 3)
        var state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.0, $0.1.copy()) })
        state["conv1a.bn.bias"] = nil
        state["conv2a.extra"] = Tensor.zeros([2])
        state["fc8.weight"] = Tensor.zeros([5, 256])
        state["fc7.bias"]!.fill(7)
        let report = model.loadReport(for: state)
        #expect(report.missing == [.init(key: "conv1a.bn.bias", shape: [16])])
        #expect(report.unexpected == [.init(key: "conv2a.extra", shape: [2])])
        #expect(report.mismatched == [.init(key: "fc8.weight", expected: [3, 256], found: [5, 256])])
        let error = #expect(throws: LoadMismatchError.self) { try model.load(state, origin: ["fc8.weight": "cls_head.fc_cls.weight"]) }
        let text = error?.description ?? ""
        #expect(text.contains("missing conv1a.bn.bias") && text.contains("unexpected conv2a.extra")
                && text.contains("fc8.weight: model [3, 256], weights [5, 256] (from cls_head.fc_cls.weight)"))
        #expect(model.stateDict().first { $0.0 == "fc7.bias" }!.1.scalars.allSatisfy { $0 != 7 })
        let lenient = try model.load(state, strict: false)
        #expect(lenient == report)
        #expect(model.stateDict().first { $0.0 == "fc7.bias" }!.1.scalars.allSatisfy { $0 == 7 })
    }
}
