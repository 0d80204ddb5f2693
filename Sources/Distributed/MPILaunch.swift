import Foundation
import Support
import Training
#if canImport(Glibc)
import Glibc
#endif

/// How a `motive` process learns that `mpirun` started it, and its share of the machine.
public enum MPILaunch {
    /// Open MPI's launcher sets these in every process it starts (PMIx for launchers that use it).
    public static func isUnderMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Processes `mpirun` started on this machine.
    public static func localProcesses(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        max(1, Int(environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1)
    }

    /// Joins the job when `mpirun` started this process, and gives each of its processes on
    /// this machine an equal share of the cores (kernel workers × processes ≤ cores). Returns
    /// nil outside `mpirun`: training then runs as one process, exactly as without MPI.
    public static func join() throws -> MPIProcessGroup? {
        guard isUnderMPI() else { return nil }
        let group = try MPIProcessGroup()
        Parallel.setWorkers(max(1, Parallel.cores / localProcesses()))
        return group
    }
}
