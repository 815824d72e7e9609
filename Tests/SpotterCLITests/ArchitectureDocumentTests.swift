import Foundation
import Testing

/// `docs/architecture.md` stays true: its module table names every module under `Sources/` and, for each, exactly
/// the project modules and C libraries the module's files import.
struct ArchitectureDocumentTests {
    /// Imports that are the platform, not part of the module graph.
    static let platform: Set<String> = ["Foundation", "Glibc", "Darwin", "Dispatch", "FoundationNetworking"]
    /// Package products named in the table by their package's name.
    static let products = ["GRDB": "GRDB", "ArgumentParser": "ArgumentParser"]

    @Test func theModuleTableMatchesTheImports() throws {
        let text = try String(contentsOf: packageRoot.appendingPathComponent("docs/architecture.md"), encoding: .utf8)
        var documented: [String: Set<String>] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4 else { continue }
            let names = Self.tokens(cells[1])
            let dependencies = cells[3] == "—" ? [] : Self.tokens(cells[3])
            for name in names { documented[name] = Set(dependencies) }
        }
        let sources = packageRoot.appendingPathComponent("Sources")
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources.path).filter { !$0.hasPrefix(".") }
        for module in modules.sorted() {
            let folder = sources.appendingPathComponent(module)
            guard let documentedDependencies = documented[module] else {
                Issue.record("docs/architecture.md has no row for \(module)")
                continue
            }
            // C targets (module maps, C files) are described by their row but import nothing in Swift.
            guard let swiftFiles = FileManager.default.enumerator(atPath: folder.path)?
                .compactMap({ $0 as? String }).filter({ $0.hasSuffix(".swift") }), !swiftFiles.isEmpty
            else { continue }
            var imported = Set<String>()
            for file in swiftFiles {
                let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in source.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let first = words.first else { continue }
                    let importLine = first == "import" || (first.hasPrefix("@") && words.dropFirst().first == "import")
                    guard importLine, let name = words.first(where: { $0 != "import" && !$0.hasPrefix("@") }) else {
                        continue
                    }
                    let moduleName = String(name.split(separator: ".").first ?? name)
                    if !Self.platform.contains(moduleName) { imported.insert(Self.products[moduleName] ?? moduleName) }
                }
            }
            #expect(imported == documentedDependencies, "\(module): imports \(imported.sorted()), documented \(documentedDependencies.sorted())")
        }
        for name in documented.keys where !modules.contains(name) {
            Issue.record("docs/architecture.md names \(name), which is not under Sources/")
        }
    }

    /// The names in a table cell: `Name` in backticks, or bare words such as GRDB.
    static func tokens(_ cell: String) -> [String] {
        cell.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }.filter { !$0.isEmpty && !$0.contains(" ") }
    }
}
