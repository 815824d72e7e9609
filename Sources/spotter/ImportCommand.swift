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
            The whole file is checked before anything is stored: a malformed line reports FILE:LINE and nothing is
            imported. The import is one undoable step. The media's fingerprint (size and first-MiB hash, plus the
            frame count and duration the file records) must match the project's unless --force. Coordinates outside
            the frame are clamped and counted. When the media has no project yet, the file must describe the media
            (Spotter's own exports do); otherwise open the media once with `spotter open` first.
            """)

    @Argument(help: "The annotation file to read.")
    var file: String

    @Option(help: "The media file the annotations belong to.")
    var media: String

    @Option(help: "The project file (default: NAME.spotter beside the media).")
    var project: String?

    @Option(help: "molmo2, cvat or tapvid (default: guessed from the file).")
    var format: String?

    @Flag(help: "Import even when the media fingerprint does not match.")
    var force = false

    @Flag(help: "Replace every existing track instead of adding to them.")
    var replace = false

    func validate() throws {
        if let format, AnnotationFormat(rawValue: format) == nil {
            throw ValidationError("Unknown format '\(format)'; use molmo2, cvat or tapvid.")
        }
        guard FileManager.default.fileExists(atPath: media) else {
            throw ValidationError("No media file at \(media).")
        }
    }

    func run() throws {
        let url = MediaProject.projectURL(mediaPath: media, projectPath: project)
        let format = self.format.flatMap(AnnotationFormat.init(rawValue:))
        let onDisk = try MediaFingerprint.hashFileHead(path: media)
        let store: ProjectStore
        if FileManager.default.fileExists(atPath: url.path) {
            store = try ProjectStore.open(at: url)
        } else {
            let preview = try AnnotationExchange.read(path: file, format: format)
            if let described = preview.media,
                described.byteSize != onDisk.byteSize || described.headSHA256 != onDisk.headSHA256, !force
            {
                throw AnnotationError.fingerprintMismatch(
                    path: media, reason: "\(file) was made for other media (size or first-MiB hash differ)")
            }
            // The project describes the media as the decoder measures it (frame times, size, sampling).
            let source = try VideoSource(path: media)
            store = try ProjectStore.create(
                at: url, media: try MediaProject.descriptor(path: media, info: source.info, frameTimestamps: source.frameTimestamps))
        }
        defer { try? store.close() }
        if store.media.byteSize != onDisk.byteSize || store.media.headSHA256 != onDisk.headSHA256, !force {
            throw AnnotationError.fingerprintMismatch(
                path: media, reason: "the file on disk is not the media of \(url.path)")
        }
        let (result, imported) = try AnnotationExchange.importFile(
            path: file, into: store, format: format, force: force, replaceExisting: replace)
        let points = imported.tracks.reduce(0) { $0 + $1.entries.count }
        var line = "imported \(imported.tracks.count) tracks (\(points) points) and \(imported.queries.count) queries into \(url.path)"
        if let edit = result.editID { line += " as edit \(edit) (undoable)" }
        print(line)
        for warning in imported.warnings { print("warning: \(DisplaySafe.escape(warning))") }
    }
}
