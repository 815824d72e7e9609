import Basics
import Foundation
import Testing

@Suite struct AtomicFileTests {
    let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    @Test func writesWholeFilesAndLeavesNoTemporaryFile() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.bin").path
        try AtomicFileWriter.write([1, 2, 3], to: path)
        try AtomicFileWriter.write(Array(repeating: 7, count: 100_000), to: path)
        #expect(try readFileBytes(path) == Array(repeating: 7, count: 100_000))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.bin"])
    }

    @Test func anUncommittedWriterLeavesTheOldFile() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keep.txt").path
        try AtomicFileWriter.write(Array("old".utf8), to: path)
        do {
            let writer = try AtomicFileWriter(path: path)
            try writer.write(Array("new and partial".utf8))
        }
        #expect(try readFileBytes(path) == Array("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["keep.txt"])
    }

    @Test func aMissingDirectoryIsOneLineNamingThePath() {
        let path = directory.appendingPathComponent("no/such/dir/out.bin").path
        #expect(throws: FileIOError.self) { try AtomicFileWriter.write([1], to: path) }
        do {
            try AtomicFileWriter.write([1], to: path)
        } catch {
            #expect("\(error)".hasPrefix(path + ": "))
            #expect(!"\(error)".contains("\n"))
        }
    }
}

@Test func splitMix64RepeatsFromItsSeed() {
    var a = SplitMix64(seed: 42)
    var b = SplitMix64(seed: 42)
    let first = (0..<4).map { _ in a.next() }
    #expect(first == (0..<4).map { _ in b.next() })
    // The published SplitMix64 sequence for seed 0 starts with 0xE220A8397B1DCDAF.
    var zero = SplitMix64(seed: 0)
    #expect(zero.next() == 0xE220_A839_7B1D_CDAF)
}
