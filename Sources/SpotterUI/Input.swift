/// A key press, decoded from ncurses into what the application cares about.
package enum Key: Equatable, Sendable {
    case character(Character)
    case control(Character)  // Ctrl-letter, lower-case letter
    case left, right, up, down
    case shiftLeft, shiftRight, shiftUp, shiftDown
    case pageUp, pageDown, home, end
    case enter, escape, backspace, tab, backTab, delete
}

/// A mouse report in 0-based screen cells.
package struct MouseEvent: Equatable, Sendable {
    package enum Kind: Equatable, Sendable { case press, release, drag, scrollUp, scrollDown, rightPress }
    package var kind: Kind
    package var column: Int
    package var row: Int
    package init(kind: Kind, column: Int, row: Int) {
        self.kind = kind
        self.column = column
        self.row = row
    }
}

/// Everything the run loop feeds into the reducer.
package enum InputEvent: Equatable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(columns: Int, rows: Int)
}
