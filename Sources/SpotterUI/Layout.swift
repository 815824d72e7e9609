/// A rectangle of terminal cells, 0-based.
public struct CellRect: Equatable, Sendable {
    public var column: Int
    public var row: Int
    public var width: Int
    public var height: Int

    public init(column: Int, row: Int, width: Int, height: Int) {
        self.column = column
        self.row = row
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public func contains(column c: Int, row r: Int) -> Bool {
        c >= column && c < column + width && r >= row && r < row + height
    }

    public var isEmpty: Bool { width == 0 || height == 0 }
}

/// Where each pane sits for a given screen size. Computed, never hard-coded, so resizing re-lays out.
public struct Layout: Equatable, Sendable {
    /// The smallest screen the application draws on; smaller ones get a one-line message.
    public static let minimumColumns = 40
    public static let minimumRows = 12

    public var screenColumns: Int
    public var screenRows: Int
    public var viewer: CellRect
    public var timeline: CellRect
    public var status: CellRect

    public var isTooSmall: Bool {
        screenColumns < Layout.minimumColumns || screenRows < Layout.minimumRows
    }

    public init(columns: Int, rows: Int) {
        screenColumns = columns
        screenRows = rows
        status = CellRect(column: 0, row: rows - 1, width: columns, height: 1)
        timeline = CellRect(column: 0, row: rows - 3, width: columns, height: 2)
        viewer = CellRect(column: 0, row: 0, width: columns, height: max(0, rows - 3))
    }

    /// The frame index a click at `column` on the timeline bar selects.
    public func frameForTimelineColumn(_ column: Int, frameCount: Int) -> Int? {
        let bar = timelineBar
        guard frameCount > 0, column >= bar.column, column < bar.column + bar.width else { return nil }
        if frameCount == 1 || bar.width <= 1 { return 0 }
        let fraction = Double(column - bar.column) / Double(bar.width - 1)
        return min(frameCount - 1, max(0, Int((fraction * Double(frameCount - 1)).rounded())))
    }

    /// The column of the timeline bar that shows `frame`.
    public func timelineColumn(forFrame frame: Int, frameCount: Int) -> Int {
        let bar = timelineBar
        guard frameCount > 1, bar.width > 1 else { return bar.column }
        let fraction = Double(frame) / Double(frameCount - 1)
        return bar.column + Int((fraction * Double(bar.width - 1)).rounded())
    }

    /// The bar row of the timeline: the whole width minus a one-cell margin each side.
    public var timelineBar: CellRect {
        CellRect(column: timeline.column + 1, row: timeline.row, width: timeline.width - 2, height: 1)
    }
}
