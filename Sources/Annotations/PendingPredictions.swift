import Foundation
import GRDB

/// A model's answer stored in a project for a person to review later (batch pre-annotation): the points it names
/// are not tracks yet; the viewer shows them as pending predictions to accept or reject.
///
/// `jobKey` names the question and the settings that produced it (task, label, model, sampling, …): a batch run
/// that finds a row with its key for this media knows the media is done and skips it.
package struct PendingPrediction: Equatable, Sendable {
    package var id: Int64
    package var createdAt: Date
    package var jobKey: String
    package var question: String
    /// The noun phrase asked about.
    package var label: String
    /// The Molmo2 task the prompt was phrased for (`video_point`, `video_track`, …).
    package var task: String
    package var model: String
    package var answer: String
    /// The frames the model was shown, ascending (the predictions sit on these).
    package var shownFrames: [Int]
    package var objects: [PredictedObject]
    package var sampling: FrameSampling?
    /// Named durations in seconds and counters (tokens, attempts).
    package var timings: [String: Double]
    /// What was dropped or adjusted when the answer was placed on the frames.
    package var diagnostics: [String]
    /// Who produced it and how, as named strings (`endpoint`, `max_frames`, `constrained`, …).
    package var provenance: [String: String]
    /// Set when a person has accepted or rejected every point (the viewer stops offering it).
    package var reviewed: Bool

    package init(
        id: Int64 = 0, createdAt: Date = Date(), jobKey: String, question: String, label: String, task: String,
        model: String, answer: String, shownFrames: [Int], objects: [PredictedObject], sampling: FrameSampling?,
        timings: [String: Double] = [:], diagnostics: [String] = [], provenance: [String: String] = [:],
        reviewed: Bool = false
    ) {
        self.id = id
        self.createdAt = createdAt
        self.jobKey = jobKey
        self.question = question
        self.label = label
        self.task = task
        self.model = model
        self.answer = answer
        self.shownFrames = shownFrames
        self.objects = objects
        self.sampling = sampling
        self.timings = timings
        self.diagnostics = diagnostics
        self.provenance = provenance
        self.reviewed = reviewed
    }
}

/// The stored form of a pending prediction's structured fields (one JSON text column).
private struct PendingDetails: Codable {
    struct Point: Codable {
        var frame: Int
        var x: Double
        var y: Double
    }
    struct Object: Codable {
        var id: Int
        var label: String
        var points: [Point]
    }
    struct Sampling: Codable {
        var mode: String
        var maxFrames: Int
        var maxFPS: Double
        var samplingFPS: Double?
        var clipStart: Double
        var times: [Double]
        var frames: [Int]
    }
    var shownFrames: [Int]
    var objects: [Object]
    var sampling: Sampling?
    var timings: [String: Double]
    var diagnostics: [String]
    var provenance: [String: String]
}

/// Pending predictions live in their own table, `pending_prediction`, created on first use (`CREATE TABLE IF NOT
/// EXISTS`): projects without it read as before, and programs that do not know it ignore it. A batch run writes
/// each media's answer in one transaction, so a killed run leaves either the whole answer or nothing.
extension ProjectStore {
    private static let pendingTableSQL = """
        CREATE TABLE IF NOT EXISTS pending_prediction(
            id INTEGER PRIMARY KEY, created_at REAL NOT NULL, job_key TEXT NOT NULL, question TEXT NOT NULL,
            label TEXT NOT NULL, task TEXT NOT NULL, model TEXT NOT NULL, answer TEXT NOT NULL,
            details TEXT NOT NULL, reviewed INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS pending_prediction_by_job ON pending_prediction(job_key);
        """

    private func pendingStoreError(_ error: Error) -> AnnotationError {
        if let error = error as? AnnotationError { return error }
        if let error = error as? DatabaseError { return .store(path: url.path, reason: error.message ?? "\(error.resultCode)") }
        return .store(path: url.path, reason: "\(error)")
    }

    private func hasPendingTable(_ db: Database) throws -> Bool {
        try db.tableExists("pending_prediction")
    }

