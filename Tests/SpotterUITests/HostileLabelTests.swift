import Basics
import Annotations
import Testing

@testable import SpotterUI

/// A label with terminal codes and line breaks keeps its objects-pane row: escaped, same width, counts whole.
@Test func objectsRowEscapesControlCharactersInLabels() {
    let width = Layout.objectsPaneWidth - 2
    let plain = Track(info: TrackInfo(id: TrackID(1), label: "abcdefghij"), entries: [PointEntry(frame: 0, x: 1, y: 1)])
    let hostile = Track(
        info: TrackInfo(id: TrackID(1), label: "\u{1B}[31m\nred\r\u{9B}2J"), entries: [PointEntry(frame: 0, x: 1, y: 1)])
    let line = ObjectsPane.line(for: hostile, hasPointHere: true, width: width)
    #expect(!line.unicodeScalars.contains(where: DisplaySafe.isUnsafe), "\(line.debugDescription)")
    #expect(line.hasPrefix("  1 \\e[31m\\n"), "\(line.debugDescription)")
    #expect(line.count == ObjectsPane.line(for: plain, hasPointHere: true, width: width).count)
    #expect(line.hasSuffix("•   1 1/0/0"))
}
