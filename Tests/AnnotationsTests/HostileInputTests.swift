import Basics
import Foundation
import GRDB
import Testing

@testable import Annotations

@Suite struct DisplaySafeTests {
    @Test func controlCharactersAreEscapedAndTextIsKept() {
        #expect(DisplaySafe.escape("plain label, ünïcode ✓ 🐕") == "plain label, ünïcode ✓ 🐕")
        #expect(DisplaySafe.escape("red \u{1B}[31mdog\u{1B}[0m") == "red \\e[31mdog\\e[0m")
        #expect(DisplaySafe.escape("two\nlines\r\tend") == "two\\nlines\\r\\tend")
        #expect(DisplaySafe.escape("nul\u{0}bel\u{7}del\u{7F}csi\u{9B}") == "nul\\u{0}bel\\u{7}del\\u{7F}csi\\u{9B}")
        #expect(DisplaySafe.escape("rtl\u{202E}override\u{2028}") == "rtl\\u{202E}override\\u{2028}")
        // Whatever goes in, nothing that a terminal acts on comes out.
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let scalars = (0..<20).compactMap { _ in Unicode.Scalar(UInt32.random(in: 0...0x2100, using: &generator)) }
            var text = ""
            text.unicodeScalars.append(contentsOf: scalars)
            #expect(!DisplaySafe.escape(text).unicodeScalars.contains(where: DisplaySafe.isUnsafe))
        }
    }
}

@Suite struct HostileProjectTests {
    /// A project file on disk with one track, then changed with raw SQL the way a damaged or crafted file would be.
    private func craftedProject(_ dir: TemporaryDirectory, sql: String) throws -> URL {
        let url = dir.file("crafted.spotter")
        let store = try ProjectStore.create(at: url, media: testVideo())
        try store.apply(.createTrack(NewTrack(label: "dog", entries: [PointEntry(frame: 0, x: 1, y: 2)])))
        try store.close()
        let queue = try DatabaseQueue(path: url.path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
        return url
    }

    @Test func aTrackIdAtTheLimitIsRefusedWhenTheProjectOpens() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for id in [Int64.max, Int64.max - 1, TrackID.largest + 1, 0, -5] {
            let url = try craftedProject(
                dir, sql: "PRAGMA foreign_keys = OFF; UPDATE entry SET track_id = \(id); UPDATE track SET id = \(id)")
            #expect {
                _ = try ProjectStore.open(at: url, readOnly: true)
            } throws: { error in
                "\(error)".contains("track id \(id) is out of range") && !"\(error)".contains("\n")
            }
            try FileManager.default.removeItem(at: url)
        }
    }

    @Test func aNextTrackIdAtTheLimitIsRefusedNotIncremented() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for value in ["\(Int64.max)", "\(TrackID.largest + 2)", "-1", "many"] {
            let url = try craftedProject(
                dir, sql: "UPDATE project_meta SET value = '\(value)' WHERE key = 'next_track_id'")
            #expect {
                _ = try ProjectStore.open(at: url)
            } throws: { error in
                "\(error)".contains("next_track_id '\(value)' is out of range")
            }
            try FileManager.default.removeItem(at: url)
        }
        // The largest id itself is usable; the next track then has nowhere to go and is refused.
        let url = try craftedProject(
            dir, sql: "UPDATE project_meta SET value = '\(TrackID.largest)' WHERE key = 'next_track_id'")
        let store = try ProjectStore.open(at: url)
        try store.apply(.createTrack(NewTrack(label: "last")))
        #expect(store.snapshot().tracks.map(\.id.rawValue).max() == TrackID.largest)
        #expect(throws: AnnotationError.self) { try store.apply(.createTrack(NewTrack(label: "one too many"))) }
        try store.close()
    }

    @Test func importedIdsAtTheLimitAreRefused() throws {
        let store = try ProjectStore.inMemory(media: testVideo())
        var track = NewTrack(label: "dog", entries: [PointEntry(frame: 0, x: 1, y: 2)])
        track.preferredID = TrackID(Int64.max)
        #expect(throws: AnnotationError.self) { try store.apply(.createTrack(track)) }
        #expect(store.snapshot().tracks.isEmpty)
    }

    @Test func fifosAreRefusedWithoutBlocking() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for name in ["project.spotter", "labels.jsonl"] {
            #expect(mkfifo(dir.file(name).path, 0o600) == 0)
        }
        #expect { _ = try ProjectStore.open(at: dir.file("project.spotter")) } throws: {
            "\($0)".contains("not a regular file")
        }
        #expect { _ = try AnnotationExchange.read(path: dir.file("labels.jsonl").path) } throws: {
            "\($0)".contains("not a regular file")
        }
    }
}

