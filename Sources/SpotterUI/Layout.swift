/// A rectangle of terminal cells, 0-based.
package struct CellRect: Equatable, Sendable {
    package var column: Int
    package var row: Int
    package var width: Int
    package var height: Int

    package init(column: Int, row: Int, width: Int, height: Int) {
        self.column = column
        self.row = row
        self.width = max(0, width)
        self.height = max(0, height)
    }

    package func contains(column c: Int, row r: Int) -> Bool {
        c >= column && c < column + width && r >= row && r < row + height
    }

    package var isEmpty: Bool { width == 0 || height == 0 }
}

/// Where each pane sits for a given screen size. Computed, never hard-coded, so resizing re-lays out.
///
/// From the bottom: the status line, the timeline labels, one lane per track (as many as fit), the timeline
/// bar; above them the viewer, with the objects pane on its right when the screen is wide enough.
package struct Layout: Equatable, Sendable {
    /// The smallest screen the application draws on; smaller ones get a one-line message.
    package static let minimumColumns = 40
    package static let minimumRows = 12
    /// Width of the objects pane, shown from `objectsPaneMinimumColumns` screen columns on.
    package static let objectsPaneWidth = 28
    package static let objectsPaneMinimumColumns = 80
    /// The viewer keeps at least this many rows; lanes take what is left, up to `maximumLanes`.
    package static let minimumViewerRows = 8
    package static let maximumLanes = 8

    package var screenColumns: Int
    package var screenRows: Int
    package var viewer: CellRect
    package var objects: CellRect
    /// The bar row, the lanes and the label row together.
    package var timeline: CellRect
    package var lanes: CellRect
    package var labels: CellRect
    package var status: CellRect

    package var isTooSmall: Bool {
        screenColumns < Layout.minimumColumns || screenRows < Layout.minimumRows
    }

    package init(columns: Int, rows: Int, tracks: Int = 0) {
        screenColumns = columns
        screenRows = rows
        let laneCount = max(0, min(tracks, Layout.maximumLanes, rows - 3 - Layout.minimumViewerRows))
        status = CellRect(column: 0, row: rows - 1, width: columns, height: 1)
        labels = CellRect(column: 0, row: rows - 2, width: columns, height: 1)
        lanes = CellRect(column: 0, row: rows - 2 - laneCount, width: columns, height: laneCount)
        let barRow = rows - 3 - laneCount
        timeline = CellRect(column: 0, row: barRow, width: columns, height: laneCount + 2)
        let sidePane = columns >= Layout.objectsPaneMinimumColumns ? Layout.objectsPaneWidth : 0
        viewer = CellRect(column: 0, row: 0, width: columns - sidePane, height: max(0, barRow))
        objects = CellRect(column: columns - sidePane, row: 0, width: sidePane, height: max(0, barRow))
    }

    /// The frame index a click at `column` on the timeline bar (or a lane) selects.
    package func frameForTimelineColumn(_ column: Int, frameCount: Int) -> Int? {
        let bar = timelineBar
        guard frameCount > 0, column >= bar.column, column < bar.column + bar.width else { return nil }
        if frameCount == 1 || bar.width <= 1 { return 0 }
        let fraction = Double(column - bar.column) / Double(bar.width - 1)
        return min(frameCount - 1, max(0, Int((fraction * Double(frameCount - 1)).rounded())))
    }

    /// The column of the timeline bar that shows `frame`.
    package func timelineColumn(forFrame frame: Int, frameCount: Int) -> Int {
        let bar = timelineBar
        guard frameCount > 1, bar.width > 1 else { return bar.column }
        let fraction = Double(frame) / Double(frameCount - 1)
        return bar.column + Int((fraction * Double(bar.width - 1)).rounded())
    }

    /// The bar row of the timeline: the whole width minus a one-cell margin each side. Lanes share its columns.
    package var timelineBar: CellRect {
        CellRect(column: timeline.column + 1, row: timeline.row, width: timeline.width - 2, height: 1)
    }
}
