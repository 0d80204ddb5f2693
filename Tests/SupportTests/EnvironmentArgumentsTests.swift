import Testing
@testable import Support

/// Options set from the environment: the variables' names, the flag winning, booleans, lists,
/// and the variable named in a parser's error.
@Suite struct EnvironmentArgumentsTests {
    let options: [EnvironmentOption] = [.init("port"), .init("data-root"), .init("publish-models", .flag),
                                        .init("allow-stream-source", .list), .init("max-upload-mb")]

    func apply(_ arguments: [String], _ environment: [String: String]) throws -> [String] {
        try EnvironmentArguments.apply(options, to: arguments, environment: environment).arguments
    }

    @Test func variableNames() {
        #expect(EnvironmentOption("port").variable() == "MOTIVE_PORT")
        #expect(EnvironmentOption("data-root").variable() == "MOTIVE_DATA_ROOT")
        #expect(EnvironmentOption("max-upload-mb").variable() == "MOTIVE_MAX_UPLOAD_MB")
    }

    @Test func variablesBecomeOptionsAndTheCommandLineWins() throws {
        let environment = ["MOTIVE_PORT": "9000", "MOTIVE_DATA_ROOT": "/srv/data", "OTHER": "x"]
        #expect(try apply([], environment) == ["--port=9000", "--data-root=/srv/data"])
        // Given on the command line, in either spelling, the option keeps its value.
        #expect(try apply(["--port", "1"], environment) == ["--port", "1", "--data-root=/srv/data"])
        #expect(try apply(["--port=1"], environment) == ["--port=1", "--data-root=/srv/data"])
        // A longer option with the same start is another option.
        #expect(try apply(["--portal", "1"], ["MOTIVE_PORT": "2"]) == ["--portal", "1", "--port=2"])
        // Empty is unset; a value that looks like an option stays a value.
        #expect(try apply([], ["MOTIVE_PORT": "", "MOTIVE_DATA_ROOT": "-x"]) == ["--data-root=-x"])
        // After `--` nothing is an option: the variables go before it.
        #expect(try apply(["a", "--", "--port"], ["MOTIVE_PORT": "2"]) == ["a", "--port=2", "--", "--port"])
    }

    @Test(arguments: [("1", true), ("true", true), ("YES", true), ("0", false), ("false", false), ("No", false)])
    func flags(value: String, set: Bool) throws {
        #expect(try apply([], ["MOTIVE_PUBLISH_MODELS": value]) == (set ? ["--publish-models"] : []))
    }

    @Test func aBadFlagNamesItsVariable() throws {
        #expect(throws: EnvironmentArgumentError(variable: "MOTIVE_PUBLISH_MODELS", value: "maybe",
                                                 reason: "must be 1, true, yes, 0, false or no")) {
            try apply([], ["MOTIVE_PUBLISH_MODELS": "maybe"])
        }
        // Given on the command line, the flag wins and its variable is not read.
        #expect(try apply(["--publish-models"], ["MOTIVE_PUBLISH_MODELS": "maybe"]) == ["--publish-models"])
    }

    @Test func listsAreSeparatedByCommas() throws {
        #expect(try apply([], ["MOTIVE_ALLOW_STREAM_SOURCE": "127.0.0.1:*, /dev/video*,"])
                == ["--allow-stream-source=127.0.0.1:*", "--allow-stream-source=/dev/video*"])
    }

    @Test func parserErrorsAreTracedToTheirVariable() throws {
        let applied = try EnvironmentArguments.apply(options, to: [], environment: ["MOTIVE_PORT": "abc", "MOTIVE_MAX_UPLOAD_MB": "0"])
        #expect(EnvironmentArguments.source(blamedBy: "The value 'abc' is invalid for '--port <port>'", in: applied)?.variable == "MOTIVE_PORT")
        #expect(EnvironmentArguments.source(blamedBy: "--max-upload-mb must be 1…1048576", in: applied)?.value == "0")
        // Another option that starts alike, or one the command line gave, is not blamed.
        #expect(EnvironmentArguments.source(blamedBy: "--port-range is bad", in: applied) == nil)
        #expect(EnvironmentArguments.source(blamedBy: "--data-root is bad", in: applied) == nil)
    }
}
