import Engine
import Foundation
import Testing
import NN
@testable import Zoo

/// The deterministic weights of the parity fixtures (Tests/Fixtures/make_zoo_parity_fixture.py):
/// base[i] = sin(0.61·i + phase(key)), shaped per kind of tensor.
enum ParityFill {
    static func fnv1a(_ key: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in key.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    static func values(key: String, shape: [Int]) -> [Float] {
        let n = shape.reduce(1, *)
        let phase = Double(fnv1a(key) % 10007) / 10007 * 2 * Double.pi
        let fanIn = shape.count >= 2 ? Double(n / shape[0]) : 1
        return (0..<n).map { i in
            let base = sin(0.61 * Double(i) + phase)
            let v: Double
            if key.hasSuffix("num_batches_tracked") { v = 0 }
            else if key.hasSuffix("running_var") { v = 1 + 0.25 * (base + 1) }
            else if key.hasSuffix("running_mean") { v = 0.1 * base }
            else if shape.count == 1 && key.hasSuffix(".weight") { v = 1 + 0.1 * base }
            else if shape.count <= 1 { v = 0.1 * base }
            else { v = base * (3 / fanIn).squareRoot() }
            return Float(v)
        }
    }

    static func fill(_ model: Module) {
        for (key, t) in model.stateDict() {
            let v = values(key: key, shape: t.shape)
            v.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
        }
    }

    /// x[i] = sin(0.05·i).
    static func input(_ shape: [Int]) -> Tensor {
        Tensor((0..<shape.reduce(1, *)).map { Float(sin(0.05 * Double($0))) }, shape: shape)
    }
}

struct ParityFixture: Decodable {
    let preset: String
    /// The model's input; for SlowFast the fixture lists (slow, fast) and the model takes the fast clip.
    let input_shape: [Int]
    let logits: [Float]
    let params: Int
    let fvcore_flops: Double
    let keys: [String]
    let shapes: [String: [Int]]
    let fill_check: [String: [Float]]?

    enum CodingKeys: String, CodingKey { case preset, input_shape, logits, params, fvcore_flops, keys, shapes, fill_check }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        preset = try c.decode(String.self, forKey: .preset)
        if let pair = try? c.decode([[Int]].self, forKey: .input_shape) { input_shape = pair.last! } else {
            input_shape = try c.decode([Int].self, forKey: .input_shape)
        }
        logits = try c.decode([Float].self, forKey: .logits)
        params = try c.decode(Int.self, forKey: .params)
        fvcore_flops = try c.decode(Double.self, forKey: .fvcore_flops)
        keys = try c.decode([String].self, forKey: .keys)
        shapes = try c.decode([String: [Int]].self, forKey: .shapes)
        fill_check = try c.decodeIfPresent([String: [Float]].self, forKey: .fill_check)
    }

    static func load(_ name: String) throws -> ParityFixture? {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures") else { return nil }
        return try JSONDecoder().decode(ParityFixture.self, from: Data(contentsOf: url))
    }
}

extension ParityFixture {
    /// The model's state-dict keys (in order), shapes and parameter count are the reference's, and
    /// the Swift fill formula reproduces the values the fixture recorded.
    func checkLayout(of model: Module) {
        let state = model.stateDict()
        #expect(state.map(\.0) == keys)
        for (key, t) in state where shapes[key] != t.shape {
            Issue.record("\(key): shape \(t.shape), reference \(shapes[key] ?? [])")
        }
        #expect(model.parameters().reduce(0) { $0 + $1.count } == params)
        for (key, values) in fill_check ?? [:] {
            let ours = ParityFill.values(key: key, shape: shapes[key]!).prefix(values.count)
            #expect(Array(ours) == values, "fill formula differs on \(key)")
        }
    }
}
