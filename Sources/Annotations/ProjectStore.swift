import Foundation
import GRDB

/// The annotations of one media item, kept in a SQLite file (WAL) with one transaction per edit and an edit log
/// that drives undo/redo across restarts. An in-memory copy of every track answers per-frame queries without SQL.
///
/// Durability: `apply`, `undo` and `redo` return only after their transaction has committed. In WAL mode a commit
/// appends the transaction's pages to the `-wal` file with write(2) before COMMIT returns, so the bytes are in the
/// kernel's page cache, which outlives the process: `synchronous=NORMAL` (the `.processCrash` default) therefore
/// keeps every returned edit through `kill -9`. `synchronous=FULL` (`.powerLoss`) adds an fsync per commit, which
/// only matters when the machine itself loses power or the kernel crashes.
///
/// A store is not thread-safe; use it from one thread and hand `snapshot()` values to background work.
package final class ProjectStore {
    /// How much a committed edit must survive.
    package enum Durability: Sendable {
        /// WAL + synchronous=NORMAL: survives the process being killed at any moment.
        case processCrash
        /// WAL + synchronous=FULL: also survives power loss (an fsync per commit).
        case powerLoss
    }

    /// Whether an edit in the log is in effect, undone (redoable) or discarded by a newer edit.
    package enum EditState: Int, Sendable {
        case applied = 0
        case undone = 1
        case discarded = 2
    }

    /// One stored point change of a logged edit.
    package struct PointChange: Equatable, Sendable {
        package var track: TrackID
        package var frame: Int
        package var before: PointEntry?
        package var after: PointEntry?
    }

    /// One edit of the log, decoded (for history views and correction statistics).
    package struct EditRecord: Equatable, Sendable {
        package var id: Int64
        package var date: Date
        package var actor: EditActor
        package var kind: String
        package var summary: String
        package var state: EditState
        package var createdTracks: [TrackID]
        package var removedTracks: [TrackID]
        /// Tracks whose label, name or colour changed.
        package var relabelledTracks: [TrackID]
        package var pointChanges: [PointChange]
    }

    package let url: URL
    package private(set) var media: MediaDescriptor
    package let isReadOnly: Bool
    private var path: String { url.path }
    let database: DatabaseQueue
    private var trackTable: [TrackID: Track] = [:]
    private var sortedTrackIDs: [TrackID] = []
    private var nextTrackID: Int64 = 1
    private var appliedEditCount = 0
    private var undoneEditCount = 0
    private var dataVersion = 0
    package private(set) var queries: [QueryRecord] = []

    private static let applicationID: Int32 = 0x5350_5452  // "SPTR"
    private static let schemaVersion: Int32 = 1

    // MARK: - Opening

    /// `NAME.spotter` beside the media file (`clip.mp4` → `clip.spotter`).
    package static func defaultProjectURL(forMedia mediaPath: String) -> URL {
        let media = URL(fileURLWithPath: mediaPath)
        return media.deletingPathExtension().appendingPathExtension("spotter")
    }

    /// Creates a new project file; fails if one exists.
    package static func create(
        at url: URL, media: MediaDescriptor, durability: Durability = .processCrash
    ) throws -> ProjectStore {
        if FileManager.default.fileExists(atPath: url.path) {
            throw AnnotationError.store(path: url.path, reason: "a file already exists here")
        }
        return try ProjectStore(url: url, media: media, durability: durability, readOnly: false, inMemory: false)
    }

    /// Opens an existing project file.
    package static func open(
        at url: URL, durability: Durability = .processCrash, readOnly: Bool = false
    ) throws -> ProjectStore {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw AnnotationError.store(path: url.path, reason: "no project file here")
        }
        // stat, not open: a FIFO or device named like a project must not block SQLite's open(2).
        var status = stat()
        guard stat(url.path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw AnnotationError.store(path: url.path, reason: "not a regular file")
        }
        return try ProjectStore(url: url, media: nil, durability: durability, readOnly: readOnly, inMemory: false)
    }

    /// Opens the project if the file exists (refusing one made for other media unless `force`), else creates it.
    package static func openOrCreate(
        at url: URL, media: MediaDescriptor, durability: Durability = .processCrash, force: Bool = false
    ) throws -> ProjectStore {
        guard FileManager.default.fileExists(atPath: url.path) else {
            return try create(at: url, media: media, durability: durability)
        }
        let store = try open(at: url, durability: durability)
        let differences = store.media.fingerprint.differences(from: media.fingerprint)
        if !differences.isEmpty && !force {
            throw AnnotationError.fingerprintMismatch(path: url.path, reason: differences.joined(separator: "; "))
        }
        return store
    }

    /// A project that lives only in memory (comparisons of exported files, tests).
    package static func inMemory(media: MediaDescriptor) throws -> ProjectStore {
        try ProjectStore(
            url: URL(fileURLWithPath: "(memory)"), media: media, durability: .processCrash, readOnly: false,
            inMemory: true)
    }

    private init(url: URL, media newMedia: MediaDescriptor?, durability: Durability, readOnly: Bool, inMemory: Bool)
        throws
    {
        self.url = url
        self.isReadOnly = readOnly
        var configuration = Configuration()
        configuration.readonly = readOnly
        configuration.busyMode = .timeout(10)
        configuration.label = "spotter-project"
        let synchronous = durability == .powerLoss ? "FULL" : "NORMAL"
        let useWAL = !inMemory && !readOnly
        // WAL and synchronous are set here rather than through `Configuration.journalMode`, because GRDB's own WAL
        // set-up forces synchronous=NORMAL afterwards.
        configuration.prepareDatabase { db in
            if useWAL {
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw AnnotationError.store(path: url.path, reason: "cannot switch the database to WAL mode")
                }
            }
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        let path = url.path
        do {
            database = inMemory ? try DatabaseQueue(configuration: configuration)
                : try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw AnnotationError.store(path: path, reason: "cannot open: \(Self.describe(error))")
        }
        do {
            if let newMedia {
                media = newMedia
                try database.write { db in try Self.createSchema(db, media: newMedia) }
            } else {
                media = try database.read { db in try Self.loadMedia(db, path: path) }
            }
            try load()
        } catch let error as AnnotationError {
            throw error
        } catch {
            throw AnnotationError.store(path: path, reason: Self.describe(error))
        }
    }

    /// Closes the database; the store must not be used afterwards.
    package func close() throws {
        do { try database.close() } catch { throw storeError(error) }
    }

    private static func describe(_ error: Error) -> String {
        if let error = error as? DatabaseError { return error.message ?? "\(error.resultCode)" }
        return "\(error)"
    }

    private func storeError(_ error: Error) -> AnnotationError {
        if let error = error as? AnnotationError { return error }
        return .store(path: path, reason: Self.describe(error))
    }

    private static func createSchema(_ db: Database, media: MediaDescriptor) throws {
        try db.execute(
            sql: """
                PRAGMA application_id = \(applicationID);
                CREATE TABLE project_meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE track(
                    id INTEGER PRIMARY KEY, label TEXT NOT NULL, name TEXT NOT NULL, color INTEGER NOT NULL,
                    created_by INTEGER NOT NULL, query_id INTEGER, extras TEXT);
                CREATE TABLE entry(
                    track_id INTEGER NOT NULL, frame INTEGER NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
                    state INTEGER NOT NULL, PRIMARY KEY(track_id, frame)) WITHOUT ROWID;
                CREATE TABLE mask(
                    track_id INTEGER NOT NULL, frame INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
                    counts TEXT NOT NULL, PRIMARY KEY(track_id, frame)) WITHOUT ROWID;
                CREATE TABLE query(
                    id INTEGER PRIMARY KEY, created_at REAL NOT NULL, prompt TEXT NOT NULL, label TEXT NOT NULL,
                    task TEXT NOT NULL, model TEXT NOT NULL, answer TEXT NOT NULL, details TEXT NOT NULL);
                CREATE TABLE edit_log(
                    id INTEGER PRIMARY KEY, created_at REAL NOT NULL, actor INTEGER NOT NULL, kind TEXT NOT NULL,
                    summary TEXT NOT NULL, state INTEGER NOT NULL, changes BLOB NOT NULL);
                CREATE INDEX edit_log_by_state ON edit_log(state, id);
                CREATE TABLE undo_event(
                    id INTEGER PRIMARY KEY, edit_id INTEGER NOT NULL, created_at REAL NOT NULL, is_redo INTEGER NOT NULL);
                PRAGMA user_version = \(schemaVersion);
                """)
        try db.execute(
            sql: "INSERT INTO project_meta(key, value) VALUES ('format', 'spotter-project'), ('media', ?), "
                + "('next_track_id', '1'), ('created_at', ?)",
            arguments: [media.jsonText, String(Date().timeIntervalSince1970)])
    }

    private static func loadMedia(_ db: Database, path: String) throws -> MediaDescriptor {
        let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        let version = try Int32.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        guard applicationID == Self.applicationID else {
            throw AnnotationError.store(path: path, reason: "not a Spotter project file")
        }
        guard version == Self.schemaVersion else {
            throw AnnotationError.store(path: path, reason: "unsupported project schema version \(version)")
        }
        guard let text = try String.fetchOne(db, sql: "SELECT value FROM project_meta WHERE key = 'media'") else {
            throw AnnotationError.store(path: path, reason: "the media description is missing")
        }
        do {
            return try MediaDescriptor(json: try JSONParser.parse(text)) { reason in
                AnnotationError.store(path: path, reason: "stored media description: \(reason)")
            }
        } catch is JSONSyntaxError {
            throw AnnotationError.store(path: path, reason: "the stored media description is not valid JSON")
        }
    }

    private func load() throws {
        try database.read { db in try loadState(db) }
    }

    /// Reads tracks, queries and undo counts into memory (the whole project).
    private func loadState(_ db: Database) throws {
        let path = self.path
        do {
            var tracks: [TrackID: Track] = [:]
            let trackRows = try Row.fetchCursor(
                db, sql: "SELECT id, label, name, color, created_by, query_id, extras FROM track")
            while let row = try trackRows.next() {
                let id = TrackID((try row.decode(atIndex: 0)) as Int64)
                let actor = EditActor(rawValue: UInt8(clamping: (try row.decode(atIndex: 4)) as Int64)) ?? .human
                let info = TrackInfo(
                    id: id, label: (try row.decode(atIndex: 1)), name: (try row.decode(atIndex: 2)), color: RGBColor(packed: (try row.decode(atIndex: 3))), createdBy: actor,
                    queryID: (try row.decode(atIndex: 5)), extras: (try row.decode(atIndex: 6)))
                tracks[id] = Track(info: info)
            }
            let statement = try db.makeStatement(sql: "SELECT track_id, frame, x, y, state FROM entry ORDER BY track_id, frame")
            let entryRows = try Row.fetchCursor(statement)
            var currentID: Int64 = .min
            var currentEntries: [PointEntry] = []
            func flush() throws {
                guard currentID != .min else { return }
                guard tracks[TrackID(currentID)] != nil else {
                    throw AnnotationError.store(path: path, reason: "points of a missing track \(currentID)")
                }
                tracks[TrackID(currentID)]?.entries = currentEntries
            }
            while let row = try entryRows.next() {
                let trackID: Int64 = (try row.decode(atIndex: 0))
                if trackID != currentID {
                    try flush()
                    currentID = trackID
                    currentEntries = []
                }
                let frame: Int = (try row.decode(atIndex: 1))
                guard let entry = PointEntry(frame: frame, x: (try row.decode(atIndex: 2)), y: (try row.decode(atIndex: 3)), packedState: UInt8(clamping: (try row.decode(atIndex: 4)) as Int64))
                else { throw AnnotationError.store(path: path, reason: "invalid point state at track \(trackID) frame \(frame)") }
                currentEntries.append(entry)
            }
            try flush()
            let maskRows = try Row.fetchCursor(db, sql: "SELECT track_id, frame, width, height, counts FROM mask")
            while let row = try maskRows.next() {
                let id = TrackID((try row.decode(atIndex: 0)) as Int64)
                guard let mask = RLEMask(width: (try row.decode(atIndex: 2)), height: (try row.decode(atIndex: 3)), compressedCounts: (try row.decode(atIndex: 4))), tracks[id] != nil
                else { throw AnnotationError.store(path: path, reason: "invalid mask for track \(id)") }
                tracks[id]?.masks[(try row.decode(atIndex: 1))] = mask
            }
            var queries: [QueryRecord] = []
            let queryRows = try Row.fetchCursor(
                db, sql: "SELECT id, created_at, prompt, label, task, model, answer, details FROM query ORDER BY id")
            while let row = try queryRows.next() {
                var query = QueryRecord(
                    id: (try row.decode(atIndex: 0)), createdAt: Date(timeIntervalSince1970: (try row.decode(atIndex: 1))), prompt: (try row.decode(atIndex: 2)), label: (try row.decode(atIndex: 3)),
                    task: (try row.decode(atIndex: 4)), model: (try row.decode(atIndex: 5)), answer: (try row.decode(atIndex: 6)))
                let details: String = (try row.decode(atIndex: 7))
                if let json = try? JSONParser.parse(details) {
                    let queryID = query.id
                    try query.readDetails(json) { AnnotationError.store(path: path, reason: "query \(queryID): \($0)") }
                }
                queries.append(query)
            }
            let nextText = try String.fetchOne(db, sql: "SELECT value FROM project_meta WHERE key = 'next_track_id'") ?? "1"
            guard let next = Int64(nextText), next >= 1, next <= TrackID.largest + 1 else {
                throw AnnotationError.store(
                    path: path, reason: "next_track_id '\(nextText)' is out of range (1...\(TrackID.largest + 1))")
            }
            if let outOfRange = tracks.keys.first(where: { $0.rawValue < 1 || $0.rawValue > TrackID.largest }) {
                throw AnnotationError.store(
                    path: path, reason: "track id \(outOfRange.rawValue) is out of range (1...\(TrackID.largest))")
            }
            if let outOfRange = queries.first(where: { $0.id < 0 || $0.id > TrackID.largest }) {
                throw AnnotationError.store(path: path, reason: "query id \(outOfRange.id) is out of range")
            }
            self.trackTable = tracks
            self.queries = queries
            self.nextTrackID = max(next, (tracks.keys.map(\.rawValue).max() ?? 0) + 1)
            self.appliedEditCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM edit_log WHERE state = 0") ?? 0
            self.undoneEditCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM edit_log WHERE state = 1") ?? 0
            self.dataVersion = try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0
        }
        sortedTrackIDs = trackTable.keys.sorted()
    }

    /// Reloads the in-memory copy when another process (say `spotter import` while the TUI is open) committed since
    /// this store last looked, so edits are never compiled against stale tracks or reuse an id. Call inside a
    /// transaction to make the check and the following write atomic.
    private func reloadIfStale(_ db: Database) throws -> Bool {
        let version = try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0
        guard version != dataVersion else { return false }
        try loadState(db)
        return true
    }

    /// Picks up changes another process committed to the project file; returns whether anything was reloaded.
    /// Edits, undo and redo do this check themselves; a UI may also call it periodically.
    @discardableResult
    package func reloadIfChangedElsewhere() throws -> Bool {
        do { return try database.read { db in try reloadIfStale(db) } } catch { throw storeError(error) }
    }

    /// Runs `body` in an IMMEDIATE transaction (the write lock is taken first), after refreshing a stale cache.
    private func writeTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        var result: T?
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    _ = try reloadIfStale(db)
                    result = try body(db)
                    return .commit
                }
            }
        } catch { throw storeError(error) }
        guard let result else { throw AnnotationError.store(path: path, reason: "transaction produced no result") }
        return result
    }

    // MARK: - Reading

    /// All tracks, ordered by id.
    package var tracks: [Track] { sortedTrackIDs.compactMap { trackTable[$0] } }

    package var trackIDs: [TrackID] { sortedTrackIDs }

    package func track(_ id: TrackID) -> Track? { trackTable[id] }

    package var pointCount: Int { trackTable.values.reduce(0) { $0 + $1.entries.count } }

    /// Every point on a frame: stored entries and (for video, when `interpolate`) derived ghost points, by track id.
    /// Absent and derived-outside states are left out; stored `outside` entries are included.
    package func points(onFrame frame: Int, interpolate: Bool = true) -> [FramePoint] {
        let derive = interpolate && media.kind == .video
        var out: [FramePoint] = []
        for id in sortedTrackIDs {
            guard let track = trackTable[id], let resolved = track.resolved(at: frame, interpolate: derive) else {
                continue
            }
            out.append(FramePoint(track: id, entry: resolved.entry, isInterpolated: resolved.isInterpolated))
        }
        return out
    }

    /// The state of one track at a frame (stored or derived).
    package func point(track id: TrackID, frame: Int) -> FramePoint? {
        guard let track = trackTable[id],
            let resolved = track.resolved(at: frame, interpolate: media.kind == .video)
        else { return nil }
        return FramePoint(track: id, entry: resolved.entry, isInterpolated: resolved.isInterpolated)
    }

    package func nextKeyframe(track id: TrackID, after frame: Int, includeAllStored: Bool = false) -> Int? {
        trackTable[id]?.nextKeyframe(after: frame, includeAllStored: includeAllStored)
    }

    package func previousKeyframe(track id: TrackID, before frame: Int, includeAllStored: Bool = false) -> Int? {
        trackTable[id]?.previousKeyframe(before: frame, includeAllStored: includeAllStored)
    }

    /// An immutable copy for background work (export, metrics).
    package func snapshot() -> ProjectSnapshot {
        ProjectSnapshot(media: media, tracks: tracks, queries: queries)
    }

    package var canUndo: Bool { appliedEditCount > 0 }
    package var canRedo: Bool { undoneEditCount > 0 }

    // MARK: - Editing

    /// Applies one edit as one committed transaction and one undo step; returns after the commit.
    @discardableResult
    package func apply(_ edit: Edit, actor: EditActor = .human) throws -> EditResult {
        try commit(actor: actor, kind: edit.kind, summary: edit.summary) { compiler in try compiler.compile(edit) }
    }

    /// Replaces the media description (for example after re-probing); the fingerprint must not change unless `force`.
    package func updateMedia(_ newMedia: MediaDescriptor, force: Bool = false) throws {
        try requireWritable()
        let differences = media.fingerprint.differences(from: newMedia.fingerprint)
        if !differences.isEmpty && !force {
            throw AnnotationError.fingerprintMismatch(path: path, reason: differences.joined(separator: "; "))
        }
        do {
            try database.write { db in
                try db.execute(
                    sql: "UPDATE project_meta SET value = ? WHERE key = 'media'", arguments: [newMedia.jsonText])
            }
        } catch { throw storeError(error) }
        media = newMedia
    }

    /// Records a model query (not an undoable edit); returns its id.
    @discardableResult
    package func recordQuery(_ query: QueryRecord) throws -> Int64 {
        try requireWritable()
        var stored = query
        stored.id = try writeTransaction { db in try Self.insertQuery(db, query) }
        queries.append(stored)
        return stored.id
    }

    /// Removes a query record, for a question whose accepted tracks were all undone (not an undoable edit; a later
    /// redo restores it with `restoreQuery`).
    package func deleteQuery(_ id: Int64) throws {
        try requireWritable()
        try writeTransaction { db in try db.execute(sql: "DELETE FROM query WHERE id = ?", arguments: [id]) }
        queries.removeAll { $0.id == id }
    }

    /// Records a query under its own id again (after `deleteQuery`); does nothing when it is there.
    package func restoreQuery(_ query: QueryRecord) throws {
        try requireWritable()
        guard !queries.contains(where: { $0.id == query.id }) else { return }
        _ = try writeTransaction { db in try Self.insertQuery(db, query, id: query.id) }
        queries.append(query)
        queries.sort { $0.id < $1.id }
    }

    private static func insertQuery(_ db: Database, _ query: QueryRecord, id: Int64? = nil) throws -> Int64 {
        try db.execute(
            sql: "INSERT INTO query(id, created_at, prompt, label, task, model, answer, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                id, query.createdAt.timeIntervalSince1970, query.prompt, query.label, query.task, query.model, query.answer,
                query.detailsJSON(),
            ])
        return db.lastInsertedRowID
    }

    /// Adds imported tracks and queries in one transaction and one undo step (queries stay when it is undone).
    /// With `replaceExisting`, every current track is deleted in the same step.
    @discardableResult
    package func importContent(
        _ content: ImportedProject, replaceExisting: Bool, replacingTracks: [TrackID] = []
    ) throws -> EditResult {
        // Query ids are fixed before compiling (inside the transaction) so the new tracks can point at them.
        var queryIDMap: [Int64: Int64] = [:]
        var insertedQueries: [QueryRecord] = []
        let result = try commit(
            actor: .importer, kind: "import",
            summary: "import \(content.tracks.count) tracks from \(content.source)",
            beforeLog: { db in
                for query in insertedQueries { _ = try Self.insertQuery(db, query, id: query.id) }
            },
            compile: { compiler in
                var nextQueryID = (self.queries.map(\.id).max() ?? 0) + 1
                for query in content.queries {
                    var stored = query
                    stored.id = nextQueryID
                    nextQueryID += 1
                    queryIDMap[query.id] = stored.id
                    insertedQueries.append(stored)
                }
                if replaceExisting { try compiler.compile(.deleteAllTracks) }
                for id in replacingTracks where !replaceExisting { try compiler.compile(.deleteTrack(id)) }
                let tracks = content.tracks.map { track -> NewTrack in
                    var remapped = track
                    if let query = track.queryID { remapped.queryID = queryIDMap[query] }
                    return remapped
                }
                try compiler.compile(.createTracks(tracks))
            })
        queries.append(contentsOf: insertedQueries)
        return result
    }

    private func requireWritable() throws {
        if isReadOnly { throw AnnotationError.store(path: path, reason: "the project is open read-only") }
    }

    private func commit(
        actor: EditActor, kind: String, summary: String, beforeLog: ((Database) throws -> Void)? = nil,
        compile: (inout EditCompiler) throws -> Void
    ) throws -> EditResult {
        try requireWritable()
        typealias Outcome = (changes: ChangeSet, states: [(TrackID, Track?)], next: Int64, editID: Int64?)
        let outcome: Outcome = try writeTransaction { db in
            var compiler = EditCompiler(
                committed: trackTable, media: media, path: path, actor: actor, nextTrackID: nextTrackID)
            try compile(&compiler)
            let (changes, states) = compiler.finish()
            try beforeLog?(db)
            guard !changes.isEmpty else { return (changes, [], compiler.nextTrackID, nil) }
            try Self.write(changes, to: db)
            if compiler.nextTrackID != nextTrackID {
                try db.execute(
                    sql: "UPDATE project_meta SET value = ? WHERE key = 'next_track_id'",
                    arguments: [String(compiler.nextTrackID)])
            }
            if undoneEditCount > 0 { try db.execute(sql: "UPDATE edit_log SET state = 2 WHERE state = 1") }
            let statement = try db.cachedStatement(
                sql: "INSERT INTO edit_log(created_at, actor, kind, summary, state, changes) VALUES (?, ?, ?, ?, 0, ?)")
            try statement.execute(arguments: [
                Date().timeIntervalSince1970, Int64(actor.rawValue), kind, summary, Data(ChangeSetCodec.encode(changes)),
            ])
            return (changes, states, compiler.nextTrackID, db.lastInsertedRowID)
        }
        // Committed: now the in-memory copy follows.
        nextTrackID = outcome.next
        guard let editID = outcome.editID else { return EditResult(editID: nil) }
        undoneEditCount = 0
        appliedEditCount += 1
        var membershipChanged = false
        for (id, state) in outcome.states {
            if (trackTable[id] == nil) != (state == nil) { membershipChanged = true }
            trackTable[id] = state
        }
        if membershipChanged { sortedTrackIDs = trackTable.keys.sorted() }
        return outcome.changes.result(editID: editID)
    }

    private static func write(_ changes: ChangeSet, to db: Database) throws {
        let upsertEntry = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO entry(track_id, frame, x, y, state) VALUES (?, ?, ?, ?, ?)")
        let deleteEntry = try db.cachedStatement(sql: "DELETE FROM entry WHERE track_id = ? AND frame = ?")
        let upsertMask = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO mask(track_id, frame, width, height, counts) VALUES (?, ?, ?, ?, ?)")
        let deleteMask = try db.cachedStatement(sql: "DELETE FROM mask WHERE track_id = ? AND frame = ?")
        for change in changes.tracks {
            let id = change.id.rawValue
            if let info = change.infoAfter {
                if info != change.infoBefore {
                    try db.cachedStatement(
                        sql: "INSERT OR REPLACE INTO track(id, label, name, color, created_by, query_id, extras) "
                            + "VALUES (?, ?, ?, ?, ?, ?, ?)"
                    ).execute(arguments: [
                        id, info.label, info.name, info.color.packed, Int64(info.createdBy.rawValue), info.queryID,
                        info.extras,
                    ])
                }
            } else {
                try db.cachedStatement(sql: "DELETE FROM track WHERE id = ?").execute(arguments: [id])
            }
            for entryChange in change.entries {
                if let after = entryChange.after {
                    upsertEntry.setUncheckedArguments([
                        id, Int64(entryChange.frame), after.x, after.y, Int64(after.packedState),
                    ])
                    try upsertEntry.execute()
                } else {
                    deleteEntry.setUncheckedArguments([id, Int64(entryChange.frame)])
                    try deleteEntry.execute()
                }
            }
            for maskChange in change.masks {
                if let after = maskChange.after {
                    try upsertMask.execute(arguments: [
                        id, Int64(maskChange.frame), after.width, after.height, after.compressedCounts,
                    ])
                } else {
                    try deleteMask.execute(arguments: [id, Int64(maskChange.frame)])
                }
            }
        }
    }

    // MARK: - Undo and redo

    /// Reverts the latest applied edit (one transaction); nil when there is nothing to undo.
    @discardableResult
    package func undo() throws -> EditResult? {
        try step(undo: true)
    }

    /// Re-applies the earliest undone edit; nil when there is nothing to redo.
    @discardableResult
    package func redo() throws -> EditResult? {
        try step(undo: false)
    }

    private func step(undo: Bool) throws -> EditResult? {
        try requireWritable()
        let path = self.path
        let outcome: (result: EditResult, changes: ChangeSet)? = try writeTransaction { db in
            let sql =
                undo
                ? "SELECT id, changes FROM edit_log WHERE state = 0 ORDER BY id DESC LIMIT 1"
                : "SELECT id, changes FROM edit_log WHERE state = 1 ORDER BY id ASC LIMIT 1"
            guard let row = try Row.fetchOne(db, sql: sql) else { return nil }
            let editID: Int64 = (try row.decode(atIndex: 0))
            let blob: Data = (try row.decode(atIndex: 1))
            let logged: ChangeSet
            do { logged = try ChangeSetCodec.decode([UInt8](blob)) } catch {
                throw AnnotationError.store(path: path, reason: "edit \(editID) in the log is corrupt")
            }
            let changes = undo ? logged.inverted() : logged
            guard changes.inverted().isAfterState(of: trackTable) else {
                throw AnnotationError.store(
                    path: path,
                    reason: "edit \(editID) no longer matches the annotations; cannot \(undo ? "undo" : "redo") it")
            }
            try Self.write(changes, to: db)
            try db.execute(sql: "UPDATE edit_log SET state = ? WHERE id = ?", arguments: [undo ? 1 : 0, editID])
            try db.execute(
                sql: "INSERT INTO undo_event(edit_id, created_at, is_redo) VALUES (?, ?, ?)",
                arguments: [editID, Date().timeIntervalSince1970, undo ? 0 : 1])
            return (changes.result(editID: editID), changes)
        }
        guard let outcome else { return nil }
        if undo {
            appliedEditCount -= 1
            undoneEditCount += 1
        } else {
            appliedEditCount += 1
            undoneEditCount -= 1
        }
        // Committed: the in-memory copy follows, changed in place (only the touched tracks).
        outcome.changes.apply(to: &trackTable)
        if !outcome.result.createdTracks.isEmpty || !outcome.result.removedTracks.isEmpty {
            sortedTrackIDs = trackTable.keys.sorted()
        }
        return outcome.result
    }

    /// An integer PRAGMA of the connection (tests check the durability settings).
    func pragma(_ name: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    // MARK: - History

    /// The whole edit log, oldest first, decoded.
    package func editHistory() throws -> [EditRecord] {
        let path = self.path
        do {
            return try database.read { db in
                var records: [EditRecord] = []
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT id, created_at, actor, kind, summary, state, changes FROM edit_log ORDER BY id")
                while let row = try rows.next() {
                    let id: Int64 = (try row.decode(atIndex: 0))
                    let blob: Data = (try row.decode(atIndex: 6))
                    guard let changes = try? ChangeSetCodec.decode([UInt8](blob)) else {
                        throw AnnotationError.store(path: path, reason: "edit \(id) in the log is corrupt")
                    }
                    var pointChanges: [PointChange] = []
                    var relabelled: [TrackID] = []
                    for change in changes.tracks {
                        if let before = change.infoBefore, let after = change.infoAfter, before != after {
                            relabelled.append(change.id)
                        }
                        for entry in change.entries {
                            pointChanges.append(
                                PointChange(track: change.id, frame: entry.frame, before: entry.before, after: entry.after))
                        }
                    }
                    let summary = changes.result(editID: id)
                    records.append(
                        EditRecord(
                            id: id, date: Date(timeIntervalSince1970: (try row.decode(atIndex: 1))),
                            actor: EditActor(rawValue: UInt8(clamping: (try row.decode(atIndex: 2)) as Int64)) ?? .human, kind: (try row.decode(atIndex: 3)),
                            summary: (try row.decode(atIndex: 4)), state: EditState(rawValue: (try row.decode(atIndex: 5))) ?? .discarded,
                            createdTracks: summary.createdTracks, removedTracks: summary.removedTracks,
                            relabelledTracks: relabelled, pointChanges: pointChanges))
                }
                return records
            }
        } catch { throw storeError(error) }
    }

    /// Number of undo and redo operations performed (for the undo-rate statistic).
    package func undoRedoCounts() throws -> (undos: Int, redos: Int) {
        do {
            return try database.read { db in
                let undos = try Int.fetchOne(db, sql: "SELECT count(*) FROM undo_event WHERE is_redo = 0") ?? 0
                let redos = try Int.fetchOne(db, sql: "SELECT count(*) FROM undo_event WHERE is_redo = 1") ?? 0
                return (undos, redos)
            }
        } catch { throw storeError(error) }
    }
}

/// An immutable view of a project for exporters and metrics.
package struct ProjectSnapshot: Sendable {
    package var media: MediaDescriptor
    /// Ordered by id.
    package var tracks: [Track]
    package var queries: [QueryRecord]

    package init(media: MediaDescriptor, tracks: [Track], queries: [QueryRecord] = []) {
        self.media = media
        self.tracks = tracks.sorted { $0.id < $1.id }
        self.queries = queries
    }

    package var pointCount: Int { tracks.reduce(0) { $0 + $1.entries.count } }
}

/// What an importer read from a file, ready to be added to a store in one step.
package struct ImportedProject: Sendable {
    /// The file it came from (for messages and the edit log).
    package var source: String
    /// The media described by the file, if it says.
    package var media: MediaDescriptor?
    package var tracks: [NewTrack]
    package var queries: [QueryRecord]
    /// Non-fatal findings: clamped coordinates, unknown fields kept or ignored.
    package var warnings: [String]

    package init(
        source: String, media: MediaDescriptor?, tracks: [NewTrack], queries: [QueryRecord] = [],
        warnings: [String] = []
    ) {
        self.source = source
        self.media = media
        self.tracks = tracks
        self.queries = queries
        self.warnings = warnings
    }
}
