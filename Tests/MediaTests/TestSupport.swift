import Foundation
import Testing

@testable import Media

/// Locations of committed test data, found from this file's path (no SwiftPM resources).
enum TestPaths {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsDirectory.appendingPathComponent("Fixtures")
    static let packageRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let samples = packageRoot.appendingPathComponent("Samples")

    static func fixture(_ name: String) -> String {
        fixtures.appendingPathComponent(name).path
    }
}

/// The values Scripts/make_samples.py recorded with ffprobe for each fixture.
struct ExpectedFixture: Decodable {
    let file: String
    let format: String
    let codec: String
    let width: Int
    let height: Int
    let time_base: String
    let r_frame_rate: String
    let avg_frame_rate: String
    let frame_count: Int
    let timestamps: [Int?]
    let timestamp_source: String
    let key_frames: [Int]
    let has_b_frames: Bool
    let ffprobe_rotation: Int

    var timeBase: (num: Int, den: Int) {
        let parts = time_base.split(separator: "/").compactMap { Int($0) }
        return (parts[0], parts[1])
    }

    /// Frame times relative to the first frame, computed the way the module documents it.
    var relativeTimestamps: [Double]? {
        let values = timestamps.compactMap { $0 }
        guard values.count == timestamps.count, let first = values.first else { return nil }
        let base = timeBase
        return values.map { Double($0 - first) * Double(base.num) / Double(base.den) }
    }
}

enum Expectations {
    static let all: [String: ExpectedFixture] = {
        struct Document: Decodable { let fixtures: [ExpectedFixture] }
        let url = TestPaths.fixtures.appendingPathComponent("expected.json")
        guard let data = try? Data(contentsOf: url),
            let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return [:] }
        return Dictionary(uniqueKeysWithValues: document.fixtures.map { ($0.file, $0) })
    }()
}

/// Reads the frame number drawn by Scripts/make_samples.py: a 5x3 grid of black/white blocks,
/// bits 0-9 the number, bits 10-14 the check value (number * 13 + 7) % 31. Nil when the check fails.
func decodeFrameNumber(_ frame: Frame) -> Int? {
    var bits: [Int] = []
    let blockWidth = Double(frame.width) / 5
    let blockHeight = Double(frame.height) / 3
    for k in 0..<15 {
        let row = k / 5
        let column = k % 5
        let centreX = (Double(column) + 0.5) * blockWidth
        let centreY = (Double(row) + 0.5) * blockHeight
        let halfX = max(1, Int(blockWidth / 4))
        let halfY = max(1, Int(blockHeight / 4))
        var sum = 0
        var count = 0
        for y in (Int(centreY) - halfY)..<(Int(centreY) + halfY) {
            for x in (Int(centreX) - halfX)..<(Int(centreX) + halfX) {
                let offset = (y * frame.width + x) * 3
                sum += Int(frame.pixels[offset]) + Int(frame.pixels[offset + 1]) + Int(frame.pixels[offset + 2])
                count += 3
            }
        }
        bits.append(sum / count > 128 ? 1 : 0)
    }
    let number = (0..<10).reduce(0) { $0 | (bits[$1] << $1) }
    let check = (0..<5).reduce(0) { $0 | (bits[10 + $1] << $1) }
    return (number * 13 + 7) % 31 == check ? number : nil
}

/// The coded picture of a frame decoded upright from a stream whose display matrix turns it `rotation` degrees
/// counter-clockwise: the frame turned back clockwise by the same amount (written here independently of Media).
func coded(_ frame: Frame, rotation: Int) -> Frame {
    var result = frame
    let turns = (((rotation % 360) + 360) % 360 + 45) / 90 % 4
    for _ in 0..<turns {
        // One clockwise quarter turn: out(x, y) = in(y, inHeight - 1 - x), out is inHeight x inWidth.
        var pixels = [UInt8](repeating: 0, count: result.pixels.count)
        let outWidth = result.height
        let outHeight = result.width
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let from = ((result.height - 1 - x) * result.width + y) * 3
                let to = (y * outWidth + x) * 3
                pixels[to] = result.pixels[from]
                pixels[to + 1] = result.pixels[from + 1]
                pixels[to + 2] = result.pixels[from + 2]
            }
        }
        result = Frame(index: result.index, timestamp: result.timestamp, width: outWidth, height: outHeight, pixels: pixels)
    }
    return result
}
