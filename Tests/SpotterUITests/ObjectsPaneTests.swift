import Annotations
import Testing

@testable import SpotterUI

/// The objects pane's inner width at the standard pane width.
private let paneInner = Layout.objectsPaneWidth - 2

private func track(label: String, human: Int, tracker: Int) -> Track {
    let entries = (0..<(human + tracker)).map { frame in
        PointEntry(frame: frame, x: 10, y: 10, provenance: frame < human ? .human : .tracker, isKeyframe: frame < human)
    }
    return Track(info: TrackInfo(id: TrackID(1), label: label), entries: entries)
}

@Test func objectsRowKeepsTheLabelWhenTheCountsAreShort() {
    let line = ObjectsPane.line(for: track(label: "object", human: 1, tracker: 4), hasPointHere: true, width: paneInner)
    #expect(line == "  1 object    •   5 1/0/4")
}

/// A propagated track has three-digit tracker counts: they must show whole ("1/0/121", not "1/0/12").
@Test func objectsRowShortensTheLabelRatherThanTheCounts() {
    let line = ObjectsPane.line(for: track(label: "checkered disc", human: 1, tracker: 121), hasPointHere: false, width: paneInner)
    #expect(line.count <= paneInner)
    #expect(line.hasSuffix(" 122 1/0/121"), "\(line)")
    #expect(line.hasPrefix("  1 checkered"), "\(line)")
    let wide = ObjectsPane.line(for: track(label: "disc", human: 12, tracker: 98765), hasPointHere: true, width: paneInner)
    #expect(wide.count <= paneInner && wide.hasSuffix("98777 12/0/98765"), "\(wide)")
}
