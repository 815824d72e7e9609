/// Reading an answer while it streams: the complete groups of a coordinate element so far.
package enum PartialAnswer {
    /// `text` itself when its element is closed; else the text up to its last complete group (`;`) with the
    /// element closed after it; nil when no group is complete yet.
    package static func closedPrefix(_ text: String, label: String) -> String? {
        for tag in ["points", "tracks"] {
            guard let open = text.range(of: "<\(tag) coords=\"") else { continue }
            if text[open.upperBound...].contains("\">") { return text }
            guard let last = text[open.upperBound...].lastIndex(of: ";") else { return nil }
            return String(text[..<last]) + "\">\(label)</\(tag)>"
        }
        return nil
    }
}
