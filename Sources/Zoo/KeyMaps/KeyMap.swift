import Engine
import NN

/// The key layout a state dict was saved in: what `motive convert --from` and
/// `motive predict --from` name.
public enum CheckpointLayout: String, CaseIterable, Sendable {
    /// Motive's own keys, for any preset (those of each preset's reference library).
    case motive
    /// `torchvision.models` (video ResNets, and image ResNets for TSN/TSM): Motive's keys.
    case torchvision
    /// `pytorchvideo.models.hub` (Slow, C2D, I3D, SlowFast): Motive's keys.
    case pytorchvideo
    /// Hugging Face `TimesformerForVideoClassification`: Motive's keys.
    case hf
    /// MMAction2 recognisers: `backbone.…` with ConvModule's `conv`/`bn`, `cls_head.fc_cls`.
    case mmaction2
    /// mit-han-lab/temporal-shift-module: `module.base_model.…`, shifted convs under `.net`, `new_fc`.
    case tsm
    /// PySlowFast (`model_state`): `s1.pathway0_stem`, `s2.pathway0_res0.branch2.a`, `s1_fuse`, `head.projection`.
    case pyslowfast
}

/// A tensor change that goes with a rename, for layouts that store a tensor differently.
public enum TensorTransform: Sendable, Equatable {
    /// [O, I, kh, kw] → [O, I, 1, kh, kw]: a 2D kernel as a 3D one of one frame.
    case temporalAxis
    /// [O, F] → [O, F] with the first F/`parts` columns moved after the rest: a classifier whose
    /// pooled features arrive (fast, slow) where ours arrive (slow, fast), the fast pathway having
    /// one part in `parts` of them (β = 1/8: one in nine).
    case moveLeadingColumns(parts: Int)

    /// The shape `apply` gives a tensor of `shape`.
    public func shape(_ shape: [Int]) -> [Int] {
        switch self {
        case .temporalAxis: shape.count == 4 ? [shape[0], shape[1], 1, shape[2], shape[3]] : shape
        case .moveLeadingColumns: shape
        }
    }

    func apply(_ t: Tensor) -> Tensor {
        switch self {
        case .temporalAxis:
            return t.rank == 4 ? t.unsqueezed(2) : t
        case .moveLeadingColumns(let parts):
            guard t.rank == 2, t.shape[1] % parts == 0 else { return t }
            let lead = t.shape[1] / parts
            return GradMode.noGrad {
                Tensor.concat([t.sliced(axis: 1, start: lead, end: t.shape[1]), t.sliced(axis: 1, start: 0, end: lead)], axis: 1)
            }
        }
    }
}

/// One row of a key map: a source key matching `pattern` becomes `replacement`.
///
/// Both are dotted keys. In a pattern, `*` matches one or more characters within a segment
/// (`layer*`, `pathway*_res*`, or a whole segment; the text between two `*` must not be empty)
/// and a final `**` matches the rest of the key (one or more segments). Each `*` or `**` of the
/// replacement takes the next matched text, in order.
public struct KeyRule: Sendable, Equatable {
    public let pattern: String
    public let replacement: String
    public let transform: TensorTransform?

    public init(_ pattern: String, _ replacement: String, _ transform: TensorTransform? = nil) {
        (self.pattern, self.replacement, self.transform) = (pattern, replacement, transform)
    }

    /// The rewritten key, or nil when `key` does not match.
    func rewrite(_ key: String) -> String? {
        let want = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let have = key.split(separator: ".", omittingEmptySubsequences: false)
        var captured: [Substring] = []
        for (i, segment) in want.enumerated() {
            if segment == "**" {
                guard i == want.count - 1, have.count > i else { return nil }
                captured.append(key.split(separator: ".", maxSplits: i, omittingEmptySubsequences: false)[i])
                return fill(captured)
            }
            guard i < have.count, let part = Self.match(segment, have[i]) else { return nil }
            captured += part
        }
        return have.count == want.count ? fill(captured) : nil
    }

    /// The captures of one pattern segment against one key segment (none for a literal). Each
    /// `*` takes the shortest non-empty text before the next literal piece, the last one the rest.
    private static func match(_ pattern: Substring, _ text: Substring) -> [Substring]? {
        let pieces = pattern.split(separator: "*", omittingEmptySubsequences: false)
        guard pieces.count > 1 else { return pattern == text ? [] : nil }
        guard text.hasPrefix(pieces[0]) else { return nil }
        var rest = text.dropFirst(pieces[0].count)
        var captured: [Substring] = []
        for piece in pieces.dropFirst().dropLast() {
            guard !rest.isEmpty, let found = rest.dropFirst().firstRange(of: piece) else { return nil }
            captured.append(rest[..<found.lowerBound])
            rest = rest[found.upperBound...]
        }
        let last = pieces[pieces.count - 1]
        guard rest.count > last.count, rest.hasSuffix(last) else { return nil }
        return captured + [rest.dropLast(last.count)]
    }

