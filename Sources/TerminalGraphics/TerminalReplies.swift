/// The answers a terminal gave to the capability queries, as parsed from its raw reply bytes.
package struct TerminalReplies: Sendable, Equatable {
    /// Parameters of the primary device attributes reply (`CSI ? 63;1;2;4 c` -> [63, 1, 2, 4]).
    package var deviceAttributes: [Int]?
    /// XTSMGRAPHICS number of colour registers (`CSI ? 1;0;256 S`), only when the status is 0 (success).
    package var colorRegisters: Int?
    /// XTSMGRAPHICS current graphics geometry in pixels (`CSI ? 2;0;W;H S`), only on success.
    package var graphicsGeometry: PixelSize?
    /// Cell size in pixels from `CSI 16 t` (reply `CSI 6;H;W t`).
    package var cellPixelSize: PixelSize?
    /// Text area size in pixels from `CSI 14 t` (reply `CSI 4;H;W t`).
    package var textAreaPixelSize: PixelSize?
    /// DECRQM answers: mode -> state (0 not recognised, 1 set, 2 reset, 3 permanently set, 4 permanently reset).
    package var modes: [Int: Int]
    /// XTVERSION text (`DCS >|XTerm(379) ST` -> "XTerm(379)").
    package var version: String?

    package init(
        deviceAttributes: [Int]? = nil, colorRegisters: Int? = nil, graphicsGeometry: PixelSize? = nil,
        cellPixelSize: PixelSize? = nil, textAreaPixelSize: PixelSize? = nil, modes: [Int: Int] = [:],
        version: String? = nil
    ) {
        self.deviceAttributes = deviceAttributes
        self.colorRegisters = colorRegisters
        self.graphicsGeometry = graphicsGeometry
        self.cellPixelSize = cellPixelSize
        self.textAreaPixelSize = textAreaPixelSize
        self.modes = modes
        self.version = version
    }

    /// True when DA1 listed attribute 4 (sixel graphics); the first parameter is the terminal class.
    package var deviceAttributesListSixel: Bool {
        guard let attributes = deviceAttributes, attributes.count > 1 else { return false }
        return attributes.dropFirst().contains(4)
    }

    /// True when DECRQM said the mode is known and can be used (state 1, 2 or 3).
    package func supportsMode(_ mode: Int) -> Bool {
        guard let state = modes[mode] else { return false }
        return state == 1 || state == 2 || state == 3
    }
}

/// A size in pixels.
package struct PixelSize: Sendable, Equatable, Hashable {
    package var width: Int
    package var height: Int

    package init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }
}

/// One control sequence found in terminal input.
package enum TerminalReplySequence: Sendable, Equatable {
    /// `ESC [ prefix params intermediates final`.
    case csi(prefix: UInt8?, parameters: [Int], intermediates: [UInt8], final: UInt8)
    /// `ESC P body ESC \` (body without the introducer and terminator).
    case dcs(body: [UInt8])
}

