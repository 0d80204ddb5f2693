/// What this build of Motive is: `motive --version` prints it, and the daemon's `/metrics`
/// carries it as `motive_build_info`.
public enum BuildInfo {
    /// Motive's version: the one place it is written.
    public static let version = "0.1.0-dev"
    /// The git commit the build was made from (12 hex digits), or "unknown" outside a git
    /// checkout; stamped by BuildInfoPlugin (`Plugins/BuildInfoPlugin`).
    public static let commit = buildCommit
    /// "0.1.0-dev (commit 0123456789ab)".
    public static var description: String { "\(version) (commit \(commit))" }
}
