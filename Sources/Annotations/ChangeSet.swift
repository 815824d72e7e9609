/// The primitive row changes of one edit (before and after of every touched track, entry and mask). The edit log
/// stores it; undo applies its inverse, redo applies it again.
struct ChangeSet: Equatable {
    struct EntryChange: Equatable {
        var frame: Int
        var before: PointEntry?
        var after: PointEntry?
    }

    struct MaskChange: Equatable {
        var frame: Int
        var before: RLEMask?
        var after: RLEMask?
    }

    struct TrackChange: Equatable {
        var id: TrackID
        var infoBefore: TrackInfo?
        var infoAfter: TrackInfo?
        /// Sorted by frame.
        var entries: [EntryChange]
        var masks: [MaskChange]
    }

    var tracks: [TrackChange] = []

    var isEmpty: Bool { tracks.isEmpty }

    func inverted() -> ChangeSet {
        ChangeSet(
            tracks: tracks.reversed().map { change in
                TrackChange(
                    id: change.id, infoBefore: change.infoAfter, infoAfter: change.infoBefore,
                    entries: change.entries.map { EntryChange(frame: $0.frame, before: $0.after, after: $0.before) },
                    masks: change.masks.map { MaskChange(frame: $0.frame, before: $0.after, after: $0.before) })
            })
    }

    /// The result summary of applying this change set.
    func result(editID: Int64?) -> EditResult {
        var created: [TrackID] = []
        var removed: [TrackID] = []
        var lowest = Int.max
        var highest = Int.min
        for change in tracks {
            if change.infoBefore == nil { created.append(change.id) }
            if change.infoAfter == nil { removed.append(change.id) }
            if let first = change.entries.first, let last = change.entries.last {
                lowest = min(lowest, first.frame)
                highest = max(highest, last.frame)
            }
        }
        return EditResult(
            editID: editID, createdTracks: created, removedTracks: removed, changedTracks: tracks.map(\.id),
            frames: lowest <= highest ? lowest...highest : nil)
    }

    /// Number of entry rows touched.
    var entryChangeCount: Int { tracks.reduce(0) { $0 + $1.entries.count } }
}

// MARK: - Diffing working copies against the committed state

extension ChangeSet {
    /// The change that turns `before` into `after` for one track (either may be nil for creation/deletion).
    static func diff(id: TrackID, before: Track?, after: Track?) -> TrackChange? {
        var entryChanges: [EntryChange] = []
        let old = before?.entries ?? []
        let new = after?.entries ?? []
        var i = 0
        var j = 0
        while i < old.count || j < new.count {
            if j >= new.count || (i < old.count && old[i].frame < new[j].frame) {
                entryChanges.append(EntryChange(frame: old[i].frame, before: old[i], after: nil))
                i += 1
            } else if i >= old.count || new[j].frame < old[i].frame {
                entryChanges.append(EntryChange(frame: new[j].frame, before: nil, after: new[j]))
                j += 1
            } else {
                if old[i] != new[j] { entryChanges.append(EntryChange(frame: old[i].frame, before: old[i], after: new[j])) }
                i += 1
                j += 1
            }
        }
        var maskChanges: [MaskChange] = []
        let oldMasks = before?.masks ?? [:]
        let newMasks = after?.masks ?? [:]
        if !oldMasks.isEmpty || !newMasks.isEmpty {
            let frames = Set(oldMasks.keys).union(newMasks.keys).sorted()
            for frame in frames where oldMasks[frame] != newMasks[frame] {
                maskChanges.append(MaskChange(frame: frame, before: oldMasks[frame], after: newMasks[frame]))
            }
        }
        if before?.info == after?.info && entryChanges.isEmpty && maskChanges.isEmpty { return nil }
        return TrackChange(
            id: id, infoBefore: before?.info, infoAfter: after?.info, entries: entryChanges, masks: maskChanges)
    }
}

// MARK: - Applying to the in-memory tracks

extension ChangeSet {
    /// Checks that `tracks` is in the state this change set leaves behind (so its inverse can be applied).
    func isAfterState(of tracks: [TrackID: Track]) -> Bool {
        for change in self.tracks {
            let current = tracks[change.id]
            if current?.info != change.infoAfter { return false }
            guard let current else { continue }
            for entry in change.entries where current.entry(at: entry.frame) != entry.after { return false }
            for mask in change.masks where current.masks[mask.frame] != mask.after { return false }
        }
        return true
    }

