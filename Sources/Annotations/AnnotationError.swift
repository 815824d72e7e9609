/// Every failure of the Annotations module; each description is one line naming the file and the problem.
package enum AnnotationError: Error, CustomStringConvertible, Equatable {
    /// The project database could not be opened, created or written.
    case store(path: String, reason: String)
    /// An edit referred to something that does not exist or carried an invalid value.
    case invalidEdit(path: String, reason: String)
    /// A file being imported is malformed; `line` is 1-based (0 when the position is unknown).
    case malformed(path: String, line: Int, reason: String)
    /// The media described by a file or on disk is not the project's media.
    case fingerprintMismatch(path: String, reason: String)
    /// A file could not be read or written.
    case io(path: String, reason: String)

    package var description: String {
        switch self {
        case .store(let path, let reason): return "\(path): project store: \(reason)"
        case .invalidEdit(let path, let reason): return "\(path): invalid edit: \(reason)"
        case .malformed(let path, let line, let reason):
            return line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        case .fingerprintMismatch(let path, let reason):
            return "\(path): media fingerprint mismatch: \(reason) (use --force to import anyway)"
        case .io(let path, let reason): return "\(path): \(reason)"
        }
    }
}
