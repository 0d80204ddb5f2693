import Engine
import Foundation
import Testing
import Video
@testable import Clips

/// A grey frame whose byte at (x, y) is 10·y + x.
func ramp(width: Int, height: Int, frames: Int = 1) -> FrameStack {
    let frame = (0..<height).map { y in (0..<width).map { x in UInt8(10 * y + x) } }
    return FrameStack.concat(Array(repeating: grey(frame), count: frames))
}

/// A clip whose frames are all the same random image.
func still(width: Int, height: Int, frames: Int, seed: UInt64) -> FrameStack {
    var rng = Xoshiro(seed: seed)
    let frame = (0..<(width * height * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return FrameStack(count: frames, height: height, width: width, pixels: Array([[UInt8]](repeating: frame, count: frames).joined()))
}

@Suite struct CropTests {
    @Test func centreCropTakesTheMiddle() {
        let box = CropPlacement.centre(width: 6, height: 4, crop: .square(2))
        #expect(box == CropBox(x: 2, y: 1, width: 2, height: 2))
        #expect(red(ramp(width: 6, height: 4).cropped(to: box)) == [[12, 13], [22, 23]])
    }

    @Test func cropsThatCannotFitAreCaughtBeforeCropping() throws {
        let test = ClipPipeline([.resizeShortSide(side: 64), .centreCrop(size: .square(96))], normalization: Normalization(.kinetics))
        #expect(throws: CropTooLarge(step: 1, name: "centre_crop", crop: .square(96), frame: "short-side 64")) {
            try test.checkCrops(frame: nil)
        }
        // A 100×60 crop may fit a landscape frame of short side 64, so only the real frame decides.
        let wide = ClipPipeline([.resizeShortSide(side: 64), .threeCrop(size: FrameSize(width: 100, height: 60))], normalization: Normalization(.kinetics))
        try wide.checkCrops(frame: nil)
        try wide.checkCrops(frame: FrameSize(width: 480, height: 240))             // → 128×64
        #expect(throws: CropTooLarge(step: 1, name: "three_crop", crop: FrameSize(width: 100, height: 60), frame: "85×64")) {
            try wide.checkCrops(frame: FrameSize(width: 320, height: 240))
        }
        #expect(throws: CropTooLarge.self) { try wide.checkCrops(frame: FrameSize(width: 240, height: 480)) }
        // Exact sizes are followed through resizes and crops.
        let chain = ClipPipeline([.resize(size: .square(80)), .centreCrop(size: .square(72)), .tenCrop(size: .square(76))],
                                 normalization: Normalization(.kinetics))
        #expect(throws: CropTooLarge(step: 2, name: "ten_crop", crop: .square(76), frame: "72×72")) { try chain.checkCrops(frame: nil) }
        // Without a resize only the decoded frame can tell.
        let bare = ClipPipeline([.centreCrop(size: .square(112))], normalization: Normalization(.kinetics))
        try bare.checkCrops(frame: nil)
        try bare.checkCrops(frame: FrameSize(width: 128, height: 112))
        #expect(throws: CropTooLarge.self) { try bare.checkCrops(frame: FrameSize(width: 128, height: 96)) }
    }

    @Test func threeCropIsLeftRightMiddle() {
        #expect(CropPlacement.three(width: 8, height: 4, crop: .square(4)).map(\.x) == [0, 4, 2])
        #expect(CropPlacement.three(width: 4, height: 9, crop: .square(4)).map(\.y) == [0, 4, 2])
        let views = ClipTransform.threeCrop(size: .square(4)).apply([ramp(width: 8, height: 4)], using: &globalFree)
        #expect(views.map { red($0)[0][0] } == [0, 4, 2])
    }

    @Test func tenCropPairsEachCropWithItsMirror() {
        let boxes = CropPlacement.fixed(width: 10, height: 10, crop: .square(6))
        #expect(boxes.map { [$0.x, $0.y] } == [[0, 0], [4, 0], [0, 4], [4, 4], [2, 2]])
        let views = ClipTransform.tenCrop(size: .square(6)).apply([ramp(width: 10, height: 10)], using: &globalFree)
        #expect(views.count == 10)
        #expect(red(views[2])[0] == [4, 5, 6, 7, 8, 9])
        #expect(red(views[3])[0] == [9, 8, 7, 6, 5, 4])
    }

    @Test func multiScaleCandidatesFollowTSN() {
        let sizes = CropPlacement.multiScaleSizes(width: 340, height: 256, scales: [1, 0.875, 0.75, 0.66],
                                                  maxGap: 1, input: .square(224))
        #expect(sizes.map { [$0.width, $0.height] } == [[256, 256], [224, 256], [256, 224], [224, 224], [192, 224],
                                                        [224, 192], [192, 192], [168, 192], [192, 168], [168, 168]])
        // Sides within 3 pixels of the input snap to it: 0.875 · 254 = 222 → 224.
        #expect(CropPlacement.multiScaleSizes(width: 254, height: 254, scales: [0.875], maxGap: 1, input: .square(224))
                == [.square(224)])
        // A scale too small for the frame still gives a one-pixel side, never an empty crop.
        #expect(CropPlacement.multiScaleSizes(width: 64, height: 48, scales: [1e-9], maxGap: 0, input: .square(32)) == [.square(1)])
        let grid = CropPlacement.fixed(width: 340, height: 256, crop: .square(224))
        #expect(grid.map { [$0.x, $0.y] } == [[0, 0], [116, 0], [0, 32], [116, 32], [58, 16]])
        #expect(CropPlacement.fixed(width: 340, height: 256, crop: .square(224), more: true).count == 13)
    }

    @Test func multiScaleDrawsComeFromTheGrid() {
        let crop = MultiScaleCrop(inputSize: .square(224))
        var rng = Xoshiro(seed: 3)
        var seen = Set<CropBox>()
        let sizes = CropPlacement.multiScaleSizes(width: 340, height: 256, scales: crop.scales, maxGap: 1, input: .square(224))
        let all = Set(sizes.flatMap { CropPlacement.fixed(width: 340, height: 256, crop: $0) })
        for _ in 0..<1000 {
            let box = crop.box(width: 340, height: 256, using: &rng)
            let size = FrameSize(width: box.width, height: box.height)
            #expect(CropPlacement.fixed(width: 340, height: 256, crop: size).contains(box))
            seen.insert(box)
        }
        #expect(seen == all)  // 10 sizes × 5 offsets, less those that coincide, all reached
        #expect(all.count == 46)
        // A 222-pixel side snaps to 224, which is cut back to the frame.
        for _ in 0..<50 {
            let b = crop.box(width: 300, height: 222, using: &rng)
            #expect(b.y + b.height <= 222 && b.x + b.width <= 300)
        }
    }

    @Test func randomResizedCropFitsOrFallsBackToTheCentre() {
        var rng = Xoshiro(seed: 11)
        for _ in 0..<300 {
            let b = CropPlacement.randomResized(width: 320, height: 240, scale: 0.08...1, ratio: 0.75...(4.0 / 3), using: &rng)
            #expect(b.x >= 0 && b.y >= 0 && b.x + b.width <= 320 && b.y + b.height <= 240)
            let area = Double(b.width * b.height) / (320 * 240)
            #expect(area > 0.07 && area < 1.01)
        }
        // Nothing of ≥ 90 % of the area fits a 100×10 strip at ratio ≤ 4/3: centred 13×10 (round(10 · 4/3)).
        let fallback = CropPlacement.randomResized(width: 100, height: 10, scale: 0.9...1, ratio: 0.75...(4.0 / 3), using: &rng)
        #expect(fallback == CropBox(x: 43, y: 0, width: 13, height: 10))
    }
}

