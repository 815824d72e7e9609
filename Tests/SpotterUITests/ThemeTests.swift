import Foundation
import TerminalGraphics
import Testing

@testable import SpotterUI

private let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Themes")

@Test(arguments: ["dark", "light", "256"])
func shippedThemesLoad(_ name: String) throws {
    let theme = try Theme.load(themes.appendingPathComponent("\(name).toml").path)
    #expect(theme.name == name)
    // Every key is set by the file itself: a shipped theme does not lean on the fallback.
    let text = try String(contentsOf: themes.appendingPathComponent("\(name).toml"), encoding: .utf8)
    for key in Theme.keys.keys { #expect(text.contains("\n\(key) = "), "\(name).toml lacks \(key)") }
}

@Test func builtInDarkEqualsTheShippedFile() throws {
    #expect(try Theme.load(themes.appendingPathComponent("dark.toml").path) == Theme.dark)
}

@Test func lightThemeDiffersWhereItShould() throws {
    let light = try Theme.load(themes.appendingPathComponent("light.toml").path)
    #expect(light.statusBackground != Theme.dark.statusBackground)
    #expect(light.missingFrame == RGB(hex: 0xffffff))
}

@Test func badThemeFilesNameFileAndLine() {
    #expect(throws: ThemeError(path: "t.toml", line: 2, reason: "expected key = \"value\"")) {
        try Theme.parse("name = \"x\"\nprompt #fff\n", path: "t.toml")
    }
    #expect(throws: ThemeError.self) { try Theme.parse("prompt = \"#12345\"\n", path: "t.toml") }
    do {
        _ = try Theme.parse("\n\nwobble = \"#ffffff\"\n", path: "t.toml")
        Issue.record("unknown key accepted")
    } catch let error as ThemeError {
        #expect(error.line == 3 && error.description.hasPrefix("t.toml:3: unknown key wobble"))
    } catch {
        Issue.record("\(error)")
    }
    #expect(throws: ThemeError.self) { try Theme.load("no-such-theme", environment: [:]) }
}

@Test func commentsAndPartialThemes() throws {
    let theme = try Theme.parse("# a comment\nprompt = \"#102030\" # trailing\n", path: "custom.toml")
    #expect(theme.prompt == RGB(hex: 0x102030))
    #expect(theme.statusBackground == Theme.dark.statusBackground)
    #expect(theme.name == "custom")
}

/// The compiled-in themes are the files of `Themes/` byte for byte, and load by name with no folder to search.
@Test(arguments: ["dark", "light", "256"])
func builtInThemesAreTheShippedFiles(_ name: String) throws {
    let file = try Data(contentsOf: themes.appendingPathComponent("\(name).toml"))
    #expect(Theme.builtInThemes[name] == [UInt8](file))
    let loaded = try Theme.load(name, environment: ["HOME": "/nonexistent"])
    #expect(loaded == (try Theme.load(themes.appendingPathComponent("\(name).toml").path)))
    #expect(loaded.name == name)
}