/// Pure parsers for the replies to the capability queries (DA1, XTSMGRAPHICS, window reports, DECRQM,
/// XTVERSION), working on the raw bytes read from the terminal.
package enum TerminalReplyParser {
    /// Splits terminal input into control sequences; other bytes (typed keys) are returned separately.
    /// An unfinished sequence at the end is left out of both.
    package static func sequences(in bytes: [UInt8]) -> (sequences: [TerminalReplySequence], other: [UInt8]) {
        var found: [TerminalReplySequence] = []
        var other: [UInt8] = []
        var i = 0
        let n = bytes.count
        while i < n {
            guard bytes[i] == 0x1B, i + 1 < n else {
                if bytes[i] != 0x1B { other.append(bytes[i]) }
                i += 1
                continue
            }
            if bytes[i + 1] == 0x5B {  // CSI
                var j = i + 2
                var prefix: UInt8?
                if j < n, (0x3C...0x3F).contains(bytes[j]) {
                    prefix = bytes[j]
                    j += 1
                }
                var parameterBytes: [UInt8] = []
                while j < n, (0x30...0x3F).contains(bytes[j]) {
                    parameterBytes.append(bytes[j])
                    j += 1
                }
                var intermediates: [UInt8] = []
                while j < n, (0x20...0x2F).contains(bytes[j]) {
                    intermediates.append(bytes[j])
                    j += 1
                }
                guard j < n else { break }
                let final = bytes[j]
                if (0x40...0x7E).contains(final) {
                    found.append(
                        .csi(
                            prefix: prefix, parameters: parameters(parameterBytes), intermediates: intermediates,
                            final: final))
                }
                i = j + 1
            } else if bytes[i + 1] == 0x50 {  // DCS, up to ST (ESC \) or BEL
                var j = i + 2
                var terminated = false
                var end = j
                while j < n {
                    if bytes[j] == 0x07 {
                        end = j
                        j += 1
                        terminated = true
                        break
                    }
                    if bytes[j] == 0x1B, j + 1 < n, bytes[j + 1] == 0x5C {
                        end = j
                        j += 2
                        terminated = true
                        break
                    }
                    j += 1
                }
                guard terminated else { break }
                found.append(.dcs(body: Array(bytes[(i + 2)..<end])))
                i = j
            } else {
                // Alt+key or another escape: not a reply; keep both bytes as input.
                other.append(bytes[i])
                other.append(bytes[i + 1])
                i += 2
            }
        }
        return (found, other)
    }

    /// Parses every reply found in `bytes`.
    package static func parse(_ bytes: [UInt8]) -> TerminalReplies {
        var replies = TerminalReplies()
        var sawGeometry = false
        for sequence in sequences(in: bytes).sequences {
            switch sequence {
            case .csi(let prefix, let parameters, let intermediates, let final):
                if prefix == 0x3F && final == 0x63 && intermediates.isEmpty {  // ? ... c
                    replies.deviceAttributes = parameters
                } else if prefix == 0x3F && final == 0x53, parameters.count >= 2 {  // ? Pi ; Ps ; Pv S
                    guard parameters[1] == 0 else { continue }
                    if parameters[0] == 1, parameters.count >= 3 {
                        replies.colorRegisters = parameters[2]
                    } else if parameters[0] == 2, parameters.count >= 4, !sawGeometry {
                        replies.graphicsGeometry = PixelSize(width: parameters[2], height: parameters[3])
                        sawGeometry = true
                    }
                } else if prefix == nil && final == 0x74, parameters.count >= 3 {  // Ps ; H ; W t
                    let size = PixelSize(width: parameters[2], height: parameters[1])
                    if parameters[0] == 6 {
                        replies.cellPixelSize = size
                    } else if parameters[0] == 4 {
                        replies.textAreaPixelSize = size
                    }
                } else if prefix == 0x3F && final == 0x79 && intermediates == [0x24], parameters.count >= 2 {
                    replies.modes[parameters[0]] = parameters[1]  // ? mode ; state $ y
                }
            case .dcs(let body):
                if let text = version(fromDCSBody: body) { replies.version = text }
            }
        }
        return replies
    }

    /// True once `bytes` holds a complete DA1 reply (the last answer of a query batch).
    package static func containsDeviceAttributes(_ bytes: [UInt8]) -> Bool {
        sequences(in: bytes).sequences.contains {
            if case .csi(0x3F, _, [], 0x63) = $0 { return true }
            return false
        }
    }

    // MARK: - Single replies

    /// DA1 parameters from a reply such as `ESC [ ? 63;1;2;4 c`, or nil if it is not one.
    package static func deviceAttributes(_ reply: String) -> [Int]? {
        parse(Array(reply.utf8)).deviceAttributes
    }

    /// XTSMGRAPHICS reply `ESC [ ? Pi ; Ps ; Pv... S` as (item, status, values), or nil.
    package static func graphicsAttributes(_ reply: String) -> (item: Int, status: Int, values: [Int])? {
        for sequence in sequences(in: Array(reply.utf8)).sequences {
            if case .csi(0x3F, let parameters, [], 0x53) = sequence, parameters.count >= 2 {
                return (parameters[0], parameters[1], Array(parameters.dropFirst(2)))
            }
        }
        return nil
    }

    /// Window report `ESC [ Ps ; a ; b t` as (kind, a, b): kind 6 = cell pixels (H, W), 4 = text area
    /// pixels (H, W), 8 = characters (rows, columns).
    package static func windowReport(_ reply: String) -> (kind: Int, first: Int, second: Int)? {
        for sequence in sequences(in: Array(reply.utf8)).sequences {
            if case .csi(nil, let parameters, [], 0x74) = sequence, parameters.count >= 3 {
                return (parameters[0], parameters[1], parameters[2])
            }
        }
        return nil
    }

    /// DECRPM reply `ESC [ ? mode ; state $ y` as (mode, state), or nil.
    package static func modeReport(_ reply: String) -> (mode: Int, state: Int)? {
        for sequence in sequences(in: Array(reply.utf8)).sequences {
            if case .csi(0x3F, let parameters, [0x24], 0x79) = sequence, parameters.count >= 2 {
                return (parameters[0], parameters[1])
            }
        }
        return nil
    }

    /// XTVERSION text from `ESC P >| text ESC \`, or nil.
    package static func version(_ reply: String) -> String? {
        parse(Array(reply.utf8)).version
    }

    static func version(fromDCSBody body: [UInt8]) -> String? {
        guard body.count >= 2, body[0] == 0x3E, body[1] == 0x7C else { return nil }  // ">|"
        return String(decoding: body[2...], as: UTF8.self)
    }

    /// `;`- or `:`-separated decimal parameters; empty ones are 0, oversized ones saturate.
    private static func parameters(_ bytes: [UInt8]) -> [Int] {
        guard !bytes.isEmpty else { return [] }
        var values: [Int] = []
        var current = 0
        for byte in bytes {
            if byte >= 0x30 && byte <= 0x39 {
                current = current > 100_000_000 ? current : current * 10 + Int(byte - 0x30)
            } else if byte == 0x3B || byte == 0x3A {
                values.append(current)
                current = 0
            }
        }
        values.append(current)
        return values
    }
}
