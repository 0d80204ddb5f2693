/// What `DatasetCheck.run` found in a dataset's lists.
public struct DatasetReport: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// At least one training video is readable (warnings say what is not).
        case ready
        /// Nothing usable: an empty train list, or no readable training video.
        case invalid
    }

    /// One class: its readable videos in each list, and their seconds together.
    public struct ClassRow: Codable, Sendable, Equatable {
        public var name: String
        public var train: Int
        public var val: Int
        public var seconds: Double

        public init(name: String, train: Int = 0, val: Int = 0, seconds: Double = 0) {
            (self.name, self.train, self.val, self.seconds) = (name, train, val, seconds)
        }
    }

    /// A list entry that cannot be read, and why.
    public struct Unreadable: Codable, Sendable, Equatable {
        /// Relative to the lists' root, as the list writes it.
        public var path: String
        public var error: String

        public init(path: String, error: String) { (self.path, self.error) = (path, error) }
    }

    public var state: State
    /// In label order.
    public var classes: [ClassRow]
    /// Entries in the lists (train and val).
    public var videos: Int
    public var readable: Int
    /// In list order, train first.
    public var unreadable: [Unreadable]
    /// Seconds of the readable videos (rawframe folders count at 25 frames a second, the rate
    /// the loader reads them at).
    public var totalSeconds: Double
    /// Frames of the readable videos and folders.
    public var frames: Int
    /// "WIDTHxHEIGHT" (as displayed, rotation applied) → readable videos of that size.
    public var resolutions: [String: Int]
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case state, classes, videos, readable, unreadable, totalSeconds = "total_seconds", frames, resolutions, warnings
    }

    public init(state: State, classes: [ClassRow], videos: Int, readable: Int, unreadable: [Unreadable],
                totalSeconds: Double, frames: Int, resolutions: [String: Int], warnings: [String]) {
        self.state = state
        self.classes = classes
        self.videos = videos
        self.readable = readable
        self.unreadable = unreadable
        self.totalSeconds = totalSeconds
        self.frames = frames
        self.resolutions = resolutions
        self.warnings = warnings
    }
}