/// For steps that draw nothing.
nonisolated(unsafe) var globalFree = Xoshiro(seed: 0)

@Suite struct FlipTests {
    @Test func mirrorsEveryRow() {
        #expect(red(grey([[1, 2, 3], [4, 5, 6]]).flippedHorizontally()) == [[3, 2, 1], [6, 5, 4]])
    }

    @Test func flowFlipInvertsX() {
        let flow = FrameStack(count: 1, height: 1, width: 2, pixels: [10, 20, 30, 40, 50, 60])
        #expect(flow.flippedHorizontally(flow: .channels).pixels == [215, 50, 60, 245, 20, 30])
        // Frames alternate x, y: only x frames are inverted.
        let pair = FrameStack(count: 2, height: 1, width: 2, pixels: [0, 0, 0, 100, 100, 100, 7, 7, 7, 9, 9, 9])
        #expect(pair.flippedHorizontally(flow: .alternatingFrames).pixels == [155, 155, 155, 255, 255, 255, 9, 9, 9, 7, 7, 7])
    }

    @Test func flipProbabilityIsRespected() {
        var rng = Xoshiro(seed: 5)
        let img = grey([[1, 2]])
        let never = ClipTransform.flip(HorizontalFlip(probability: 0))
        let always = ClipTransform.flip(HorizontalFlip(probability: 1))
        #expect(red(never.apply([img], using: &rng)[0]) == [[1, 2]])
        #expect(red(always.apply([img], using: &rng)[0]) == [[2, 1]])
        var flips = 0
        for _ in 0..<1000 where red(ClipTransform.flip(HorizontalFlip()).apply([img], using: &rng)[0]) == [[2, 1]] { flips += 1 }
        #expect((400...600).contains(flips))
    }
}