    /// Applies the after-values to the in-memory tracks.
    func apply(to tracks: inout [TrackID: Track]) {
        for change in self.tracks {
            guard let info = change.infoAfter else {
                tracks[change.id] = nil
                continue
            }
            var track = tracks[change.id] ?? Track(info: info)
            tracks[change.id] = nil  // keep the arrays uniquely referenced while mutating
            track.info = info
            if change.entries.count <= 16 {
                for entryChange in change.entries {
                    let index = track.entryIndex(atOrAfter: entryChange.frame)
                    let exists = index < track.entries.count && track.entries[index].frame == entryChange.frame
                    switch (exists, entryChange.after) {
                    case (true, let after?): track.entries[index] = after
                    case (true, nil): track.entries.remove(at: index)
                    case (false, let after?): track.entries.insert(after, at: index)
                    case (false, nil): break
                    }
                }
            } else {
                var merged: [PointEntry] = []
                merged.reserveCapacity(track.entries.count + change.entries.count)
                var i = 0
                for entryChange in change.entries {
                    while i < track.entries.count && track.entries[i].frame < entryChange.frame {
                        merged.append(track.entries[i])
                        i += 1
                    }
                    if i < track.entries.count && track.entries[i].frame == entryChange.frame { i += 1 }
                    if let after = entryChange.after { merged.append(after) }
                }
                merged.append(contentsOf: track.entries[i...])
                track.entries = merged
            }
            for maskChange in change.masks { track.masks[maskChange.frame] = maskChange.after }
            tracks[change.id] = track
        }
    }
}

// MARK: - Binary codec for the edit log

/// Little-endian binary encoding of change sets (compact enough for million-point imports as one undo step).
struct ChangeSetCodec {
    private static let magic: [UInt8] = Array("SCS1".utf8)

