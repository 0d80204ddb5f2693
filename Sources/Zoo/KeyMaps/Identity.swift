extension KeyMaps {
    /// The layouts whose keys are already ours: each preset keeps its reference library's keys.
    static let identity: [KeyMap] = [
        KeyMap(.motive, presets: ["*"], rules: [KeyRule("**", "**")]),
        KeyMap(.torchvision, presets: ["r3d_18", "mc3_18", "r2plus1d_18", "r2plus1d_34", "tsn_r18", "tsn_r50", "tsm_r50"],
               rules: [KeyRule("**", "**")]),
        KeyMap(.pytorchvideo, presets: ["slow_r50", "c2d_r50", "i3d_r50", "slowfast_r50", "slowfast_r50_4x16"],
               rules: [KeyRule("**", "**")]),
        KeyMap(.hf, presets: ["timesformer_base", "timesformer_hr", "timesformer_tiny"], rules: [KeyRule("**", "**")]),
    ]
}
