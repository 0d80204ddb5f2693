import ArgumentParser
import Foundation
import Training
import Yams

/// `motive config CONFIG.yaml [--set key=value …]`: check a job config and print it resolved.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a training job config (with its _base_ chain and --set overrides) and print it resolved, defaults included.")

    @Argument(help: "The job config (YAML).") var file: String
    @Option(name: .customLong("set"), help: "Override a key, e.g. --set optimizer.lr=0.05 (repeatable).") var overrides: [String] = []

    func run() throws {
        let config = try ConfigLoader.load(file, overrides: overrides)
        print(try YAMLEncoder().encode(config), terminator: "")
    }
}
