import Foundation
import MolmoRuntime

/// The synthetic inputs of Scripts/reference/make_vision_fixtures.py, rebuilt bit for bit.
enum VisionFixtures {
    /// One case of the fixture script: a question and images (width, height, seed) or video frames + times.
    struct Case {
        var name: String
        var question: String
        var images: [(width: Int, height: Int, seed: Int)]
        var video: [(width: Int, height: Int, seed: Int)]
        var times: [Double]

        var isVideo: Bool { !video.isEmpty }

        /// The case's frames as the runtime receives them.
        var frames: [RGBFrame] {
            if isVideo {
                return zip(video, times).map {
                    VisionFixtures.synthetic(width: $0.0.width, height: $0.0.height, seed: $0.0.seed, timestamp: $0.1)
                }
            }
            return images.map { VisionFixtures.synthetic(width: $0.width, height: $0.height, seed: $0.seed) }
        }

        /// The case as runtime media (video frames fetched lazily, as the CLI does).
        var media: MolmoMedia {
            guard isVideo else { return .images(frames) }
            let all = frames
            return .videoFrames(count: all.count) { all[$0] }
        }

    }

    static func inputs() throws -> SafetensorsFile { try SafetensorsFile(path: Fixtures.url("vision-inputs.safetensors").path) }

    static func reference(_ family: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: Fixtures.url("reference-vision-\(family).safetensors").path)
    }

    static func checkpoint(_ family: String) -> URL { Fixtures.url("\(family)-vision-tiny") }

    /// The cases listed in the metadata of vision-inputs.safetensors.
    static func cases() throws -> [Case] {
        let file = try inputs()
        guard let text = file.metadata["cases"], let data = text.data(using: .utf8),
            let list = try JSONSerialization.jsonObject(with: data) as? [[Any]]
        else { throw FixtureError.malformed("cases metadata") }
        return try list.map { entry in
            guard entry.count == 3, let name = entry[0] as? String, let question = entry[1] as? String,
                let spec = entry[2] as? [String: Any]
            else { throw FixtureError.malformed("case entry") }
            func triples(_ key: String) -> [(Int, Int, Int)] {
                ((spec[key] as? [[Int]]) ?? []).map { ($0[0], $0[1], $0[2]) }
            }
            return Case(name: name, question: question, images: triples("images"), video: triples("video"),
                        times: (spec["times"] as? [Double]) ?? [])
        }
    }

    /// uint8 RGB: a gradient plus hashed noise in 32-bit wrapping arithmetic (same as `synthetic_rgb` in Python).
    static func synthetic(width: Int, height: Int, seed: Int, timestamp: Double = 0) -> RGBFrame {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let seedTerm = UInt32(truncatingIfNeeded: seed &* 668_265_263)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var h = (UInt32(x) &* 2_654_435_761) ^ (UInt32(y) &* 2_246_822_519) ^ (UInt32(c) &* 3_266_489_917)
                        ^ seedTerm
                    h ^= h >> 15
                    let base = UInt32(x) * 160 / UInt32(width) + UInt32(y) * 96 / UInt32(height) + UInt32(c) * 40
                    pixels[(y * width + x) * 3 + c] = UInt8((base + (h & 63)) & 255)
                }
            }
        }
        return RGBFrame(pixels: pixels, width: width, height: height, timestamp: timestamp)
    }

    enum FixtureError: Error { case malformed(String) }
}
