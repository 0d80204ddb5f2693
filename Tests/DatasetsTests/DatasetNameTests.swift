import Testing
@testable import Datasets

@Suite struct DatasetNameTests {
    @Test func acceptsLowerCaseNames() {
        for name in ["ucf101", "my-data_2", "a", String(repeating: "x", count: 64)] { #expect(DatasetName(name)?.value == name) }
    }

    @Test func refusesEverythingElse() {
        for name in ["", "-lead", "_lead", "Upper", "a/b", "..", "a.b", "with space", "ümlaut", String(repeating: "x", count: 65)] {
            #expect(DatasetName(name) == nil, "\(name) should be refused")
        }
    }
}
