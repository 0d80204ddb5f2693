import Foundation
import Training
#if canImport(Glibc)
import Glibc
#endif

/// How the daemon starts a job of `distributed.processes` > 1: its training process under Open
/// MPI's `mpirun`, one rank per process, on this machine or on the hostfile's machines.
enum MPIRunCommand {
    /// `mpirun` on the PATH (Debian's openmpi-bin), or nil.
    static func locate(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let folders = (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
        return folders.map { URL(fileURLWithPath: "\($0)/mpirun") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// mpirun's arguments before the job's own command line.
    /// - Without a hostfile the ranks share this machine, however many cores it has
    ///   (`--oversubscribe`); with one, Open MPI places them by its slots.
    /// - `--bind-to none` leaves each rank's decode threads free to move between cores.
    /// - mpirun passes SIGTERM to the ranks only after `odls_base_sigkill_timeout` seconds and kills
    ///   them that long after: 30 s gives a rank time to finish its step and save, should anything
    ///   send mpirun SIGTERM; the daemon itself stops a job with SIGUSR1, passed on at once.
    /// - Open MPI refuses to run as root unless told.
    static func arguments(processes: Int, hostfile: String?, isRoot: Bool = getuid() == 0) -> [String] {
        var arguments = ["-np", String(processes)]
        arguments += hostfile.map { ["--hostfile", $0] } ?? ["--oversubscribe"]
        arguments += ["--bind-to", "none", "--mca", "odls_base_sigkill_timeout", "30"]
        if isRoot { arguments.append("--allow-run-as-root") }
        return arguments
    }
}
