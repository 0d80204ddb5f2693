import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `.dockerignore` as Docker reads it: a path is left out of the build context when the last
/// rule matching it, or one of its parent folders, is not a `!` exception. `*` and `?` stay
/// within one path segment; `**` spans any number of them.
struct DockerIgnore {
    private var rules: [(segments: [Substring], excludes: Bool)] = []

    init(text: String) {
        for line in text.split(separator: "\n") {
            var pattern = line.trimmingCharacters(in: .whitespaces)
            if pattern.isEmpty || pattern.hasPrefix("#") { continue }
            let excludes = !pattern.hasPrefix("!")
            if !excludes { pattern.removeFirst() }
            rules.append((pattern.split(separator: "/").filter { $0 != "." }, excludes))
        }
    }

    func ignores(_ path: String) -> Bool {
        let segments = path.split(separator: "/").filter { $0 != "." }
        var ignored = false
        for rule in rules {
            let matches = (1...max(1, segments.count)).contains { Self.match(rule.segments[...], segments.prefix($0)) }
            if matches { ignored = rule.excludes }
        }
        return ignored
    }

    private static func match(_ pattern: ArraySlice<Substring>, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == "**" { return (path.startIndex...path.endIndex).contains { match(pattern.dropFirst(), path[$0...]) } }
        guard let head = path.first, fnmatch(String(first), String(head), 0) == 0 else { return false }
        return match(pattern.dropFirst(), path.dropFirst())
    }
}

/// A Dockerfile's instructions, by stage: continuation lines joined, comments dropped.
struct Dockerfile {
    struct Instruction {
        let keyword: String
        let arguments: String
    }

    struct Stage {
        let name: String?
        var instructions: [Instruction] = []
    }

    private(set) var stages: [Stage] = []

    init(text: String) {
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            let text = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            guard !text.isEmpty else { continue }
            let keyword = String(text.prefix { !$0.isWhitespace }).uppercased()
            let arguments = text.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
            if keyword == "FROM" {
                let words = arguments.split(separator: " ")
                let name = words.count >= 3 && words[words.count - 2].uppercased() == "AS" ? String(words[words.count - 1]) : nil
                stages.append(Stage(name: name))
            } else if !stages.isEmpty {
                stages[stages.count - 1].instructions.append(Instruction(keyword: keyword, arguments: arguments))
            }
        }
    }

    /// An exec-form (`["a", "b"]`) or shell-form argument list.
    static func command(_ text: String) -> [String] {
        if text.hasPrefix("["), let list = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) { return list }
        return ["/bin/sh", "-c", text]
    }
}

/// What a stage puts in its image, as far as its instructions tell: the paths its COPY, WORKDIR
/// and RUN (`mkdir`, `install -d`/`-D`, `useradd --create-home`, `chown`) make, with their owners,
/// the folders copied from the build context, its volumes, user, entrypoint and health check.
struct ImageFiles {
    /// Path → owner of every file or folder made.
    var made: [String: String] = [:]
    /// Image folder → the build-context folder copied there.
    var trees: [String: URL] = [:]
    var volumes: [String] = []
    var user = "root"
    var workdir = "/"
    var entrypoint: [String] = []
    var cmd: [String] = []
    var healthcheck: [String]?
    var exposed: [Int] = []
    /// COPY sources missing from the build context, or left out of it by .dockerignore.
    var problems: [String] = []

    /// Whether `path` is in the image: made, the parent of something made, or inside a copied folder.
    func exists(_ path: String) -> Bool {
        if made.keys.contains(where: { $0 == path || $0.hasPrefix(path + "/") }) { return true }
        return trees.contains { image, folder in
            (path == image || path.hasPrefix(image + "/"))
                && FileManager.default.fileExists(atPath: folder.path + path.dropFirst(image.count))
        }
    }

    /// Where the image's `PATH` finds `executable`, if it was put there by the Dockerfile.
    func which(_ executable: String) -> String? {
        if executable.hasPrefix("/") { return exists(executable) ? executable : nil }
        return ["/usr/local/bin", "/usr/bin", "/bin"].map { "\($0)/\(executable)" }.first(where: exists)
    }