@Suite struct HostileExportTests {
    @Test func temporariesOfKilledWritersAreRemovedOnTheNextWrite() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = dir.file("out.jsonl").path
        // A process that has ended: its pid names no process now.
        let ended = try runAndWait("/bin/true")
        let stale = dir.file(".out.jsonl.tmp-\(ended)-12345").path
        let live = dir.file(".out.jsonl.tmp-1-777").path  // pid 1 is alive: its writer may still be running
        let other = dir.file(".other.jsonl.tmp-\(ended)-1").path  // another output's temporary: not ours to touch
        for path in [stale, live, other] { #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
        try AtomicFileWriter.write(Array("new".utf8), to: output)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
        #expect(FileManager.default.fileExists(atPath: other))
        #expect(try String(contentsOfFile: output, encoding: .utf8) == "new")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).sorted()
        #expect(left == [".other.jsonl.tmp-\(ended)-1", ".out.jsonl.tmp-1-777", "out.jsonl"])
    }

    @Test func writingOverASymlinkWritesThroughIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileManager.default.createDirectory(at: dir.file("real"), withIntermediateDirectories: true)
        let target = dir.file("real/labels.jsonl")
        try Data("old".utf8).write(to: target)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link.jsonl").path, withDestinationPath: "real/labels.jsonl")
        try AtomicFileWriter.write(Array("new".utf8), to: dir.file("link.jsonl").path)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dir.file("link.jsonl").path) == "real/labels.jsonl")
        #expect(try String(contentsOf: target, encoding: .utf8) == "new")
        // A dangling link gets its target created.
        try FileManager.default.createSymbolicLink(atPath: dir.file("dangling.xml").path, withDestinationPath: dir.file("real/new.xml").path)
        try AtomicFileWriter.write(Array("made".utf8), to: dir.file("dangling.xml").path)
        #expect(try String(contentsOf: dir.file("real/new.xml"), encoding: .utf8) == "made")
        // A loop is refused, not followed forever.
        try FileManager.default.createSymbolicLink(atPath: dir.file("loop-a").path, withDestinationPath: "loop-b")
        try FileManager.default.createSymbolicLink(atPath: dir.file("loop-b").path, withDestinationPath: "loop-a")
        #expect(throws: FileIOError.self) { try AtomicFileWriter.write([1], to: dir.file("loop-a").path) }
    }

    private func runAndWait(_ executable: String) throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        defer { argv.forEach { free($0) } }
        #expect(posix_spawn(&pid, executable, nil, nil, argv, environ) == 0)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return pid
    }
}

@Suite struct HostileImportTests {
    static let media = testVideo(frameCount: 60, width: 640, height: 480, fps: 10)

    @Test func anOverlongJSONLLineIsRefusedBeforeParsing() throws {
        var bytes = Array(#"{"points": ["#.utf8)
        let numbers = Array("1,".utf8)
        while bytes.count <= Molmo2JSONL.maximumLineBytes { bytes += numbers }
        bytes += Array("1]}\n".utf8)
        #expect {
            _ = try AnnotationExchange.decode(bytes, path: "big.jsonl", format: .molmo2, targetMedia: Self.media)
        } throws: { error in
            "\(error)" == "big.jsonl:1: line of \(bytes.count - 1) bytes exceeds the \(Molmo2JSONL.maximumLineBytes)-byte limit for one record"
        }
    }