@Suite struct ColorJitterTests {
    let pixel = { (r: UInt8, g: UInt8, b: UInt8) in FrameStack(count: 1, height: 1, width: 1, pixels: [r, g, b]) }

    @Test func brightnessScalesAndClamps() {
        #expect(pixel(200, 100, 3).jittered([.brightness(0.5)]).pixels == [100, 50, 1])
        #expect(pixel(200, 100, 3).jittered([.brightness(1.5)]).pixels == [255, 150, 4])
    }

    @Test func saturationZeroIsTorchvisionGrey() {
        // 0.2989 · 255 = 76.2 → 76.
        #expect(pixel(255, 0, 0).jittered([.saturation(0)]).pixels == [76, 76, 76])
    }

    @Test func contrastBlendsWithEachFramesMeanGrey() {
        // torchvision's grey weights sum to 0.9999, so grey 200 reads 199 and 50 reads 49.
        // Frame 0: mean (0 + 199) / 2 = 99.5; halfway: 49.75 → 49, 149.75 → 149. Frame 1: mean 49 → 49.5 → 49.
        let s = FrameStack(count: 2, height: 1, width: 2, pixels: [0, 0, 0, 200, 200, 200, 50, 50, 50, 50, 50, 50])
        #expect(s.jittered([.contrast(0.5)]).pixels == [49, 49, 49, 149, 149, 149, 49, 49, 49, 49, 49, 49])
        // Factor 1 keeps the frame.
        #expect(s.jittered([.contrast(1)]).pixels == s.pixels)
    }

    @Test func hueRotatesPrimaries() {
        #expect(pixel(255, 0, 0).jittered([.hue(1.0 / 3)]).pixels == [0, 255, 0])
        #expect(pixel(255, 0, 0).jittered([.hue(-1.0 / 3)]).pixels == [0, 0, 255])
        #expect(pixel(90, 90, 90).jittered([.hue(0.25)]).pixels == [90, 90, 90])
    }

    @Test func drawCoversEnabledStepsOnce() {
        var rng = Xoshiro(seed: 9)
        let steps = ColorJitter(brightness: 0.4, contrast: 0.4, hue: 0.1).draw(using: &rng)
        #expect(steps.count == 3)
        for s in steps {
            switch s {
            case .brightness(let f), .contrast(let f): #expect(f >= 0.6 && f <= 1.4)
            case .hue(let h): #expect(abs(h) <= 0.1)
            case .saturation: Issue.record("saturation is off")
            }
        }
    }
}

