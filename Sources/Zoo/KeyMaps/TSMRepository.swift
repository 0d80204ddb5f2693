extension KeyMaps {
    /// mit-han-lab/temporal-shift-module's TSN class, saved from nn.DataParallel: torchvision's
    /// ResNet under `base_model`, with the classifier as `new_fc` (or as `base_model.fc` when
    /// trained without dropout). TSM wraps the first conv of every block in its shift module,
    /// which keeps the conv as `.net`; a TSN checkpoint has no `.net` and does not load as TSM.
    static let tsmRepository: [KeyMap] = [
        KeyMap(.tsm, presets: ["tsm_r50"], rules: tsmRepositoryRules(shifted: true)),
        KeyMap(.tsm, presets: ["tsn_r18", "tsn_r50"], rules: tsmRepositoryRules(shifted: false)),
    ]

    static func tsmRepositoryRules(shifted: Bool) -> [KeyRule] {
        [
            KeyRule("base_model.conv1.**", "conv1.**"),
            KeyRule("base_model.bn1.**", "bn1.**"),
            KeyRule("base_model.fc.**", "fc.**"),
            KeyRule("new_fc.**", "fc.**"),
        ] + crossing([("base_model.layer*.*", "layer*.*")], [
            (shifted ? "conv1.net" : "conv1", "conv1"), ("conv2", "conv2"), ("conv3", "conv3"),
            ("bn*", "bn*"), ("downsample", "downsample"),
        ])
    }
}
