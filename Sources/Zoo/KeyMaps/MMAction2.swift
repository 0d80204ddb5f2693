extension KeyMaps {
    /// MMAction2 recognisers (`backbone.…`, `cls_head.fc_cls`). Its ResNets wrap every conv and
    /// norm in a ConvModule (`conv1.conv`, `conv1.bn`); TSM's shift wraps the first conv of each
    /// block (`conv1.conv.net`).
    static let mmaction2: [KeyMap] = [
        KeyMap(.mmaction2, presets: ["tsn_r18", "tsn_r50"], rules: mmImageResNet(shifted: false)),
        KeyMap(.mmaction2, presets: ["tsm_r50"], rules: mmImageResNet(shifted: true)),
        KeyMap(.mmaction2, presets: ["slow_r50"], rules: mmResNet3D(stages: [1, 2, 3, 4], head: 5)),
        KeyMap(.mmaction2, presets: ["i3d_r50"], rules: mmResNet3D(stages: [1, 3, 4, 5], head: 6),
               note: "mmaction2's I3D strides its stem conv and first pool by 2 in time and is trained on 32-frame clips "
                   + "(32×2×1); i3d_r50 (pytorchvideo's) strides by 1 on 8-frame clips, so sample accordingly"),
        KeyMap(.mmaction2, presets: ["c2d_r50"], rules: mmResNet3D(stages: [1, 3, 4, 5], head: 6, kernels: .temporalAxis),
               note: "mmaction2's C2D stores 2D kernels (read as 1×k×k) and pools its stem without padding, "
                   + "where c2d_r50 (pytorchvideo's) pads by 1: activations differ slightly"),
        KeyMap(.mmaction2, presets: ["r2plus1d_18", "r2plus1d_34"], rules: mmR2Plus1D,
               note: "mmaction2's ResNet2Plus1d is not torchvision's R(2+1)D: its stem has 83 middle channels "
                   + "(torchvision 45), each (2+1)D conv sizes its own middle width (torchvision sizes both convs of a "
                   + "block alike) and its shortcuts are (2+1)D convs, so its checkpoints do not fit r2plus1d_18/34"),
        KeyMap(.mmaction2, presets: ["c3d"], rules: [
            KeyRule("backbone.conv*.conv.**", "conv*.**"),
            KeyRule("backbone.fc*.**", "fc*.**"),
            KeyRule("cls_head.fc_cls.**", "fc8.**"),
        ]),
        KeyMap(.mmaction2, presets: ["slowfast_r50", "slowfast_r50_4x16"], rules: mmSlowFast,
               note: "mmaction2's laterals have a norm and ReLU only with lateral_norm=True (its *-steplr configs); "
                   + "without them the fusion norms are missing and the checkpoint does not fit. mmaction2 picks the "
                   + "slow frames by striding where Motive follows PySlowFast's linspace"),
        KeyMap(.mmaction2, presets: ["timesformer_base", "timesformer_hr", "timesformer_tiny"], rules: mmTimeSformer),
    ]

    /// ConvModule parts of a bottleneck or basic block → torchvision's names.
    static func mmImageResNet(shifted: Bool) -> [KeyRule] {
        let first = shifted ? "conv1.conv.net" : "conv1.conv"
        return [
            KeyRule("backbone.conv1.conv.**", "conv1.**"),
            KeyRule("backbone.conv1.bn.**", "bn1.**"),
            KeyRule("cls_head.fc_cls.**", "fc.**"),
        ] + crossing([("backbone.layer*.*", "layer*.*")], [
            (first, "conv1"), ("conv2.conv", "conv2"), ("conv3.conv", "conv3"),
            ("conv1.bn", "bn1"), ("conv2.bn", "bn2"), ("conv3.bn", "bn3"),
            ("downsample.conv", "downsample.0"), ("downsample.bn", "downsample.1"),
        ])
    }

    /// ConvModule parts of a bottleneck → pytorchvideo's.
    static let mmBottleneck = [
        ("conv1.conv", "branch2.conv_a"), ("conv1.bn", "branch2.norm_a"),
        ("conv2.conv", "branch2.conv_b"), ("conv2.bn", "branch2.norm_b"),
        ("conv3.conv", "branch2.conv_c"), ("conv3.bn", "branch2.norm_c"),
        ("downsample.conv", "branch1_conv"), ("downsample.bn", "branch1_norm"),
    ]

    /// mmaction2's ResNet3d family (`layer1`…`layer4`) → pytorchvideo's `blocks.N`, where
    /// `stages` gives N for each layer (a temporal pool after the first stage takes a block
    /// index of its own) and `head` the classifier's block.
    static func mmResNet3D(stages: [Int], head: Int, kernels: TensorTransform? = nil) -> [KeyRule] {
        let convs = mmBottleneck.filter { $0.0.hasSuffix("conv") }, norms = mmBottleneck.filter { !$0.0.hasSuffix("conv") }
        let layers = stages.enumerated().map { ("backbone.layer\($0.offset + 1).*", "blocks.\($0.element).res_blocks.*") }
        return [
            KeyRule("backbone.conv1.conv.**", "blocks.0.conv.**", kernels),
            KeyRule("backbone.conv1.bn.**", "blocks.0.norm.**"),
            KeyRule("cls_head.fc_cls.**", "blocks.\(head).proj.**"),
        ] + crossing(layers, convs, kernels) + crossing(layers, norms)
    }

    /// ResNet2Plus1d → torchvision's video ResNet: a Conv2plus1d is `conv_s`, `bn_s`, `conv_t`
    /// where torchvision's Sequential has 0, 1 (ReLU at 2), 3. Its (2+1)D shortcut convs have no
    /// counterpart and stay unmapped.
    static let mmR2Plus1D: [KeyRule] = [
        KeyRule("backbone.conv1.conv.conv_s.**", "stem.0.**"),
        KeyRule("backbone.conv1.conv.bn_s.**", "stem.1.**"),
        KeyRule("backbone.conv1.conv.conv_t.**", "stem.3.**"),
        KeyRule("backbone.conv1.bn.**", "stem.4.**"),
        KeyRule("backbone.layer*.*.downsample.bn.**", "layer*.*.downsample.1.**"),
        KeyRule("cls_head.fc_cls.**", "fc.**"),
    ] + crossing([("backbone.layer*.*.conv*", "layer*.*.conv*")], [
        ("conv.conv_s", "0.0"), ("conv.bn_s", "0.1"), ("conv.conv_t", "0.3"), ("bn", "1"),
    ])

    /// ResNet3dSlowFast → pytorchvideo's SlowFast. The laterals live on the slow path
    /// (`conv1_lateral` after the stem, `layerN_lateral` after stage N); the head reads the
    /// pooled fast features first.
    static let mmSlowFast: [KeyRule] = {
        var rules: [KeyRule] = []
        for (p, path) in ["slow_path", "fast_path"].enumerated() {
            rules += [
                KeyRule("backbone.\(path).conv1.conv.**", "blocks.0.multipathway_blocks.\(p).conv.**"),
                KeyRule("backbone.\(path).conv1.bn.**", "blocks.0.multipathway_blocks.\(p).norm.**"),
            ]
            rules += crossing((1...4).map { ("backbone.\(path).layer\($0).*", "blocks.\($0).multipathway_blocks.\(p).res_blocks.*") },
                              mmBottleneck)
        }
        let laterals = [("backbone.slow_path.conv1_lateral", "blocks.0.multipathway_fusion")]
            + (1...3).map { ("backbone.slow_path.layer\($0)_lateral", "blocks.\($0).multipathway_fusion") }
        rules += crossing(laterals, [("conv", "conv_fast_to_slow"), ("bn", "norm")])
        rules += [
            KeyRule("cls_head.fc_cls.weight", "blocks.6.proj.weight", .moveLeadingColumns(parts: 9)),
            KeyRule("cls_head.fc_cls.bias", "blocks.6.proj.bias"),
        ]
        return rules
    }()

    /// TimeSformer (divided space-time) → Hugging Face's names. Per layer, `attentions.0` is the
    /// temporal attention (with `temporal_fc`), `attentions.1` the spatial one, `ffns.0` the MLP,
    /// each with its own pre-norm; nn.MultiheadAttention's `in_proj` is HF's fused `qkv`.
    static let mmTimeSformer: [KeyRule] = [
        KeyRule("backbone.cls_token", "timesformer.embeddings.cls_token"),
        KeyRule("backbone.pos_embed", "timesformer.embeddings.position_embeddings"),
        KeyRule("backbone.time_embed", "timesformer.embeddings.time_embeddings"),
        KeyRule("backbone.patch_embed.projection.**", "timesformer.embeddings.patch_embeddings.projection.**"),
        KeyRule("backbone.norm.**", "timesformer.layernorm.**"),
        KeyRule("cls_head.fc_cls.**", "classifier.**"),
    ] + [
        ("attentions.0.norm.**", "temporal_layernorm.**"),
        ("attentions.0.attn.in_proj_weight", "temporal_attention.attention.qkv.weight"),
        ("attentions.0.attn.in_proj_bias", "temporal_attention.attention.qkv.bias"),
        ("attentions.0.attn.out_proj.**", "temporal_attention.output.dense.**"),
        ("attentions.0.temporal_fc.**", "temporal_dense.**"),
        ("attentions.1.norm.**", "layernorm_before.**"),
        ("attentions.1.attn.in_proj_weight", "attention.attention.qkv.weight"),
        ("attentions.1.attn.in_proj_bias", "attention.attention.qkv.bias"),
        ("attentions.1.attn.out_proj.**", "attention.output.dense.**"),
        ("ffns.0.norm.**", "layernorm_after.**"),
        ("ffns.0.layers.0.0.**", "intermediate.dense.**"),
        ("ffns.0.layers.1.**", "output.dense.**"),
    ].map { KeyRule("backbone.transformer_layers.layers.*.\($0.0)", "timesformer.encoder.layer.*.\($0.1)") }
}
