import Foundation
import MolmoRuntime

/// Locates files under Tests/MolmoRuntimeTests/Fixtures.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// Reference tensors written by Scripts/reference/make_decoder_fixtures.py.
    static func reference(_ family: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: url("reference-\(family).safetensors").path)
    }
}

/// max |a − b| and max |b| over two equally long arrays.
func maxDifference(_ a: [Float], _ b: [Float]) -> (diff: Float, scale: Float) {
    precondition(a.count == b.count, "test arrays differ in length")
    var diff: Float = 0
    var scale: Float = 0
    for i in 0..<a.count {
        diff = max(diff, abs(a[i] - b[i]))
        scale = max(scale, abs(b[i]))
    }
    return (diff, scale)
}

/// Arg-max of each row of a [rows, cols] array.
func rowArgmax(_ values: [Float], cols: Int) -> [Int] {
    stride(from: 0, to: values.count, by: cols).map { start in
        var best = start
        for i in start..<(start + cols) where values[i] > values[best] { best = i }
        return best - start
    }
}