    static func encode(_ changes: ChangeSet) -> [UInt8] {
        var out = ByteWriter()
        out.bytes.reserveCapacity(64 + changes.entryChangeCount * 40)
        out.bytes.append(contentsOf: magic)
        out.varint(UInt64(changes.tracks.count))
        for change in changes.tracks {
            out.signed(change.id.rawValue)
            var flags: UInt8 = 0
            if change.infoBefore != nil { flags |= 1 }
            if change.infoAfter != nil { flags |= 2 }
            if change.infoBefore != nil && change.infoBefore == change.infoAfter { flags |= 4 }
            out.bytes.append(flags)
            if let info = change.infoBefore { encodeInfo(info, into: &out) }
            if let info = change.infoAfter, flags & 4 == 0 { encodeInfo(info, into: &out) }
            out.varint(UInt64(change.entries.count))
            var previousFrame = 0
            for entry in change.entries {
                out.signed(Int64(entry.frame - previousFrame))
                previousFrame = entry.frame
                out.bytes.append((entry.before != nil ? 1 : 0) | (entry.after != nil ? 2 : 0))
                if let before = entry.before { encodeEntry(before, into: &out) }
                if let after = entry.after { encodeEntry(after, into: &out) }
            }
            out.varint(UInt64(change.masks.count))
            for mask in change.masks {
                out.signed(Int64(mask.frame))
                out.bytes.append((mask.before != nil ? 1 : 0) | (mask.after != nil ? 2 : 0))
                if let before = mask.before { encodeMask(before, into: &out) }
                if let after = mask.after { encodeMask(after, into: &out) }
            }
        }
        return out.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> ChangeSet {
        var reader = ByteReader(bytes: bytes)
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else { throw ByteReader.Failure() }
        reader.position = 4
        var changes = ChangeSet()
        let trackCount = try reader.count()
        for _ in 0..<trackCount {
            let id = TrackID(try reader.signed())
            let flags = try reader.byte()
            let before = flags & 1 != 0 ? try decodeInfo(id: id, from: &reader) : nil
            var after: TrackInfo?
            if flags & 4 != 0 { after = before } else if flags & 2 != 0 { after = try decodeInfo(id: id, from: &reader) }
            let entryCount = try reader.count()
            var entries: [ChangeSet.EntryChange] = []
            entries.reserveCapacity(entryCount)
            var frame = 0
            for _ in 0..<entryCount {
                frame += Int(try reader.signed())
                let present = try reader.byte()
                let beforeEntry = present & 1 != 0 ? try decodeEntry(frame: frame, from: &reader) : nil
                let afterEntry = present & 2 != 0 ? try decodeEntry(frame: frame, from: &reader) : nil
                entries.append(ChangeSet.EntryChange(frame: frame, before: beforeEntry, after: afterEntry))
            }
            let maskCount = try reader.count()
            var masks: [ChangeSet.MaskChange] = []
            for _ in 0..<maskCount {
                let maskFrame = Int(try reader.signed())
                let present = try reader.byte()
                let beforeMask = present & 1 != 0 ? try decodeMask(from: &reader) : nil
                let afterMask = present & 2 != 0 ? try decodeMask(from: &reader) : nil
                masks.append(ChangeSet.MaskChange(frame: maskFrame, before: beforeMask, after: afterMask))
            }
            changes.tracks.append(
                ChangeSet.TrackChange(id: id, infoBefore: before, infoAfter: after, entries: entries, masks: masks))
        }
        guard reader.position == bytes.count else { throw ByteReader.Failure() }
        return changes
    }

    private static func encodeInfo(_ info: TrackInfo, into out: inout ByteWriter) {
        out.string(info.label)
        out.string(info.name)
        out.varint(UInt64(info.color.packed))
        out.bytes.append(info.createdBy.rawValue)
        if let query = info.queryID {
            out.bytes.append(1)
            out.signed(query)
        } else {
            out.bytes.append(0)
        }
        if let extras = info.extras {
            out.bytes.append(1)
            out.string(extras)
        } else {
            out.bytes.append(0)
        }
    }

    private static func decodeInfo(id: TrackID, from reader: inout ByteReader) throws -> TrackInfo {
        let label = try reader.string()
        let name = try reader.string()
        let color = RGBColor(packed: Int64(try reader.varint() & 0xFF_FFFF))
        guard let actor = EditActor(rawValue: try reader.byte()) else { throw ByteReader.Failure() }
        let query = try reader.byte() != 0 ? try reader.signed() : nil
        let extras = try reader.byte() != 0 ? try reader.string() : nil
        return TrackInfo(id: id, label: label, name: name, color: color, createdBy: actor, queryID: query, extras: extras)
    }

    private static func encodeEntry(_ entry: PointEntry, into out: inout ByteWriter) {
        out.double(entry.x)
        out.double(entry.y)
        out.bytes.append(entry.packedState)
    }

    private static func decodeEntry(frame: Int, from reader: inout ByteReader) throws -> PointEntry {
        let x = try reader.double()
        let y = try reader.double()
        guard let entry = PointEntry(frame: frame, x: x, y: y, packedState: try reader.byte()) else {
            throw ByteReader.Failure()
        }
        return entry
    }

    private static func encodeMask(_ mask: RLEMask, into out: inout ByteWriter) {
        out.varint(UInt64(mask.width))
        out.varint(UInt64(mask.height))
        out.varint(UInt64(mask.counts.count))
        for run in mask.counts { out.varint(UInt64(max(0, run))) }
    }

    private static func decodeMask(from reader: inout ByteReader) throws -> RLEMask {
        let width = try reader.bounded()
        let height = try reader.bounded()
        let count = try reader.count()
        var counts: [Int] = []
        counts.reserveCapacity(count)
        for _ in 0..<count { counts.append(try reader.bounded()) }
        return RLEMask(width: width, height: height, counts: counts)
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func signed(_ value: Int64) { varint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    mutating func double(_ value: Double) {
        var bits = value.bitPattern.littleEndian
        withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        varint(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }
}

struct ByteReader {
    struct Failure: Error {}

    let bytes: [UInt8]
    var position = 0

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Failure() }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw Failure() }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// A non-negative count that must fit the remaining bytes (guards against corrupt lengths).
    mutating func count() throws -> Int {
        let value = try varint()
        guard value <= UInt64(bytes.count) else { throw Failure() }
        return Int(value)
    }

    /// A non-negative value below 2^40 (pixel sizes and run lengths).
    mutating func bounded() throws -> Int {
        let value = try varint()
        guard value < 1 << 40 else { throw Failure() }
        return Int(value)
    }

    mutating func signed() throws -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    mutating func double() throws -> Double {
        guard position + 8 <= bytes.count else { throw Failure() }
        var bits: UInt64 = 0
        for i in 0..<8 { bits |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += 8
        return Double(bitPattern: bits)
    }

    mutating func string() throws -> String {
        let length = try count()
        guard position + length <= bytes.count else { throw Failure() }
        defer { position += length }
        return String(decoding: bytes[position..<(position + length)], as: UTF8.self)
    }
}
