/// Text from a file, shown in a terminal: control characters (C0, DEL, C1, the Unicode line and paragraph
/// separators, and the bidirectional overrides that reorder what follows) are written as escapes, so a label or an
/// error message can neither send terminal codes nor break one line into several.
package enum DisplaySafe {
    /// `text` with every control character escaped (`\n`, `\r`, `\t`, `\e`, `\u{XX}`); a backslash stays as is.
    package static func escape(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return String(text) }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isUnsafe(scalar) else {
                out.append(scalar)
                continue
            }
            let escaped: String
            switch scalar.value {
            case 0x0A: escaped = "\\n"
            case 0x0D: escaped = "\\r"
            case 0x09: escaped = "\\t"
            case 0x1B: escaped = "\\e"
            default: escaped = "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            out.append(contentsOf: escaped.unicodeScalars)
        }
        return String(out)
    }

    /// True for scalars that must not reach a terminal raw.
    package static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x2028, 0x2029: return true  // line / paragraph separator
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidirectional embeddings, overrides, isolates
        default: return false
        }
    }

    /// Model answers (a model or a server can write any character): every control character is replaced by a
    /// visible symbol instead of an escape (^K as ␋, ESC as ␛, C1 and bidirectional overrides as �). With
    /// `keepNewlines`, line feeds stay (for a multi-line pane) and CR LF / CR become a line feed; otherwise every
    /// line break becomes `⏎` (for a status line). Tabs become a space.
    package static func visible(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
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
            case _ where isUnsafe(scalar):
                out.append("\u{FFFD}")
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }
}