    init(stage: Dockerfile.Stage, context: URL, ignore: DockerIgnore, earlier: [String: ImageFiles]) {
        for instruction in stage.instructions {
            let arguments = instruction.arguments
            switch instruction.keyword {
            case "WORKDIR":
                workdir = absolute(arguments)
                if !exists(workdir) { made[workdir] = user }
            case "USER":
                user = String(arguments.split(separator: ":")[0])
            case "VOLUME":
                volumes += arguments.hasPrefix("[") ? Dockerfile.command(arguments) : arguments.split(separator: " ").map(String.init)
            case "EXPOSE":
                exposed += arguments.split(separator: " ").compactMap { Int($0.split(separator: "/")[0]) }
            case "ENTRYPOINT":
                entrypoint = Dockerfile.command(arguments)
            case "CMD":
                cmd = Dockerfile.command(arguments)
            case "HEALTHCHECK":
                guard let range = arguments.range(of: "CMD ") else { healthcheck = nil; continue }
                healthcheck = Dockerfile.command(arguments[range.upperBound...].trimmingCharacters(in: .whitespaces))
            case "COPY", "ADD":
                copy(arguments, context: context, ignore: ignore, earlier: earlier)
            case "RUN":
                run(arguments)
            default:
                continue
            }
        }
    }

    private func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : (workdir == "/" ? "/" : workdir + "/") + path
        return joined.count > 1 && joined.hasSuffix("/") ? String(joined.dropLast()) : joined
    }

    private mutating func copy(_ arguments: String, context: URL, ignore: DockerIgnore, earlier: [String: ImageFiles]) {
        var words = arguments.hasPrefix("[") ? Dockerfile.command(arguments) : arguments.split(separator: " ").map(String.init)
        var from: String?
        var owner = "root"
        while let flag = words.first, flag.hasPrefix("--") {
            words.removeFirst()
            if flag.hasPrefix("--from=") { from = String(flag.dropFirst(7)) }
            if flag.hasPrefix("--chown=") { owner = String(flag.dropFirst(8).split(separator: ":")[0]) }
        }
        guard let destination = words.popLast(), !words.isEmpty else { problems.append("COPY \(arguments): no source"); return }
        let intoFolder = destination.hasSuffix("/") || words.count > 1
        for source in words {
            let target = absolute(intoFolder ? destination + "/" + (source as NSString).lastPathComponent : destination)
            if let from {
                if earlier[from]?.exists(source) != true { problems.append("COPY --from=\(from) \(source): stage \(from) does not make it") }
                made[target] = owner
                continue
            }
            let url = context.appendingPathComponent(source)
            var isFolder: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) {
                problems.append("COPY \(source): not in the build context")
            } else if ignore.ignores(source) {
                problems.append("COPY \(source): left out of the build context by .dockerignore")
            }
            if isFolder.boolValue { trees[target] = url }
            made[target] = owner
        }
    }

    /// The folders and files a RUN line makes, through the commands a Dockerfile makes them with.
    private mutating func run(_ line: String) {
        let commands = line.replacingOccurrences(of: "&&", with: ";").replacingOccurrences(of: "||", with: ";").split(separator: ";")
        for command in commands {
            let words = command.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
            guard let tool = words.first else { continue }
            var owner = user
            var operands: [String] = []
            var flags: Set<String> = []
            var index = 1
            while index < words.count {
                let word = words[index]
                if ["-o", "--owner", "-m", "--mode", "-g", "--group", "-d", "--home", "--home-dir", "-s", "--shell", "-u", "--uid", "-G", "--groups", "-c", "--comment"].contains(word),
                   !(tool == "install" && word == "-d"), !(tool == "useradd" && word == "-m"), index + 1 < words.count {
                    if word == "-o" || word == "--owner" { owner = words[index + 1] }
                    if tool == "useradd", ["-d", "--home", "--home-dir"].contains(word) { operands.append("home=" + words[index + 1]) }
                    index += 2
                    continue
                }
                if word.hasPrefix("-") { flags.insert(word) } else { operands.append(word) }
                index += 1
            }
            switch tool {
            case "mkdir":
                for path in operands { made[absolute(path)] = user }
            case "install" where flags.contains("-d"):
                for path in operands { made[absolute(path)] = owner }
            case "install" where flags.contains("-D"):
                if let path = operands.last { made[absolute(path)] = owner }
            case "useradd" where flags.contains("--create-home") || flags.contains("-m"):
                if let home = operands.first(where: { $0.hasPrefix("home=") }), let name = operands.last {
                    made[String(home.dropFirst(5))] = name
                }
            case "chown":
                guard let newOwner = operands.first?.split(separator: ":").first else { continue }
                for path in operands.dropFirst() where exists(absolute(path)) { made[absolute(path)] = String(newOwner) }
            default:
                continue
            }
        }
    }
}