@Suite struct NormalizationTests {
    @Test func presetsGiveKnownValues() {
        let s = FrameStack(count: 1, height: 1, width: 1, pixels: [0, 255, 104])
        let i = s.tensor(Normalization(.imagenet)).scalars
        #expect(abs(i[0] - (-123.675 / 58.395)) < 1e-5 && abs(i[1] - (255 - 116.28) / 57.12) < 1e-5)
        let k = s.tensor(Normalization(.kinetics)).scalars
        #expect(abs(k[1] - (1 - 0.394666) / 0.22145) < 1e-5)
        let f = s.tensor(Normalization(.slowfast)).scalars
        #expect(abs(f[0] - (-2)) < 1e-6)
        let c = s.tensor(Normalization(.c3d)).scalars
        #expect(c == [-104, 138, -24])
    }

    @Test func layoutIsChannelTimeHeightWidth() {
        // Two 1×2 frames; R = 10·t + x, G = 100, B = 200.
        let s = FrameStack(count: 2, height: 1, width: 2, pixels: [0, 100, 200, 1, 100, 200, 10, 100, 200, 11, 100, 200])
        let t = s.tensor(Normalization(mean: [0, 0, 0], std: [1, 1, 1]))
        #expect(t.shape == [3, 2, 1, 2])
        #expect(t.scalars == [0, 1, 10, 11, 100, 100, 100, 100, 200, 200, 200, 200])
        let batch = ClipBatch.stack([t, t])
        #expect(batch.shape == [2, 3, 2, 1, 2] && Array(batch.scalars[12...]) == t.scalars)
    }
}

@Suite struct PipelineTests {
    let train = ClipPipeline([.resizeShortSide(side: 40),
                              .randomResizedCrop(RandomResizedCrop(size: .square(16))),
                              .flip(HorizontalFlip()),
                              .colorJitter(ColorJitter(brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1))],
                             normalization: Normalization(.kinetics))

