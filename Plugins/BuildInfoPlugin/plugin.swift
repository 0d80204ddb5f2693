import Foundation
import PackagePlugin

/// Stamps the git commit into the target it is applied to (Support's `BuildInfo.commit`).
///
/// A prebuild command runs before every build; `/bin/sh` writes `BuildCommit.swift` into the
/// plugin's work folder only when the commit differs from the one already there, so that a build
/// at the same commit compiles nothing again. Outside a git checkout (a Docker build context has
/// no `.git`), or without `git`, the commit is "unknown". Only `git rev-parse` runs: it reads and
/// never locks the index, so a build beside other git commands cannot disturb them.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildCommit")
        let script = #"""
        set -u
        out="$1/BuildCommit.swift"
        commit=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null) || commit=""
        case "$commit" in ""|*[!0-9a-f]*) commit=unknown ;; esac
        text="// Written by BuildInfoPlugin at build time: the git commit this build is of.
        let buildCommit = \"$commit\""
        mkdir -p "$1"
        if [ "$(cat "$out" 2>/dev/null)" != "$text" ]; then
          printf '%s\n' "$text" > "$out.tmp" && mv "$out.tmp" "$out"
        fi
        """#
        return [.prebuildCommand(displayName: "Stamping the git commit into \(target.name)",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "stamp", output.path, context.package.directoryURL.path],
                                 outputFilesDirectory: output)]
    }
}