    /// Stores `prediction` as pending (one transaction); returns its id.
    @discardableResult
    package func addPendingPrediction(_ prediction: PendingPrediction) throws -> Int64 {
        if isReadOnly { throw AnnotationError.store(path: url.path, reason: "the project is open read-only") }
        let details = PendingDetails(
            shownFrames: prediction.shownFrames,
            objects: prediction.objects.map { object in
                PendingDetails.Object(
                    id: object.answerID, label: object.label,
                    points: object.points.map { PendingDetails.Point(frame: $0.frame, x: $0.x, y: $0.y) })
            },
            sampling: prediction.sampling.map {
                PendingDetails.Sampling(
                    mode: $0.mode, maxFrames: $0.maxFrames, maxFPS: $0.maxFPS, samplingFPS: $0.samplingFPS,
                    clipStart: $0.clipStart, times: $0.times, frames: $0.frames)
            },
            timings: prediction.timings, diagnostics: prediction.diagnostics, provenance: prediction.provenance)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text: String
        do {
            text = String(decoding: try encoder.encode(details), as: UTF8.self)
        } catch {
            throw AnnotationError.store(path: url.path, reason: "cannot encode a prediction: \(error)")
        }
        do {
            return try database.write { db in
                try db.execute(sql: Self.pendingTableSQL)
                try db.execute(
                    sql: "INSERT INTO pending_prediction(created_at, job_key, question, label, task, model, answer, details, "
                        + "reviewed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    arguments: [
                        prediction.createdAt.timeIntervalSince1970, prediction.jobKey, prediction.question, prediction.label,
                        prediction.task, prediction.model, prediction.answer, text, prediction.reviewed ? 1 : 0,
                    ])
                return db.lastInsertedRowID
            }
        } catch { throw pendingStoreError(error) }
    }

    /// Every stored prediction, oldest first; with `includeReviewed: false` only those still waiting for a person.
    package func pendingPredictions(includeReviewed: Bool = false) throws -> [PendingPrediction] {
        let path = url.path
        do {
            return try database.read { db in
                guard try hasPendingTable(db) else { return [] }
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT id, created_at, job_key, question, label, task, model, answer, details, reviewed "
                        + "FROM pending_prediction \(includeReviewed ? "" : "WHERE reviewed = 0 ")ORDER BY id")
                return try rows.map { row in
                    let detailsText: String = (try row.decode(forColumn: "details"))
                    guard let details = try? JSONDecoder().decode(PendingDetails.self, from: Data(detailsText.utf8)) else {
                        let id: Int64 = (try row.decode(forColumn: "id"))
                        throw AnnotationError.store(path: path, reason: "pending prediction \(id) has unreadable details")
                    }
                    return PendingPrediction(
                        id: (try row.decode(forColumn: "id")), createdAt: Date(timeIntervalSince1970: (try row.decode(forColumn: "created_at"))), jobKey: (try row.decode(forColumn: "job_key")),
                        question: (try row.decode(forColumn: "question")), label: (try row.decode(forColumn: "label")), task: (try row.decode(forColumn: "task")), model: (try row.decode(forColumn: "model")),
                        answer: (try row.decode(forColumn: "answer")), shownFrames: details.shownFrames,
                        objects: details.objects.map { object in
                            PredictedObject(
                                answerID: object.id, label: object.label,
                                points: object.points.map { PredictedPoint(frame: $0.frame, x: $0.x, y: $0.y) })
                        },
                        sampling: details.sampling.map {
                            FrameSampling(
                                mode: $0.mode, maxFrames: $0.maxFrames, maxFPS: $0.maxFPS, samplingFPS: $0.samplingFPS,
                                clipStart: $0.clipStart, times: $0.times, frames: $0.frames)
                        },
                        timings: details.timings, diagnostics: details.diagnostics, provenance: details.provenance,
                        reviewed: ((try row.decode(forColumn: "reviewed")) as Int) != 0)
                }
            }
        } catch { throw pendingStoreError(error) }
    }

    /// True when a prediction made under `jobKey` is stored (reviewed or not): that question is done here.
    package func hasPendingPrediction(jobKey: String) throws -> Bool {
        do {
            return try database.read { db in
                guard try hasPendingTable(db) else { return false }
                return try Bool.fetchOne(
                    db, sql: "SELECT EXISTS(SELECT 1 FROM pending_prediction WHERE job_key = ?)", arguments: [jobKey])
                    ?? false
            }
        } catch { throw pendingStoreError(error) }
    }

    /// Marks a prediction reviewed (every point accepted or rejected); it stays as a record.
    package func markPendingPredictionReviewed(_ id: Int64) throws {
        if isReadOnly { throw AnnotationError.store(path: url.path, reason: "the project is open read-only") }
        do {
            try database.write { db in
                guard try hasPendingTable(db) else { return }
                try db.execute(sql: "UPDATE pending_prediction SET reviewed = 1 WHERE id = ?", arguments: [id])
            }
        } catch { throw pendingStoreError(error) }
    }
}
