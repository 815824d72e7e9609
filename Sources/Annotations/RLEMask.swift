/// A binary object mask in COCO run-length encoding (column-major runs, starting with background), as the Molmo2
/// evaluation sets store them; used for point-in-mask correctness.
package struct RLEMask: Equatable, Sendable {
    package var width: Int
    package var height: Int
    /// Alternating run lengths: background, foreground, background, …
    package var counts: [Int]

    package init(width: Int, height: Int, counts: [Int]) {
        self.width = width
        self.height = height
        self.counts = counts
    }

    /// Whether the integer pixel (x, y) is inside the mask; pixels outside the image are not.
    package func contains(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < width, y < height else { return false }
        let target = x * height + y
        var start = 0
        for (i, run) in counts.enumerated() {
            if target < start + run { return i % 2 == 1 }
            start += run
        }
        return false
    }

    /// Whether a point in continuous pixel coordinates, rounded to the nearest integer pixel as the Molmo2
    /// evaluator does, falls inside the mask.
    package func contains(pointX x: Double, y: Double) -> Bool {
        guard x.isFinite, y.isFinite, abs(x) < 1e9, abs(y) < 1e9 else { return false }
        return contains(x: Int(x.rounded(.toNearestOrEven)), y: Int(y.rounded(.toNearestOrEven)))
    }

    /// Number of foreground pixels.
    package var area: Int { stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] } }

    /// Largest accepted side, so run arithmetic cannot overflow on hostile input.
    static let maximumSide = 1 << 20

    /// Whether run lengths are valid for a width × height mask (non-negative, summing to at most its area).
    static func runsFit(_ counts: [Int], width: Int, height: Int) -> Bool {
        guard width > 0, height > 0, width <= maximumSide, height <= maximumSide else { return false }
        var total = 0
        for run in counts {
            guard run >= 0 else { return false }
            total += min(run, width * height + 1)
            if total > width * height { return false }
        }
        return true
    }

    /// Decodes COCO's compressed counts string (pycocotools `rleFrString`).
    package init?(width: Int, height: Int, compressedCounts text: String) {
        guard width > 0, height > 0, width <= Self.maximumSide, height <= Self.maximumSide else { return nil }
        var counts: [Int] = []
        let bytes = Array(text.utf8)
        var p = 0
        while p < bytes.count {
            var value = 0
            var shift = 0
            var more = true
            while more {
                guard p < bytes.count, bytes[p] >= 48, bytes[p] < 48 + 64, shift < 60 else { return nil }
                let c = Int(bytes[p]) - 48
                value |= (c & 0x1F) << shift
                more = c & 0x20 != 0
                p += 1
                shift += 5
                if !more && c & 0x10 != 0 { value |= -1 << shift }
            }
            if counts.count > 2 {
                let (sum, overflow) = value.addingReportingOverflow(counts[counts.count - 2])
                guard !overflow else { return nil }
                value = sum
            }
            guard value >= 0 else { return nil }
            counts.append(value)
        }
        guard Self.runsFit(counts, width: width, height: height) else { return nil }
        self.init(width: width, height: height, counts: counts)
    }

    /// COCO's compressed counts string (pycocotools `rleToString`).
    package var compressedCounts: String {
        var out: [UInt8] = []
        for i in 0..<counts.count {
            var x = counts[i]
            if i > 2 { x -= counts[i - 2] }
            var more = true
            while more {
                var c = x & 0x1F
                x >>= 5
                more = c & 0x10 != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                out.append(UInt8(c + 48))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Builds a mask from a row-major boolean image (for tests and tools); missing pixels count as background.
    package init(width: Int, height: Int, rowMajor pixels: [Bool]) {
        var counts: [Int] = []
        var current = false
        var run = 0
        for x in 0..<width {
            for y in 0..<height {
                let index = y * width + x
                let value = index < pixels.count ? pixels[index] : false
                if value != current {
                    counts.append(run)
                    run = 0
                    current = value
                }
                run += 1
            }
        }
        counts.append(run)
        self.init(width: width, height: height, counts: counts)
    }
}