    @Test func oneDrawIsSharedByEveryFrame() {
        var rng = Xoshiro(seed: 21)
        for seed in 0..<20 {
            let out = train.views(still(width: 48, height: 36, frames: 4, seed: UInt64(seed)), using: &rng)[0]
            #expect(out.count == 4 && out.width == 16 && out.height == 16)
            for t in 1..<4 { #expect(out.frame(t).pixels == out.frame(0).pixels) }
        }
    }

    @Test func seedDeterminesTheOutput() {
        let clip = still(width: 48, height: 36, frames: 3, seed: 1)
        var a = Xoshiro(seed: 8), b = Xoshiro(seed: 8), c = Xoshiro(seed: 9)
        let x = train(clip, using: &a)
        #expect(x.shape == [1, 3, 3, 16, 16])
        #expect(x.scalars == train(clip, using: &b).scalars)
        #expect(x.scalars != train(clip, using: &c).scalars)
    }

    @Test func multiViewTestingStacksClipMajor() {
        var rng = Xoshiro(seed: 0)
        let clips = [still(width: 64, height: 48, frames: 2, seed: 1), still(width: 64, height: 48, frames: 2, seed: 2)]
        let threeCrop = ClipPipeline([.resizeShortSide(side: 32), .threeCrop(size: .square(32))], normalization: Normalization(.imagenet))
        let out = threeCrop(clips, using: &rng)
        #expect(out.shape == [6, 3, 2, 32, 32])
        let centreCrop = ClipPipeline([.resizeShortSide(side: 32), .centreCrop(size: .square(28))], normalization: Normalization(.imagenet))
        let centre = centreCrop(clips[0], using: &rng)
        #expect(centre.shape == [1, 3, 2, 28, 28])
    }

    @Test func roundTripsThroughJSON() throws {
        let p = ClipPipeline([.resizeShortSide(side: 256), .multiScaleCrop(MultiScaleCrop(inputSize: .square(224))),
                              .resize(size: .square(224)), .flip(HorizontalFlip(flow: .alternatingFrames))],
                             normalization: Normalization(.flow))
        let data = try JSONEncoder().encode(p)
        #expect(try JSONDecoder().decode(ClipPipeline.self, from: data) == p)
        let json = #"""
        {"transforms": [{"resize_short_side": {"side": 256}}, {"multi_scale_crop": {"input_size": {"width": 224, "height": 224}}},
                        {"flip": {}}, {"centre_crop": {"size": {"width": 224, "height": 224}}}],
         "normalization": {"mean": [0, 0, 0], "std": [1, 1, 1], "input_scale": 1}}
        """#
        let q = try JSONDecoder().decode(ClipPipeline.self, from: Data(json.utf8))
        #expect(q.transforms[1] == .multiScaleCrop(MultiScaleCrop(inputSize: .square(224))))
        // Sizes may also be written as one side (a square) or [width, height].
        let short = #"{"transforms": [{"centre_crop": {"size": 224}}, {"resize": {"size": [320, 240]}}], "normalization": "imagenet"}"#
        let r = try JSONDecoder().decode(ClipPipeline.self, from: Data(short.utf8))
        #expect(r.transforms == [.centreCrop(size: .square(224)), .resize(size: FrameSize(width: 320, height: 240))])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ClipTransform.self, from: Data(#"{"centre_crop": {"size": [0, 2]}}"#.utf8))
        }
        #expect(q.transforms[2] == .flip(HorizontalFlip(probability: 0.5)))
    }
}

@Suite struct TransformDecodingTests {
    @Test func unknownStepIsNamed() {
        let json = #"{"transforms": [{"centerCrop": {"size": {"width": 1, "height": 1}}}], "normalization": {"mean": [0, 0, 0], "std": [1, 1, 1], "input_scale": 1}}"#
        do {
            _ = try JSONDecoder().decode(ClipPipeline.self, from: Data(json.utf8))
            Issue.record("decoded an unknown transform")
        } catch {
            #expect("\(error)".contains("unknown transform 'centerCrop'"))
        }
    }

    @Test func normalizationByPresetName() throws {
        let json = #"{"transforms": [{"color_jitter": {"brightness": 0.4}}], "normalization": "kinetics"}"#
        let p = try JSONDecoder().decode(ClipPipeline.self, from: Data(json.utf8))
        #expect(p.normalization == Normalization(.kinetics))
        #expect(p.transforms == [.colorJitter(ColorJitter(brightness: 0.4))])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ClipPipeline.self, from: Data(#"{"transforms": [], "normalization": "imagenett"}"#.utf8))
        }
    }

    @Test func badValuesThrowInsteadOfTrapping() {
        for step in [#"{"color_jitter": {"hue": 0.7}}"#, #"{"flip": {"probability": 2}}"#,
                     #"{"multi_scale_crop": {"input_size": {"width": 1, "height": 1}, "scales": []}}"#,
                     #"{"multi_scale_crop": {"input_size": {"width": 1, "height": 1}, "max_scale_gap": -1}}"#,
                     #"{"random_resized_crop": {"size": {"width": 1, "height": 1}, "scale": [0, 1]}}"#,
                     // Each of these gave crop sizes past Int's range, which stopped the training process.
                     #"{"random_resized_crop": {"size": {"width": 1, "height": 1}, "scale": [0.5, 1e300]}}"#,
                     #"{"random_resized_crop": {"size": {"width": 1, "height": 1}, "ratio": [1e-300, 1]}}"#,
                     #"{"random_resized_crop": {"size": {"width": 1, "height": 1}, "ratio": [1, 1e300]}}"#] {
            #expect(throws: DecodingError.self, "\(step)") { try JSONDecoder().decode(ClipTransform.self, from: Data(step.utf8)) }
        }
    }
}
