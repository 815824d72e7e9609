import Foundation
import TerminalGraphics

/// Colours of the panes, read from a theme file in `Themes/` (a flat TOML file of `key = "#rrggbb"` lines).
/// The picture itself is never themed; only the text panes and the overlay's selection ring are.
package struct Theme: Equatable, Sendable {
    package var name: String
    package var statusForeground: RGB
    package var statusBackground: RGB
    package var messageForeground: RGB
    package var textDim: RGB
    package var prompt: RGB
    package var timelinePlayed: RGB
    package var timelineRest: RGB
    package var timelineMarker: RGB
    package var helpForeground: RGB
    package var helpBackground: RGB
    package var selectionRing: RGB
    /// Model predictions waiting for a decision (drawn as diamonds, never like the project's points).
    package var prediction: RGB
    package var missingFrame: RGB

    /// Used when no theme file is given or found; equal to Themes/dark.toml (a test checks it).
    package static let dark = Theme(
        name: "dark", statusForeground: RGB(hex: 0xe4e4e4), statusBackground: RGB(hex: 0x303030),
        messageForeground: RGB(hex: 0xffd75f), textDim: RGB(hex: 0x808080), prompt: RGB(hex: 0xffffff),
        timelinePlayed: RGB(hex: 0x5fd7ff), timelineRest: RGB(hex: 0x585858), timelineMarker: RGB(hex: 0xffd700),
        helpForeground: RGB(hex: 0xe4e4e4), helpBackground: RGB(hex: 0x262626), selectionRing: RGB(hex: 0xffffff),
        prediction: RGB(hex: 0xff5fff), missingFrame: RGB(hex: 0x000000))

    static let keys: [String: WritableKeyPath<Theme, RGB>] = [
        "status_foreground": \.statusForeground, "status_background": \.statusBackground,
        "message_foreground": \.messageForeground, "text_dim": \.textDim, "prompt": \.prompt,
        "timeline_played": \.timelinePlayed, "timeline_rest": \.timelineRest, "timeline_marker": \.timelineMarker,
        "help_foreground": \.helpForeground, "help_background": \.helpBackground, "selection_ring": \.selectionRing,
        "prediction": \.prediction,
        "missing_frame": \.missingFrame,
    ]

    /// Parses a theme file; keys it does not set keep the dark theme's values. Errors name the file and line.
    package static func parse(_ text: String, path: String) throws -> Theme {
        var theme = Theme.dark
        theme.name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // A '#' inside quotes is a colour, not a comment: take the line up to a comment outside quotes.
            let content = stripComment(String(rawLine)).trimmingCharacters(in: .whitespaces)
            if content.isEmpty { continue }
            let parts = content.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[1].count >= 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else {
                throw ThemeError(path: path, line: number + 1, reason: "expected key = \"value\"")
            }
            let key = parts[0]
            let value = String(parts[1].dropFirst().dropLast())
            if key == "name" {
                theme.name = value
                continue
            }
            guard let keyPath = keys[key] else {
                throw ThemeError(path: path, line: number + 1, reason: "unknown key \(key) (known: \(keys.keys.sorted().joined(separator: ", ")))")
            }
            guard value.count == 7, value.hasPrefix("#"), let packed = UInt32(value.dropFirst(), radix: 16) else {
                throw ThemeError(path: path, line: number + 1, reason: "\(key): \(value) is not a colour like \"#ff8800\"")
            }
            theme[keyPath: keyPath] = RGB(hex: packed)
        }
        return theme
    }

    static func stripComment(_ line: String) -> String {
        var inQuotes = false
        var out = ""
        for c in line {
            if c == "\"" { inQuotes.toggle() }
            if c == "#" && !inQuotes { break }
            out.append(c)
        }
        return out
    }

    /// Finds a theme by path, or by name: a file `NAME.toml` in $SPOTTER_THEMES or ~/.config/spotter/themes, else
    /// one of the themes compiled into the binary (`dark`, `light`, `256`, the files of `Themes/`).
    package static func load(_ nameOrPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Theme {
        let candidates: [String]
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            candidates = [nameOrPath]
        } else {
            candidates = searchDirectories(environment: environment).map { "\($0)/\(nameOrPath).toml" }
        }
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ThemeError(path: path, line: 0, reason: "cannot read the theme file")
            }
            return try parse(String(decoding: data, as: UTF8.self), path: path)
        }
        if let builtIn = builtInThemes[nameOrPath] {
            return try parse(String(decoding: builtIn, as: UTF8.self), path: "\(nameOrPath).toml")
        }
        let places = candidates.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        throw ThemeError(
            path: nameOrPath, line: 0,
            reason: "no such theme (built in: \(builtInThemes.keys.sorted().joined(separator: ", ")); looked in \(places.joined(separator: ", ")))")
    }

    /// The theme files of `Themes/`, compiled in by SwiftPM (`resources: .embedInCode`).
    static let builtInThemes: [String: [UInt8]] = [
        "dark": PackageResources.dark_toml, "light": PackageResources.light_toml, "256": PackageResources._56_toml,
    ]

    static func searchDirectories(environment: [String: String]) -> [String] {
        var dirs: [String] = []
        if let custom = environment["SPOTTER_THEMES"] { dirs.append(custom) }
        if let home = environment["HOME"] { dirs.append("\(home)/.config/spotter/themes") }
        return dirs
    }

    /// The theme named in ~/.config/spotter/config.toml (`theme = "light"`), if any.
    package static func configuredName(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let home = environment["HOME"],
            let data = FileManager.default.contents(atPath: "\(home)/.config/spotter/config.toml")
        else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = stripComment(String(line)).split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0] == "theme", parts[1].hasPrefix("\""), parts[1].hasSuffix("\""), parts[1].count > 2 {
                return String(parts[1].dropFirst().dropLast())
            }
        }
        return nil
    }
}

/// A theme file that cannot be used.
package struct ThemeError: Error, CustomStringConvertible, Equatable {
    package var path: String
    package var line: Int
    package var reason: String
    package var description: String { line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)" }
}

extension RGB {
    init(hex: UInt32) {
        self.init(r: UInt8((hex >> 16) & 0xff), g: UInt8((hex >> 8) & 0xff), b: UInt8(hex & 0xff))
    }
}
