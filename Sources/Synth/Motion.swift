import Engine
import Foundation

/// The classes of the default `motion` family. Each is a camera path over a random texture; a
/// class is defined by how the view moves, never by what it shows.
///
/// Every path is centred on the middle frame and starts from a uniformly random pose, so any
/// single frame of "left" has the same distribution as any single frame of "right" (likewise
/// clockwise/counter-clockwise, in/out, oscillating/static): only motion tells them apart.
public enum MotionClass: String, CaseIterable, Sendable, Codable {
    case translateLeft = "translate_left"
    case translateRight = "translate_right"
    case translateUp = "translate_up"
    case translateDown = "translate_down"
    case rotateClockwise = "rotate_clockwise"
    case rotateCounterclockwise = "rotate_counterclockwise"
    case zoomIn = "zoom_in"
    case zoomOut = "zoom_out"
    case oscillate
    case still = "static"

    /// The pose of each of `frames` frames for an image `size` pixels wide on a texture of `period` pixels.
    func poses(frames: Int, size: Int, period: Int, rng: inout Xoshiro) -> [CameraPose] {
        let pixel = Float(size) / 128            // speeds are set for 128-pixel frames
        let start = CameraPose(x: Float(period) * rng.nextFloat(), y: Float(period) * rng.nextFloat(),
                               angle: 2 * .pi * rng.nextFloat(), scale: exp(log(0.7) + log(1.6 / 0.7) * rng.nextFloat()))
        let mid = Float(frames - 1) / 2
        let speed = (1.0 + 1.5 * rng.nextFloat()) * pixel                  // image pixels per frame
        let turn = (1.5 + 2.5 * rng.nextFloat()) * .pi / 180                 // radians per frame
        let growth = (0.012 + 0.018 * rng.nextFloat())                       // log-zoom per frame
        let swing = (4 + 4 * rng.nextFloat()) * pixel, swingPeriod = 8 + 8 * rng.nextFloat()
        let swingPhase = 2 * .pi * rng.nextFloat(), swingDirection = 2 * .pi * rng.nextFloat()
        return (0..<frames).map { f in
            let t = Float(f) - mid
            var pose = start
            // Image-space displacement of the camera; content moves the opposite way.
            var du: Float = 0, dv: Float = 0
            switch self {
            case .translateLeft: du = speed * t
            case .translateRight: du = -speed * t
            case .translateUp: dv = speed * t
            case .translateDown: dv = -speed * t
            case .rotateClockwise: pose.angle -= turn * t
            case .rotateCounterclockwise: pose.angle += turn * t
            case .zoomIn: pose.scale *= exp(-growth * t)
            case .zoomOut: pose.scale *= exp(growth * t)
            case .oscillate:
                let a = swing * sin(2 * .pi * Float(f) / swingPeriod + swingPhase)
                du = a * cos(swingDirection); dv = a * sin(swingDirection)
            case .still: break
            }
            let c = cos(start.angle) * start.scale, s = sin(start.angle) * start.scale
            pose.x += c * du - s * dv
            pose.y += s * du + c * dv
            return pose
        }
    }
}

extension CameraPose {
    /// Where a point of the texture plane appears in the image (pixels from the image centre, y down).
    func imagePosition(ofPlanePoint px: Float, _ py: Float) -> (u: Float, v: Float) {
        let dx = px - x, dy = py - y
        let c = cos(angle) / scale, s = sin(angle) / scale
        return (c * dx + s * dy, -s * dx + c * dy)
    }
}