    /// Our own TAP-Vid export with its public fields changed by `edit`.
    private func editedTAPVid(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
        let store = try ProjectStore.inMemory(media: Self.media)
        try makeSampleProject(store)
        let bytes = try AnnotationExchange.encode(store.snapshot(), format: .tapvid).bytes
        var root = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
        edit(&root)
        return Array(try JSONSerialization.data(withJSONObject: root))
    }

    @Test func publicTAPVidFieldsAreCheckedBesideTheSpotterSection() throws {
        // Unchanged, it imports.
        _ = try AnnotationExchange.decode(try editedTAPVid { _ in }, path: "t.json", format: .tapvid)
        let shortRow = try editedTAPVid { root in
            var points = root["target_points"] as! [[Any]]
            var occluded = root["occluded"] as! [[Any]]
            points[0].removeLast()
            occluded[0].removeLast()
            root["target_points"] = points
            root["occluded"] = occluded
        }
        #expect(throws: AnnotationError.self) {
            _ = try AnnotationExchange.decode(shortRow, path: "t.json", format: .tapvid)
        }
        let empty = try editedTAPVid { root in
            root["target_points"] = [[Any]]()
            root["occluded"] = [[Any]]()
        }
        #expect(throws: AnnotationError.self) { _ = try AnnotationExchange.decode(empty, path: "t.json", format: .tapvid) }
        let mismatched = try editedTAPVid { root in
            var occluded = root["occluded"] as! [[Any]]
            occluded[0].removeLast()
            root["occluded"] = occluded
        }
        #expect(throws: AnnotationError.self) {
            _ = try AnnotationExchange.decode(mismatched, path: "t.json", format: .tapvid)
        }
    }

    @Test func errorsQuotingFileContentsStayOneLineOnceEscaped() throws {
        let xml = "<annotations><track id=\"1\" label=\"\u{1B}[31mred\nlabel\"><points frame=\"x\"/></track></annotations>"
        #expect {
            _ = try AnnotationExchange.decode(Array(xml.utf8), path: "t.xml", format: .cvat, targetMedia: Self.media)
        } throws: { error in
            let shown = DisplaySafe.escape("\(error)")
            return !shown.contains("\n") && !shown.contains("\u{1B}")
        }
    }
}

@Suite struct HostileNestingTests {
    @Test func deeplyNestedDocumentsAreRefusedWithALine() throws {
        let media = testVideo()
        let xml = String(repeating: "<a>", count: XMLEventReader.maximumDepth + 1) + String(repeating: "</a>", count: XMLEventReader.maximumDepth + 1)
        #expect {
            _ = try AnnotationExchange.decode(Array(xml.utf8), path: "deep.xml", format: .cvat, targetMedia: media)
        } throws: { "\($0)".contains("nested deeper than \(XMLEventReader.maximumDepth)") }
        let json = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            _ = try AnnotationExchange.decode(Array(json.utf8), path: "deep.json", format: .tapvid, targetMedia: media)
        } throws: { "\($0)".contains("nested too deeply") }
        #expect {
            _ = try AnnotationExchange.decode(Array((json + "\n").utf8), path: "deep.jsonl", format: .molmo2, targetMedia: media)
        } throws: { "\($0)".contains("nested too deeply") }
    }
}

/// Found by the project-file fuzzer: a track row whose NOT NULL-less columns hold NULL made GRDB trap (`try!` in a
/// row subscript). Every column of a project is now decoded with a throwing read, so it is one line.
@Suite struct NullProjectColumnTests {
    @Test func aProjectWithNullTrackColumnsIsRefusedInOneLine() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("nulls.spotter").path
        try FileManager.default.copyItem(atPath: fixtureURL("null-track-columns.spotter").path, toPath: path)
        do {
            _ = try ProjectStore.open(at: URL(fileURLWithPath: path), readOnly: true)
            Issue.record("a project with NULL track columns was opened")
        } catch let error as AnnotationError {
            let text = "\(error)"
            #expect(text.hasPrefix(path) && text.contains("NULL") && !text.contains("\n"), "\(text)")
        }
    }
}
