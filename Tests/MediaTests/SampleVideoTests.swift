import Foundation
import Testing

@testable import Media

/// Samples/shapes.points.json (schema at the top of Scripts/make_samples.py).
struct PointsDocument: Decodable {
    struct Point: Decodable {
        let id: Int
        let label: String
        let shape: String
        let color: [Int]
        let positions: [[Double]]
        let visible: [Bool]
    }

    let video: String
    let width: Int
    let height: Int
    let fps: Int
    let frame_count: Int
    let points: [Point]
}

@Suite("Synthetic sample video against its ground truth")
struct SampleVideoTests {
    static let videoPath = TestPaths.samples.appendingPathComponent("shapes.mp4").path

    static func loadPoints() throws -> PointsDocument {
        let url = TestPaths.samples.appendingPathComponent("shapes.points.json")
        return try JSONDecoder().decode(PointsDocument.self, from: Data(contentsOf: url))
    }

    /// Largest per-channel difference between `colour` and each pixel of the 3x3 block around a
    /// continuous position; returns the smallest (best) and largest (worst) of the nine.
    static func colourErrors(_ frame: Frame, x: Double, y: Double, colour: [Int]) -> (best: Int, worst: Int) {
        let column = Int(x.rounded(.down))
        let row = Int(y.rounded(.down))
        var best = Int.max
        var worst = 0
        for dy in -1...1 {
            for dx in -1...1 {
                let cx = min(max(column + dx, 0), frame.width - 1)
                let cy = min(max(row + dy, 0), frame.height - 1)
                let offset = (cy * frame.width + cx) * 3
                let error = (0..<3).map { abs(Int(frame.pixels[offset + $0]) - colour[$0]) }.max() ?? 0
                best = min(best, error)
                worst = max(worst, error)
            }
        }
        return (best, worst)
    }

    @Test func infoMatchesDocument() throws {
        let points = try SampleVideoTests.loadPoints()
        let source = try VideoSource(path: SampleVideoTests.videoPath)
        #expect(source.info.width == points.width && source.info.height == points.height)
        #expect(source.frameCount == points.frame_count)
        #expect(source.info.fps == Rational(num: points.fps, den: 1))
        #expect(source.info.hasBFrames)
        #expect(abs(source.info.duration - Double(points.frame_count) / Double(points.fps)) < 1e-9)
        for (index, time) in source.frameTimestamps.enumerated() {
            #expect(abs(time - Double(index) / Double(points.fps)) < 1e-9)
        }
        #expect(points.points.count == 12)
        #expect(points.points.allSatisfy { $0.positions.count == points.frame_count && $0.visible.count == points.frame_count })
    }

    @Test("visible points show their texture colour where the JSON puts them", arguments: [0, 1, 104, 150, 209])
    func pointColours(frameIndex: Int) throws {
        let points = try SampleVideoTests.loadPoints()
        let source = try VideoSource(path: SampleVideoTests.videoPath)
        let frame = try source.frame(at: frameIndex)
        var checked = 0
        for point in points.points where point.visible[frameIndex] {
            // The point's texture colour is at the pixel the JSON names (or one pixel beside it,
            // when the point sits right at an occluding edge).
            let position = point.positions[frameIndex]
            let errors = SampleVideoTests.colourErrors(frame, x: position[0], y: position[1], colour: point.color)
            #expect(errors.best < 40, "point \(point.id) \(point.label) frame \(frameIndex): error \(errors.best)")
            checked += 1
        }
        #expect(checked >= 6)
    }

    @Test("a hidden point does not show its own colour at its position")
    func hiddenPointsAreCovered() throws {
        let points = try SampleVideoTests.loadPoints()
        let source = try VideoSource(path: SampleVideoTests.videoPath)
        var checked = 0
        for point in points.points {
            // The middle of the point's longest run of hidden, in-frame positions.
            var bestRun = 0..<0
            var start: Int?
            for index in 0...point.visible.count {
                let p = index < point.visible.count ? point.positions[index] : [-1, -1]
                let hiddenInside = index < point.visible.count && !point.visible[index]
                    && p[0] >= 2 && p[0] < 638 && p[1] >= 2 && p[1] < 358
                if hiddenInside, start == nil { start = index }
                if !hiddenInside, let first = start {
                    if index - first > bestRun.count { bestRun = first..<index }
                    start = nil
                }
            }
            guard bestRun.count >= 5 else { continue }
            let frameIndex = bestRun.lowerBound + bestRun.count / 2
            let frame = try source.frame(at: frameIndex)
            let position = point.positions[frameIndex]
            let errors = SampleVideoTests.colourErrors(frame, x: position[0], y: position[1], colour: point.color)
            #expect(errors.best > 40, "point \(point.id) should be covered at frame \(frameIndex)")
            checked += 1
        }
        #expect(checked >= 4)
    }

    @Test("the PNG still is the exact render of its frame, and the video is close to it")
    func stillMatchesVideo() throws {
        let still = try VideoSource(path: TestPaths.samples.appendingPathComponent("stills/shapes_frame075.png").path)
        #expect(still.info.isStillImage)
        let stillFrame = try still.frame(at: 0)
        let videoFrame = try VideoSource(path: SampleVideoTests.videoPath).frame(at: 75)
        #expect(stillFrame.pixels.count == videoFrame.pixels.count)
        var total = 0
        for (a, b) in zip(stillFrame.pixels, videoFrame.pixels) { total += abs(Int(a) - Int(b)) }
        let meanError = Double(total) / Double(stillFrame.pixels.count)
        #expect(meanError < 6, "mean absolute difference \(meanError)")
        let jpeg = try VideoSource(path: TestPaths.samples.appendingPathComponent("stills/shapes_frame200.jpg").path)
        #expect(jpeg.info.isStillImage)
        #expect(jpeg.info.codec == "mjpeg")
        #expect(try jpeg.frame(at: 0, width: 160, height: 90).pixels.count == 160 * 90 * 3)
    }

    @Test func fixtureStills() throws {
        let png = try VideoSource(path: TestPaths.fixture("still_numbered.png"))
        #expect(png.info.isStillImage && png.frameCount == 1 && png.info.duration == 0)
        #expect(decodeFrameNumber(try png.frame(at: 0)) == 5)
        let jpeg = try VideoSource(path: TestPaths.fixture("still_numbered.jpg"))
        #expect(jpeg.info.isStillImage && jpeg.frameCount == 1)
        #expect(decodeFrameNumber(try jpeg.frame(at: 0)) == 9)
        #expect(decodeFrameNumber(try jpeg.frame(at: 0, width: 40, height: 24)) == 9)
    }
}
