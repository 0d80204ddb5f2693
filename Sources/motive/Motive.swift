import ArgumentParser
import CPUFeatures
import Engine
import Foundation
import Support
import Video

@main
struct Motive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "motive",
        abstract: "Motive: video action recognition in Swift.",
        version: BuildInfo.description,
        subcommands: [Probe.self, Sample.self, Frames.self, DatasetCommand.self, Models.self, Flops.self, Predict.self,
                      ConfigCommand.self, Train.self, Eval.self, BenchCommand.self, Export.self, Convert.self, FlowCommand.self, TwoStreamCommand.self, Serve.self])

    static func main() {
        CPUFeatures.requireCompiledFeatures()
        BLASCore.restartWithSupportedKernelsIfNeeded()
        // Errors reach the user as typed errors; FFmpeg's own chatter (encoder statistics) is noise.
        FFmpegLogLevel.quiet.apply()
        do {
            // `motive serve`'s options may come from the environment (MOTIVE_PORT…): they join the
            // command line, and a bad one is reported with the variable it came from.
            let commandLine = try Serve.commandLine(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
            var command: any ParsableCommand
            do {
                command = try parseAsRoot(commandLine.arguments)
            } catch where exitCode(for: error) != .success {
                guard let source = EnvironmentArguments.source(blamedBy: message(for: error), in: commandLine) else { throw error }
                throw CLIError("\(source.variable)=\(source.value): \(message(for: error))")
            }
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Bad input to a verb: printed as one line ("Error: …"), exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
