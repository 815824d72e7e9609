/// Model answers shown on a terminal: a model (or a server) can produce any character, and control characters
/// would move the cursor, change colours or clear the screen. They are shown as Unicode control pictures instead
/// (^K as ␋, ESC as ␛), so the text is visible and harmless.
package enum AnswerText {
    /// `text` with every control character (C0, DEL, C1) replaced by a visible symbol. With `keepNewlines`, line
    /// feeds stay (for a multi-line pane) and CR LF / CR become a line feed; otherwise every line break becomes
    /// `⏎` (for a status line). Tabs become a space.
    package static func forDisplay(_ text: String, keepNewlines: Bool = false) -> String {
        var out = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            let value = scalar.value
            defer { previousWasCR = value == 0x0D }
            switch value {
            case 0x0A:
                // The LF of a CR LF: the CR already made the line break.
                if previousWasCR { continue }
                out.append(keepNewlines ? "\n" : "⏎")
            case 0x0D:
                out.append(keepNewlines ? "\n" : "⏎")
            case 0x09:
                out.append(" ")
            case 0x00...0x1F:
                out.append(Unicode.Scalar(0x2400 + value)!)
            case 0x7F:
                out.append("␡")
            case 0x80...0x9F:
                out.append("\u{FFFD}")
            case 0x202A...0x202E, 0x2066...0x2069:
                // Bidirectional overrides would reorder the rest of the line.
                out.append("\u{FFFD}")
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }
}
