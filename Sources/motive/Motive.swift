import ArgumentParser
import Engine
import Foundation

@main
struct Motive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "motive",
        abstract: "Motive: video action recognition in Swift.",
        subcommands: [Probe.self, Sample.self, Frames.self, DatasetCommand.self])

    static func main() {
        BLASCore.restartWithSupportedKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
