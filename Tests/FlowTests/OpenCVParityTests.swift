import Foundation
import Testing
@testable import Flow

/// Our flow against OpenCV's `DualTVL1OpticalFlow` on real frame pairs, with the parameters
/// `Tests/Fixtures/make_flow_fixtures.py` recorded in `fixtures.json`.
@Suite struct OpenCVParityTests {
    struct Manifest: Decodable {
        struct Case: Decodable {
            let name: String
            let pair: String
            let parameters: Parameters
            let meanMagnitude: Double
        }

        struct Parameters: Decodable {
            let tau, lambda_, theta, epsilon, scaleStep, gamma: Double
            let nscales, warps, innerIterations, outerIterations, medianFiltering: Int
            let useInitialFlow: Bool
        }

        let opencv: String
        let cases: [Case]
    }

    static func fixture(_ name: String, _ ext: String) throws -> URL {
        try #require(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures"),
                     "missing fixture \(name).\(ext)")
    }

    static let manifest: Manifest = {
        let url = Bundle.module.url(forResource: "fixtures", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Manifest.self, from: Data(contentsOf: url))
    }()

    @Test func manifestListsTheExpectedCases() {
        #expect(Self.manifest.cases.map(\.name)
                == ["vtest", "tree", "megamind", "tree_small_step05", "tree_small_gamma"])
    }

    @Test(arguments: manifest.cases.map(\.name))
    func matchesOpenCV(_ name: String) throws {
        let c = try #require(Self.manifest.cases.first { $0.name == name })
        let q = c.parameters
        let parameters = TVL1Parameters(
            tau: q.tau, lambda: q.lambda_, theta: q.theta, scales: q.nscales, warps: q.warps, epsilon: q.epsilon,
            innerIterations: q.innerIterations, outerIterations: q.outerIterations, scaleStep: q.scaleStep,
            gamma: q.gamma, medianFiltering: q.medianFiltering, useInitialFlow: q.useInitialFlow)
        let a = try PGM.read(Self.fixture("\(c.pair)_0", "pgm"))
        let b = try PGM.read(Self.fixture("\(c.pair)_1", "pgm"))
        let reference = try FloFile.read(Self.fixture(c.name, "flo"))
        let ours = try TVL1(parameters).flow(from: a, to: b)
        let epe = ours.meanEndPointError(to: reference)
        let zero = try FlowField(width: a.width, height: a.height, u: .init(repeating: 0, count: a.pixels.count),
                                 v: .init(repeating: 0, count: a.pixels.count))
        let magnitude = reference.meanEndPointError(to: zero)
        print("parity \(name) (\(a.width)×\(a.height), OpenCV \(Self.manifest.opencv)): mean EPE "
              + String(format: "%.4f", epe) + " px, mean |flow| " + String(format: "%.3f", magnitude) + " px")
        #expect(epe <= 0.15, "\(name): mean EPE \(epe) px against OpenCV \(Self.manifest.opencv) exceeds 0.15 px")
        // The reference moves: a zero flow would not pass, so the bound above means something.
        #expect(magnitude > 0.25, "\(name): OpenCV's flow is too small (\(magnitude) px) to test parity")
    }
}