    private func fill(_ captured: [Substring]) -> String {
        var out = "", next = 0, chars = Array(replacement), i = 0
        while i < chars.count {
            if chars[i] == "*" {
                out += next < captured.count ? captured[next] : ""
                next += 1
                i += i + 1 < chars.count && chars[i + 1] == "*" ? 2 : 1
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return out
    }
}

/// Renames a public checkpoint layout's state dict to a preset's keys: ordered rows, the first
/// matching row wins. A key no row matches is reported, never guessed at.
public struct KeyMap: Sendable {
    public let layout: CheckpointLayout
    /// The presets this map fills; each also fills its `_tiny` variant (same keys, ¼ width).
    public let presets: [String]
    public let rules: [KeyRule]
    /// What differs beyond key names (architecture, sampling), shown whenever the map is used.
    public let note: String?

    public init(_ layout: CheckpointLayout, presets: [String], rules: [KeyRule], note: String? = nil) {
        (self.layout, self.presets, self.rules, self.note) = (layout, presets, rules, note)
    }

    /// The state dict in our keys. A leading `module.` (nn.DataParallel) is dropped first.
    public func apply(_ state: [String: Tensor]) -> MappedState {
        var out = MappedState()
        for key in state.keys.sorted() {
            guard let (target, rule) = match(key) else {
                out.unknown.append(key)
                continue
            }
            if let earlier = out.sources[target] {
                out.collisions.append(.init(target: target, sources: [earlier, key]))
                continue
            }
            let t = state[key]!
            out.tensors[target] = rule.transform?.apply(t) ?? t
            out.sources[target] = key
        }
        return out
    }

    /// Our key for one source key, and the row that renames it (nil: no row matches).
    public func match(_ key: String) -> (target: String, rule: KeyRule)? {
        let bare = key.hasPrefix("module.") ? String(key.dropFirst(7)) : key
        return rules.lazy.compactMap { rule in rule.rewrite(bare).map { ($0, rule) } }.first
    }
}

/// A state dict renamed by a `KeyMap`, with what could not be renamed.
public struct MappedState: Sendable {
    public struct Collision: Sendable, Equatable {
        public let target: String
        public let sources: [String]
    }

    /// Tensors under our keys.
    public var tensors: [String: Tensor] = [:]
    /// Our key → the source key it came from.
    public var sources: [String: String] = [:]
    /// Source keys no row matches, sorted.
    public var unknown: [String] = []
    /// Source keys that two rows sent to the same key.
    public var collisions: [Collision] = []
}

public enum KeyMapError: Error, CustomStringConvertible, Equatable {
    case unknownLayout(String)
    case unsupported(layout: CheckpointLayout, preset: String, supported: [String])
    case unmapped(layout: CheckpointLayout, preset: String, keys: [String], note: String?)
    case collision(target: String, sources: [String])

    public var description: String {
        switch self {
        case .unknownLayout(let name):
            "unknown checkpoint layout \"\(name)\"; --from takes " + CheckpointLayout.allCases.map(\.rawValue).joined(separator: ", ")
        case .unsupported(let layout, let preset, let supported):
            "no \(layout.rawValue) key map for \(preset); \(layout.rawValue) maps onto " + supported.joined(separator: ", ")
        case .unmapped(let layout, let preset, let keys, let note):
            "\(keys.count) key\(keys.count == 1 ? "" : "s") of the \(layout.rawValue) checkpoint have no place in \(preset):\n  "
                + LoadReport.abbreviated(keys) { $0 }.joined(separator: "\n  ") + (note.map { "\nnote: " + $0 } ?? "")
        case .collision(let target, let sources):
            "keys " + sources.joined(separator: " and ") + " both map to \(target)"
        }
    }
}

/// Every key map, by layout and preset.
public enum KeyMaps {
    public static let all: [KeyMap] = identity + mmaction2 + tsmRepository + pySlowFast

    /// The map from `layout` onto `preset` (or onto the full-width preset of a `_tiny` one).
    public static func map(from layout: CheckpointLayout, to preset: String) throws(KeyMapError) -> KeyMap {
        let candidates = all.filter { $0.layout == layout }
        let full = preset.hasSuffix("_tiny") ? String(preset.dropLast(5)) : preset
        if let map = candidates.first(where: { $0.presets.contains(preset) || $0.presets.contains(full) || $0.presets == ["*"] }) {
            return map
        }
        throw .unsupported(layout: layout, preset: preset, supported: candidates.flatMap(\.presets))
    }

    public static func layout(named name: String) throws(KeyMapError) -> CheckpointLayout {
        guard let layout = CheckpointLayout(rawValue: name.lowercased()) else { throw .unknownLayout(name) }
        return layout
    }

    /// Rows for every (prefix, part) pair: `prefix.part.**` → `ourPrefix.ourPart.**`. Keys of
    /// residual networks are a stage prefix table crossed with a block-part table.
    static func crossing(_ prefixes: [(String, String)], _ parts: [(String, String)], _ transform: TensorTransform? = nil) -> [KeyRule] {
        prefixes.flatMap { prefix in
            parts.map { KeyRule("\(prefix.0).\($0.0).**", "\(prefix.1).\($0.1).**", transform) }
        }
    }
}
