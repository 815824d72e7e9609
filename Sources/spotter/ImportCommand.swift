import Basics
import Annotations
import ArgumentParser
import Foundation
import Media

/// `spotter import`: reads an interchange file into the project of a media file, all or nothing.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read Molmo2 JSONL, CVAT video XML or TAP-Vid JSON into a media file's project.",
        discussion: """
            The whole file is checked before anything is stored: a malformed line reports FILE:LINE and nothing is \
            imported. The import is one undoable step. The media's fingerprint (size and first-MiB hash, plus the \
            frame count and duration the file records) must match the project's unless --force. Coordinates outside \
            the frame are clamped and counted. When the media has no project yet, one is made from --media. \
            Importing is idempotent: tracks equal to an existing track (label, frames, positions, visibility) and \
            queries equal to an existing query are skipped, so importing a file twice changes nothing the second \
            time. --merge also lets a track whose id names an existing track of the same label replace it; \
            --replace deletes every existing track first. Imported tracks get colours no existing track uses.
            """)

    @Argument(help: "The annotation file to read.")
    var file: String

    @Option(help: "The media file the annotations belong to.")
    var media: String

    @Option(help: "The project file (default: NAME.spotter beside the media).")
    var project: String?

    @Option(help: "The file's format (default: guessed from the file).")
    var format: AnnotationFormat?

    @Flag(help: "Import even when the media fingerprint does not match.")
    var force = false

    @Flag(help: "Replace every existing track instead of adding to them.")
    var replace = false

    @Flag(help: "Let a track whose id names an existing track of the same label replace that track.")
    var merge = false

    @Flag(help: "CVAT: refuse a file holding box, polygon or other non-point tracks instead of skipping them.")
    var refuseOtherShapes = false

    func validate() throws {
        if replace && merge { throw ValidationError("--merge and --replace exclude each other.") }
        guard FileManager.default.fileExists(atPath: media) else {
            throw ValidationError("No media file at \(media).")
        }
    }

    func run() throws {
        let url = MediaProject.projectURL(mediaPath: media, projectPath: project)
        let onDisk = try MediaFingerprint.hashFileHead(path: media)
        let store: ProjectStore
        if FileManager.default.fileExists(atPath: url.path) {
            store = try ProjectStore.open(at: url)
        } else {
            // The project describes the media as the decoder measures it (frame times, size, sampling).
            let source = try VideoSource(path: media)
            let descriptor = try MediaProject.descriptor(
                path: media, info: source.info, frameTimestamps: source.frameTimestamps)
            let preview = try AnnotationExchange.read(path: file, format: format, targetMedia: descriptor)
            if let described = preview.media,
                described.byteSize != onDisk.byteSize || described.headSHA256 != onDisk.headSHA256, !force
            {
                throw AnnotationError.fingerprintMismatch(
                    path: media, reason: "\(file) was made for other media (size or first-MiB hash differ)")
            }
            store = try ProjectStore.create(at: url, media: descriptor)
        }
        defer { try? store.close() }
        if store.media.byteSize != onDisk.byteSize || store.media.headSHA256 != onDisk.headSHA256, !force {
            throw AnnotationError.fingerprintMismatch(
                path: media, reason: "the file on disk is not the media of \(url.path)")
        }
        let (result, imported) = try AnnotationExchange.importFile(
            path: file, into: store, format: format, force: force, policy: replace ? .replace : merge ? .merge : .add,
            refuseOtherShapes: refuseOtherShapes)
        let points = imported.tracks.reduce(0) { $0 + $1.entries.count }
        var line = "imported \(imported.tracks.count) tracks (\(points) points) and \(imported.queries.count) queries into \(url.path)"
        if let edit = result.editID { line += " as edit \(edit) (undoable)" }
        print(line)
        for warning in imported.warnings { print("warning: \(DisplaySafe.escape(warning))") }
    }
}
