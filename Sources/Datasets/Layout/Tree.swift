import Clips
import Foundation
import Support

extension DatasetLayout {
    /// An unpacked dataset's folder as `prepare` looks at it: what is in it, and whether a path
    /// stays inside it once symlinks are followed. Messages name paths relative to it.
    struct Tree {
        /// The folder as given, absolute.
        let folder: URL
        let confinement: ConfinedPath
        /// The folder's only visible entry, when that is a folder (not a symlink): a wrapper such
        /// as `tar czf x.tgz mydata/` makes, or a lone class folder. The lists `prepare` writes
        /// beside it do not count, so that preparing again finds the same wrapper.
        let wrapper: URL?

        init(_ folder: URL) throws(DatasetLayoutError) {
            self.folder = folder.standardizedFileURL
            guard let confinement = ConfinedPath(self.folder) else { throw .unreadableFolder(folder.lastPathComponent) }
            self.confinement = confinement
            let entries = Self.visible(self.folder).filter { !DatasetLayout.listNames.contains($0.lastPathComponent) }
            wrapper = entries.count == 1 && Self.isRealFolder(entries[0]) ? entries[0] : nil
        }

        /// Entries a dataset means: not hidden, not the `__MACOSX` folder macOS adds to zips. Sorted.
        static func visible(_ folder: URL) -> [URL] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            return names.filter { !$0.hasPrefix(".") && $0 != "__MACOSX" }.sorted().map { folder.appendingPathComponent($0) }
        }

        /// A folder itself, not a symlink to one.
        static func isRealFolder(_ url: URL) -> Bool {
            var info = stat()
            return lstat(url.path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }

        /// `url`'s path relative to the dataset folder ("" for the folder itself).
        func relative(_ url: URL) -> String { relative(path: url.standardizedFileURL.path) }

        func relative(path: String) -> String {
            guard path.hasPrefix("/") else { return path }
            for base in [folder.path, confinement.root] {
                if path == base { return "" }
                if path.hasPrefix(base + "/") { return String(path.dropFirst(base.count + 1)) }
            }
            return (path as NSString).lastPathComponent
        }

        func isFile(_ url: URL) -> Bool {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && !isFolder.boolValue
        }

        func isFolder(_ url: URL) -> Bool {
            var isFolder: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && isFolder.boolValue
        }

        /// Video files directly in `folder`.
        func videoFiles(in folder: URL) -> [URL] {
            Self.visible(folder).filter { DataRoot.videoExtensions.contains($0.pathExtension.lowercased()) }
        }

        /// Folders down to `depth` levels below the dataset folder (itself included), shallowest
        /// first, then by name. Symlinked folders are not entered.
        func folders(depth: Int = 3) -> [URL] {
            var found = [folder], level = [folder]
            for _ in 0..<depth {
                level = level.flatMap { Self.visible($0).filter(Self.isRealFolder) }
                found += level
            }
            return found
        }

        /// `url`'s real path, when it lies inside the dataset.
        func inside(_ url: URL) throws(AnnotationError) -> URL {
            guard let real = confinement.check(url) else {
                throw .pathEscapesRoot(relative(url), file: relative(url), line: 0)
            }
            return real
        }

        /// Runs a reader of lists, turning its errors into layout errors that name files relative
        /// to the dataset. A missing file becomes `missing(relative path)`.
        func read<T>(missing: (String) -> DatasetLayoutError = { .unreadableFolder($0) },
                     _ body: () throws(AnnotationError) -> T) throws(DatasetLayoutError) -> T {
            do { return try body() } catch { throw layoutError(error, missing: missing) }
        }

        func layoutError(_ error: AnnotationError, missing: (String) -> DatasetLayoutError) -> DatasetLayoutError {
            switch error {
            case .malformedLine(let file, let line, let reason): .malformedList(file: relative(path: file), line: line, reason: reason)
            case .unknownClass(let name, let file, let line): .unknownClass(name, file: relative(path: file), line: line)
            case .missingFile(let path): missing(relative(path: path))
            case .pathEscapesRoot(let path, let file, let line): .entryOutsideFolder(path, file: relative(path: file), line: line)
            }
        }

        /// Refuses the first entry of `list` (relative to `root`) that leads outside the dataset,
        /// symlinks followed, or a frame folder holding a symlink that does. Missing entries pass:
        /// they are the check's to report.
        func confine(_ list: AnnotationList, root: URL, list url: URL) throws(DatasetLayoutError) {
            let dataRoot = DataRoot(root, confinedTo: confinement)
            let file = relative(url)
            for (i, item) in list.items.enumerated() {
                do { _ = try dataRoot.resolve(item.path, file: file, line: i + 1) } catch {
                    throw layoutError(error, missing: { .unreadableFolder($0) })
                }
            }
        }
    }
}
