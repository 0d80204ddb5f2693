extension KeyMaps {
    /// PySlowFast's ResNet and SlowFast (`model_state` of its checkpoints). Stages are `s1` (the
    /// stem) to `s5`, blocks `pathway{p}_res{i}`, fusions `s1_fuse`…`s4_fuse` after the stem and
    /// the first three stages; pytorchvideo numbers the same modules `blocks.0`…`blocks.4`, with
    /// the pool after the first stage as a block of its own in C2D and I3D.
    static let pySlowFast: [KeyMap] = [
        KeyMap(.pyslowfast, presets: ["slow_r50"], rules: pySlowFastResNet(stages: [1, 2, 3, 4], head: 5)),
        KeyMap(.pyslowfast, presets: ["c2d_r50", "i3d_r50"], rules: pySlowFastResNet(stages: [1, 3, 4, 5], head: 6)),
        KeyMap(.pyslowfast, presets: ["slowfast_r50", "slowfast_r50_4x16"], rules: pySlowFastTwoPathway),
    ]

    /// BottleneckTransform and ResBlock parts → pytorchvideo's.
    static let pySlowFastBottleneck = [
        ("branch2.a", "branch2.conv_a"), ("branch2.a_bn", "branch2.norm_a"),
        ("branch2.b", "branch2.conv_b"), ("branch2.b_bn", "branch2.norm_b"),
        ("branch2.c", "branch2.conv_c"), ("branch2.c_bn", "branch2.norm_c"),
        ("branch1", "branch1_conv"), ("branch1_bn", "branch1_norm"),
    ]

    /// Single pathway: stage `s2`…`s5` goes to `blocks.N` with N from `stages`.
    static func pySlowFastResNet(stages: [Int], head: Int) -> [KeyRule] {
        [
            KeyRule("s1.pathway0_stem.conv.**", "blocks.0.conv.**"),
            KeyRule("s1.pathway0_stem.bn.**", "blocks.0.norm.**"),
            KeyRule("head.projection.**", "blocks.\(head).proj.**"),
        ] + crossing(stages.enumerated().map { ("s\($0.offset + 2).pathway0_res*", "blocks.\($0.element).res_blocks.*") },
                     pySlowFastBottleneck)
    }

    static let pySlowFastTwoPathway: [KeyRule] = [
        KeyRule("s1.pathway*_stem.conv.**", "blocks.0.multipathway_blocks.*.conv.**"),
        KeyRule("s1.pathway*_stem.bn.**", "blocks.0.multipathway_blocks.*.norm.**"),
        KeyRule("head.projection.**", "blocks.6.proj.**"),
    ] + crossing((2...5).map { ("s\($0).pathway*_res*", "blocks.\($0 - 1).multipathway_blocks.*.res_blocks.*") },
                 pySlowFastBottleneck)
      + crossing((1...4).map { ("s\($0)_fuse", "blocks.\($0 - 1).multipathway_fusion") },
                 [("conv_f2s", "conv_fast_to_slow"), ("bn", "norm")])
}
